"""The shape of a decoder-only transformer, read from a Hugging Face config, and its counts.

Parameter counts follow the weights the checkpoints hold (Hugging Face `transformers`
modelling code of each architecture), so that they equal the published totals
(tests/test_cost_model.py). Every layer is pre-norm with two norms and a gated (SwiGLU)
feed-forward block of three matrices, as in all the presets (Llama 2 paper, arXiv:2307.09288,
section 2.2; DeepSeek-V3 and gpt-oss likewise).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from tokenomix.cost.dtypes import canonical_dtype, dtype_bytes

FULL = "full"
SLIDING = "sliding"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The dimensions of one model that its serving cost depends on.

    Build one with `tokenomix.cost.get_model(name)` for a preset, or
    `ModelSpec.from_config(config_json_path_or_dict)` for any Hugging Face config.
    """

    name: str
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    max_context: int
    # Width of the dense feed-forward block (0 when every layer routes to experts).
    intermediate_size: int = 0
    tie_word_embeddings: bool = False
    # Mixture of experts: routed experts, experts picked per token, shared-expert width.
    num_experts: int = 0
    num_experts_per_token: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    first_dense_layers: int = 0
    moe_layer_freq: int = 1
    # Multi-head latent attention (DeepSeek-V2 paper, arXiv:2405.04434, section 2.1).
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # FULL or SLIDING per layer (default all FULL); SLIDING layers attend over the last
    # `sliding_window` tokens.
    layer_types: tuple[str, ...] = ()
    sliding_window: int = 0
    # Weights beyond the matrices: q/k/v biases, o bias, expert and router biases, one learned
    # attention sink per head (gpt-oss).
    qkv_bias: bool = False
    o_bias: bool = False
    expert_bias: bool = False
    router_bias: bool = False
    attention_sinks: bool = False
    # Data types: of the checkpoint, of its attention/dense matrices, of its routed experts.
    dtype: str = "bfloat16"
    linear_dtype: str = "bfloat16"
    expert_dtype: str = "bfloat16"
    source: str = ""

    def __post_init__(self) -> None:
        _check_spec(self)

    @classmethod
    def from_config(
        cls, config: str | os.PathLike[str] | Mapping[str, Any], *, name: str = "", source: str = ""
    ) -> ModelSpec:
        """Build a spec from a Hugging Face `config.json` (a path) or its contents (a dict).

        Reads the fields of the Llama, Mistral, Mixtral, Qwen2, DeepSeek-V2/V3 and gpt-oss
        configs, and those of other architectures that use the same names.

        Raises:
            FileNotFoundError: the path does not exist.
            ValueError: the JSON is malformed, or a required field is missing or invalid.
        """
        from tokenomix.cost.hf_config import spec_fields

        if not isinstance(config, Mapping):
            path = os.fspath(config)
            with open(path, encoding="utf-8") as f:
                try:
                    config = json.load(f)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}: not valid JSON: {error}") from error
            source = source or path
            name = name or os.path.basename(os.path.dirname(os.path.abspath(path)))
        return cls(**spec_fields(config, name=name or "custom", source=source))

    @property
    def attention(self) -> str:
        """The attention kind: "mla", "mha", "mqa" or "gqa"."""
        if self.kv_lora_rank:
            return "mla"
        if self.num_kv_heads == self.num_attention_heads:
            return "mha"
        return "mqa" if self.num_kv_heads == 1 else "gqa"

    @property
    def num_sliding_layers(self) -> int:
        return sum(kind == SLIDING for kind in self.layer_types)

    def is_moe_layer(self, layer: int) -> bool:
        """Whether `layer` (0-based) routes to experts, by DeepSeek's and Qwen's rule."""
        return (
            self.num_experts > 0
            and layer >= self.first_dense_layers
            and layer % self.moe_layer_freq == 0
        )

    @property
    def num_moe_layers(self) -> int:
        return sum(self.is_moe_layer(i) for i in range(self.num_layers))

    def parameters(self) -> ParameterCounts:
        """Return the parameter counts by part."""
        from tokenomix.cost.params import count_parameters

        return count_parameters(self)

    @property
    def num_parameters(self) -> int:
        """All parameters of the checkpoint (tied embeddings counted once)."""
        return self.parameters().total

    @property
    def active_parameters(self) -> int:
        """Parameters one token uses: all but the routed experts it does not pick.

        Embedding tables are counted, as Mistral counts Mixtral's 12.9B; the gpt-oss model
        card leaves the input embedding out (subtract `embedding_parameters`).
        """
        return self.parameters().active

    @property
    def embedding_parameters(self) -> int:
        return self.vocab_size * self.hidden_size

    def kv_cache_bytes_per_token(
        self, *, kv_dtype: str | None = None, tensor_parallel: int = 1
    ) -> int:
        """Return the KV-cache bytes of one token over all layers and all GPUs of the group.

        A token inside every window; past its window a sliding layer stores nothing more.
        MHA/GQA/MQA: 2 (K and V) x KV heads x head_dim x bytes per layer, each GPU holding
        max(1, KV heads / tensor_parallel) heads (vLLM, ModelConfig.get_num_kv_heads: heads
        are replicated when there are fewer than GPUs). MLA: the compressed latent and the
        decoupled RoPE key, (kv_lora_rank + qk_rope_head_dim) x bytes per layer, no factor 2,
        whole on every GPU (vLLM MLAAttentionSpec, one KV head).
        """
        per_layer = self.kv_cache_bytes_per_token_layer(
            kv_dtype=kv_dtype, tensor_parallel=tensor_parallel
        )
        return per_layer * self.num_layers

    def kv_cache_bytes_per_token_layer(
        self, *, kv_dtype: str | None = None, tensor_parallel: int = 1
    ) -> int:
        """KV-cache bytes of one token in one layer, over the GPUs of one group."""
        check_tensor_parallel(self, tensor_parallel)
        element = dtype_bytes(kv_dtype or self.dtype)
        if self.attention == "mla":
            per_gpu = (self.kv_lora_rank + self.qk_rope_head_dim) * element
        else:
            heads = max(1, self.num_kv_heads // tensor_parallel)
            per_gpu = 2 * heads * self.head_dim * element
        total = per_gpu * tensor_parallel
        if total != int(total):
            raise ValueError(f"KV data type {kv_dtype!r} does not give whole bytes per token")
        return int(total)

    def with_dtypes(self, weight_dtype: str | None) -> ModelSpec:
        """A copy whose matrices (attention, dense, experts) are stored as `weight_dtype`."""
        if weight_dtype is None:
            return self
        dtype = canonical_dtype(weight_dtype)
        return dataclasses.replace(self, linear_dtype=dtype, expert_dtype=dtype)


@dataclasses.dataclass(frozen=True)
class ParameterCounts:
    """Parameter counts of a model by part (see tokenomix.cost.params)."""

    embedding: int
    lm_head: int
    attention: int
    dense_mlp: int
    shared_experts: int
    routed_experts: int
    routed_experts_active: int
    routers: int
    norms: int
    biases: int
    # Parameters copied on every GPU of a tensor-parallel group rather than split.
    replicated: int

    @property
    def total(self) -> int:
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.dense_mlp
            + self.shared_experts
            + self.routed_experts
            + self.routers
            + self.norms
            + self.biases
        )

    @property
    def active(self) -> int:
        return self.total - self.routed_experts + self.routed_experts_active


