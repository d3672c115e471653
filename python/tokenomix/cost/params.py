"""Parameter counts, matmul work per token and weight bytes of a ModelSpec.

Per layer, with h = hidden size, H = attention heads, Hkv = KV heads, d = head_dim:

- attention, MHA/GQA/MQA: q h*H*d, k and v h*Hkv*d each, o H*d*h (LlamaAttention);
- attention, MLA (DeepSeek-V2 paper, arXiv:2405.04434, section 2.1; DeepseekV3Attention):
  q_a h*q_lora and q_b q_lora*H*(nope+rope) (or one h*H*(nope+rope) without q_lora), kv_a
  h*(kv_lora+rope), kv_b kv_lora*H*(nope+v), o H*v*h, and RMS norms over q_lora and kv_lora;
- feed-forward, gated: 3*h*width (gate, up, down), dense or per expert;
- router h*E, two RMS norms of h; after the last layer one more norm, and the lm_head h*V
  unless tied to the embedding table V*h.

In vLLM's tensor parallelism the norms, the routers and the MLA down-projections q_a and
kv_a are replicated on every GPU (ReplicatedLinear in vllm/model_executor/models/
deepseek_v2.py and the MoE blocks); everything else is split.
"""

from __future__ import annotations

import dataclasses

from tokenomix.cost.dtypes import dtype_bytes
from tokenomix.cost.gpu import GIB, GpuSpec
from tokenomix.cost.model import ModelSpec, ParameterCounts
from tokenomix.errors import TokenomixError


class DoesNotFitError(TokenomixError, ValueError):
    """The weights (and overhead) leave no GPU memory for the KV cache."""


@dataclasses.dataclass(frozen=True)
class _Layer:
    """Parameters of one layer, by part."""

    attention: int
    attention_replicated: int
    attention_norms: int
    attention_biases: int
    dense_mlp: int
    shared: int
    routed: int
    routed_active: int
    expert_biases: int
    expert_biases_active: int
    router: int


def _attention(spec: ModelSpec) -> tuple[int, int, int, int]:
    """Return (matrices, of which replicated, norm weights, biases and sinks) of one layer."""
    h, heads = spec.hidden_size, spec.num_attention_heads
    if spec.attention == "mla":
        qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        q_a = h * spec.q_lora_rank
        q = q_a + spec.q_lora_rank * heads * qk if spec.q_lora_rank else h * heads * qk
        kv_a = h * (spec.kv_lora_rank + spec.qk_rope_head_dim)
        kv_b = spec.kv_lora_rank * heads * (spec.qk_nope_head_dim + spec.v_head_dim)
        o = heads * spec.v_head_dim * h
        return q + kv_a + kv_b + o, q_a + kv_a, spec.q_lora_rank + spec.kv_lora_rank, 0
    d, kv = spec.head_dim, spec.num_kv_heads
    matrices = 2 * h * heads * d + 2 * h * kv * d
    biases = (
        (heads * d + 2 * kv * d) * spec.qkv_bias + h * spec.o_bias + heads * (spec.attention_sinks)
    )
    return matrices, 0, 0, biases


def _layer(spec: ModelSpec, index: int) -> _Layer:
    h = spec.hidden_size
    attention, replicated, norms, biases = _attention(spec)
    if not spec.is_moe_layer(index):
        return _Layer(
            attention, replicated, norms, biases, 3 * h * spec.intermediate_size, 0, 0, 0, 0, 0, 0
        )
    experts, picked = spec.num_experts, spec.num_experts_per_token
    expert = 3 * h * spec.moe_intermediate_size
    expert_bias = (2 * spec.moe_intermediate_size + h) * spec.expert_bias
    return _Layer(
        attention,
        replicated,
        norms,
        biases,
        0,
        shared=3 * h * spec.shared_expert_intermediate_size,
        routed=experts * expert,
        routed_active=picked * expert,
        expert_biases=experts * expert_bias,
        expert_biases_active=picked * expert_bias,
        router=h * experts + experts * spec.router_bias,
    )


def _layers(spec: ModelSpec) -> list[_Layer]:
    return [_layer(spec, i) for i in range(spec.num_layers)]


def count_parameters(spec: ModelSpec) -> ParameterCounts:
    """Return the parameter counts of `spec` by part."""
    layers = _layers(spec)
    h = spec.hidden_size
    embedding = spec.vocab_size * h
    norms = sum(layer.attention_norms for layer in layers) + 2 * h * spec.num_layers + h
    routers = sum(layer.router for layer in layers)
    return ParameterCounts(
        embedding=embedding,
        lm_head=0 if spec.tie_word_embeddings else embedding,
        attention=sum(layer.attention for layer in layers),
        dense_mlp=sum(layer.dense_mlp for layer in layers),
        shared_experts=sum(layer.shared for layer in layers),
        routed_experts=sum(layer.routed + layer.expert_biases for layer in layers),
        routed_experts_active=sum(
            layer.routed_active + layer.expert_biases_active for layer in layers
        ),
        routers=routers,
        norms=norms,
        biases=sum(layer.attention_biases for layer in layers),
        replicated=norms + routers + sum(layer.attention_replicated for layer in layers),
    )


def matmul_parameters_per_token(spec: ModelSpec) -> int:
    """Weights one token multiplies in the layers (2 FLOPs each): active experts only.

    Biases, norms and sinks add or scale rather than multiply and are left out; so is the
    embedding lookup, and the lm_head is counted apart (`lm_head_parameters`).
    """
    return sum(
        layer.attention
        + layer.dense_mlp
        + layer.shared
        + layer.routed_active
        + spec.hidden_size * spec.num_experts * spec.is_moe_layer(i)
        for i, layer in enumerate(_layers(spec))
    )


def lm_head_parameters(spec: ModelSpec) -> int:
    return spec.hidden_size * spec.vocab_size


@dataclasses.dataclass(frozen=True)
class WeightBytes:
    """Weight bytes of a model, by where they live and when a forward pass reads them."""

    # Bytes every GPU of a tensor-parallel group stores.
    per_gpu: float
    # Bytes a forward pass reads over the whole group, routed experts apart.
    read_without_routed: float
    # Bytes of all routed experts over the group; a pass reads those its tokens pick.
    routed: float


def weight_bytes(spec: ModelSpec, tensor_parallel: int = 1) -> WeightBytes:
    """Return the bytes of the weights at the spec's data types.

    The embedding table, the lm_head, norms, routers, biases and sinks are at the checkpoint's
    `dtype`; attention, dense and shared-expert matrices at `linear_dtype`; routed-expert
    matrices at `expert_dtype`.
    """
    counts = count_parameters(spec)
    layers = _layers(spec)
    base, linear, expert = (
        dtype_bytes(t) for t in (spec.dtype, spec.linear_dtype, spec.expert_dtype)
    )
    routed_matrices = sum(layer.routed for layer in layers)
    routed = routed_matrices * expert + (counts.routed_experts - routed_matrices) * base
    small = counts.norms + counts.routers + counts.biases
    matrices = counts.attention + counts.dense_mlp + counts.shared_experts
    stored = (counts.embedding + counts.lm_head + small) * base + matrices * linear + routed
    replicated = counts.replicated - counts.norms - counts.routers  # MLA down-projections
    replicated_bytes = (counts.norms + counts.routers) * base + replicated * linear
    split = stored - replicated_bytes
    lm_head_read = lm_head_parameters(spec) * base
    read = lm_head_read + small * base + matrices * linear
    return WeightBytes(
        per_gpu=split / tensor_parallel + replicated_bytes,
        read_without_routed=read + replicated_bytes * (tensor_parallel - 1),
        routed=routed,
    )


def check_fits(spec: ModelSpec, gpu: GpuSpec, tensor_parallel: int) -> float:
    """Return the weight bytes per GPU, or raise DoesNotFitError if they exceed its memory."""
    per_gpu = weight_bytes(spec, tensor_parallel).per_gpu
    if per_gpu > gpu.memory_bytes:
        raise DoesNotFitError(
            f"{spec.name} does not fit on {gpu.name} with tensor_parallel={tensor_parallel}: "
            f"its weights take {per_gpu / GIB:.2f} GiB per GPU, more than its "
            f"{gpu.memory_bytes / GIB:.2f} GiB; {FIT_ADVICE}"
        )
    return per_gpu


FIT_ADVICE = (
    "raise tensor_parallel, store the weights in a smaller weight_dtype, or choose a larger GPU"
)