def check_tensor_parallel(spec: ModelSpec, tensor_parallel: int) -> None:
    """Raise ValueError unless vLLM can split `spec` over `tensor_parallel` GPUs.

    vLLM requires the attention heads to divide evenly (ModelConfig.verify_with_parallel_config)
    and the KV heads to divide the GPUs or be divided by them (QKVParallelLinear in
    vllm/model_executor/layers/linear.py).
    """
    if not isinstance(tensor_parallel, int) or isinstance(tensor_parallel, bool):
        raise TypeError(f"tensor_parallel must be an int, got {tensor_parallel!r}")
    if tensor_parallel < 1:
        raise ValueError(f"tensor_parallel must be at least 1, got {tensor_parallel}")
    heads = spec.num_attention_heads
    if heads % tensor_parallel:
        raise ValueError(
            f"{spec.name} has {heads} attention heads, which {tensor_parallel} GPUs cannot "
            "share evenly; choose a tensor_parallel that divides it"
        )
    kv = spec.num_kv_heads
    if spec.attention != "mla" and kv % tensor_parallel and tensor_parallel % kv:
        raise ValueError(
            f"{spec.name} has {kv} KV heads: tensor_parallel must divide it or be a multiple "
            f"of it, got {tensor_parallel}"
        )


def _check_spec(spec: ModelSpec) -> None:
    positive = (
        "num_layers",
        "hidden_size",
        "num_attention_heads",
        "num_kv_heads",
        "head_dim",
        "vocab_size",
        "max_context",
    )
    for field in positive:
        value = getattr(spec, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"model {spec.name!r}: {field} must be a positive integer, got {value!r}"
            )
    if not spec.layer_types:
        object.__setattr__(spec, "layer_types", (FULL,) * spec.num_layers)
    object.__setattr__(spec, "layer_types", tuple(spec.layer_types))
    if len(spec.layer_types) != spec.num_layers:
        raise ValueError(
            f"model {spec.name!r}: {len(spec.layer_types)} layer types for {spec.num_layers} layers"
        )
    if any(kind not in (FULL, SLIDING) for kind in spec.layer_types):
        raise ValueError(f"model {spec.name!r}: layer types must be {FULL!r} or {SLIDING!r}")
    if spec.num_sliding_layers and spec.sliding_window < 1:
        raise ValueError(f"model {spec.name!r} has sliding layers but no sliding_window")
    if spec.num_experts and not 0 < spec.num_experts_per_token <= spec.num_experts:
        raise ValueError(
            f"model {spec.name!r}: num_experts_per_token must be between 1 and "
            f"num_experts ({spec.num_experts}), got {spec.num_experts_per_token}"
        )
    if spec.moe_layer_freq < 1:
        raise ValueError(f"model {spec.name!r}: moe_layer_freq must be at least 1")
    if spec.num_attention_heads % spec.num_kv_heads:
        raise ValueError(
            f"model {spec.name!r}: {spec.num_attention_heads} attention heads "
            f"are not a multiple of {spec.num_kv_heads} KV heads"
        )
    for field in ("dtype", "linear_dtype", "expert_dtype"):
        object.__setattr__(spec, field, canonical_dtype(getattr(spec, field)))
