"""What a batch of requests costs to serve: one native pass over arrays of token counts.

The formulas, per request (the native loop in csrc/cost/estimate.cpp applies them; the plain
per-request loop in tests/cost_reference.py is the reference it must equal):

- A forward pass spends 2 FLOPs per weight a token multiplies (Kaplan et al., Scaling Laws
  for Neural Language Models, arXiv:2001.08361, Table 1: C_forward = 2N + 2 n_layer n_ctx
  d_attn per token), counting for an MoE layer the experts the token picks, the shared experts
  and the router. The lm_head runs once per sampled token: for the last input position in
  prefill and once per decode step.
- Attention adds, per layer and per (query, key) pair, 2 FLOPs per multiply-add of Q K^T
  (H x d_qk) and of the weighted sum of V (H x d_v). Causal prefill of positions c..n-1
  computes the pairs of keys 1..t+1 for query t (n(n+1)/2 for an uncached prompt, the causal
  half of Kaplan's n_ctx^2 term); a sliding-window layer keeps the last w keys.
- MLA (DeepSeek-V2, arXiv:2405.04434, section 2.1): prefill attends with
  up-projected keys (d_qk = nope + rope, d_v = v); decode attends over the latent with the
  up-projections absorbed into the query and output (d_qk = kv_lora + rope, d_v = kv_lora), as
  vLLM's MLA backends do (vllm/v1/attention/backends/mla/common.py: prefill in MHA form,
  decode in MQA form over the latent). Prefill with a cached prefix up-projects the cached
  latents again (the same file, _compute_prefill_context): 2 x kv_b weights per cached token.
- Bytes moved: a forward pass reads the weights once (the routed experts its tokens pick),
  writes the new tokens' KV and reads the cached ones. A decode step reads the weights once
  for the whole batch and each sequence's KV cache.
- Time is the roofline of each pass: max(FLOPs / achieved FLOP/s, bytes / achieved bytes/s)
  (Williams, Waterman and Patterson, Roofline, CACM 52(4), 2009), the peaks scaled by the
  efficiencies given and by the GPUs of the tensor-parallel group. Communication between
  those GPUs is not modelled.
- Dollars: (input - cached) x input price + cached x cached-input price + output x output
  price, prices per million tokens.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tokenomix import _core
from tokenomix.cost.dtypes import canonical_dtype
from tokenomix.cost.gpu import GpuSpec
from tokenomix.cost.model import FULL, SLIDING, ModelSpec, check_tensor_parallel
from tokenomix.cost.params import (
    check_fits,
    lm_head_parameters,
    matmul_parameters_per_token,
    weight_bytes,
)
from tokenomix.cost.presets import get_gpu, get_model
from tokenomix.cost.result import CostEstimate, Prices


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """How the model is served: parallelism, data types, efficiencies, batch and prices."""

    tensor_parallel: int = 1
    kv_dtype: str | None = None
    weight_dtype: str | None = None
    compute_dtype: str | None = None
    compute_efficiency: float = 1.0
    bandwidth_efficiency: float = 1.0
    decode_batch_size: float = 1.0
    prices: Prices | None = None


def estimate(
    input_tokens: Any,
    output_tokens: Any,
    *,
    model: str | ModelSpec | Mapping[str, Any],
    gpu: str | GpuSpec,
    cached_tokens: Any = None,
    tensor_parallel: int = 1,
    kv_dtype: str | None = None,
    weight_dtype: str | None = None,
    compute_dtype: str | None = None,
    compute_efficiency: float = 1.0,
    bandwidth_efficiency: float = 1.0,
    decode_batch_size: float = 1,
    price: Any = None,
    price_per_million_input_tokens: float | None = None,
    price_per_million_cached_input_tokens: float | None = None,
    price_per_million_output_tokens: float | None = None,
    num_threads: int | None = None,
) -> CostEstimate:
    """Estimate the cost of serving every request of a batch, in one native pass.

    Args:
        input_tokens: input (prompt) tokens per request, cached ones included; any integer
            sequence or array.
        output_tokens: generated tokens per request.
        model: a preset name (`list_models()`), a ModelSpec, or a Hugging Face config dict.
        gpu: a preset name (`list_gpus()`) or a GpuSpec.
        cached_tokens: input tokens per request served from the prefix cache (billed at the
            cached-input price, skipped by prefill but the last); None for none.
        tensor_parallel: GPUs that split the model (vLLM's rules: weights and KV heads split,
            at least one KV head per GPU, the MLA latent whole on each).
        kv_dtype: KV-cache data type ("bfloat16", "fp8", ...); default the model's dtype.
        weight_dtype: data type of the weight matrices; default the checkpoint's.
        compute_dtype: "bf16" or "fp8" tensor-core peak; default fp8 for fp8 weights on a GPU
            with FP8 tensor cores, else bf16.
        compute_efficiency, bandwidth_efficiency: fractions of the peaks achieved, in (0, 1].
        decode_batch_size: sequences decoded together, sharing each step's weight reads;
            decode_seconds is then the latency of a request in such a batch.
        price: any object with the attributes price_per_million_input_tokens,
            price_per_million_cached_input_tokens, price_per_million_output_tokens.
        price_per_million_input_tokens, price_per_million_cached_input_tokens,
        price_per_million_output_tokens: dollars per million tokens; override `price`. The
            cached-input price defaults to the input price. Without prices cost_usd is None.
        num_threads: threads for the native pass; None for all cores.

    Returns:
        A CostEstimate with one NumPy array per quantity and a summary().

    Raises:
        ValueError: a negative or non-integer count, arrays of different lengths, more cached
            than input tokens, or an option out of range.
        UnknownPresetError: (a KeyError) an unknown model or GPU name.
        DoesNotFitError: (a ValueError) the weights alone exceed the memory of each GPU.

    >>> from tokenomix.cost import estimate
    >>> result = estimate([1000], [100], model="Llama-3.1-8B", gpu="H100")
    >>> int(result.kv_cache_bytes[0])
    144179200
    """
    spec = get_model(model)
    hardware = get_gpu(gpu)
    options = ServingOptions(
        tensor_parallel=tensor_parallel,
        kv_dtype=kv_dtype,
        weight_dtype=weight_dtype,
        compute_dtype=compute_dtype,
        compute_efficiency=compute_efficiency,
        bandwidth_efficiency=bandwidth_efficiency,
        decode_batch_size=decode_batch_size,
        prices=Prices.resolve(
            price,
            price_per_million_input_tokens,
            price_per_million_cached_input_tokens,
            price_per_million_output_tokens,
        ),
    )
    inputs = token_counts("input_tokens", input_tokens)
    outputs = token_counts("output_tokens", output_tokens, len(inputs))
    cached = (
        None if cached_tokens is None else token_counts("cached_tokens", cached_tokens, len(inputs))
    )
    native = cost_model(spec, hardware, options)
    arrays = _core.estimate_requests(native, inputs, cached, outputs, num_threads)
    return CostEstimate(
        model=spec,
        gpu=hardware,
        options=options,
        input_tokens=inputs,
        cached_tokens=np.zeros_like(inputs) if cached is None else cached,
        output_tokens=outputs,
        cost_usd=arrays.pop("cost_usd", None),
        **arrays,
    )


def token_counts(name: str, values: Any, length: int | None = None) -> np.ndarray:
    """Return `values` as a one-dimensional int64 array, or raise naming the bad element."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a one-dimensional sequence of counts, got an array "
            f"of shape {array.shape}"
        )
    if length is not None and len(array) != length:
        raise ValueError(
            f"{name} has {len(array)} elements but input_tokens has {length}; "
            "give one count per request"
        )
    kind = array.dtype.kind
    if kind in "iu":
        if kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} holds a count beyond int64")
        return np.ascontiguousarray(array, dtype=np.int64)
    if kind == "f":
        bad = ~np.isfinite(array) | (array != np.floor(array))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] is {array[i].item()!r}: token counts must be integers")
        return np.ascontiguousarray(array, dtype=np.int64)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    raise ValueError(f"{name} must hold integer token counts, got dtype {array.dtype}")


def cost_model(spec: ModelSpec, gpu: GpuSpec, options: ServingOptions) -> _core.CostModel:
    """Reduce a model, a GPU and serving options to the per-token constants of the native loop."""
    tp = options.tensor_parallel
    check_tensor_parallel(spec, tp)
    _check_options(options)
    spec = spec.with_dtypes(options.weight_dtype)
    check_fits(spec, gpu, tp)
    cm = _core.CostModel()
    cm.linear_flops_per_token = 2.0 * matmul_parameters_per_token(spec)
    cm.lm_head_flops = 2.0 * lm_head_parameters(spec)
    _set_attention(cm, spec)
    _set_kv(cm, spec, options)
    _set_weights(cm, spec, options)
    compute = options.compute_dtype or _default_compute_dtype(spec, gpu)
    cm.flops_per_second = gpu.flops_per_second(compute) * options.compute_efficiency * tp
    cm.bytes_per_second = gpu.memory_bandwidth_bytes_per_second * options.bandwidth_efficiency * tp
    if options.prices is not None:
        cm.has_prices = True
        cm.usd_per_input_token = options.prices.input / 1e6
        cm.usd_per_cached_input_token = options.prices.cached_input / 1e6
        cm.usd_per_output_token = options.prices.output / 1e6
    return cm


def _check_options(options: ServingOptions) -> None:
    for name in ("compute_efficiency", "bandwidth_efficiency"):
        value = getattr(options, name)
        if not isinstance(value, int | float) or not 0 < value <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    batch = options.decode_batch_size
    if not isinstance(batch, int | float) or not math.isfinite(batch) or batch < 1:
        raise ValueError(f"decode_batch_size must be a number >= 1, got {batch!r}")


def _default_compute_dtype(spec: ModelSpec, gpu: GpuSpec) -> str:
    fp8 = spec.linear_dtype == "fp8" and gpu.fp8_flops_per_second is not None
    return "fp8" if fp8 else "bf16"


def _set_attention(cm: _core.CostModel, spec: ModelSpec) -> None:
    heads = spec.num_attention_heads
    if spec.attention == "mla":
        prefill = 2 * heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim + spec.v_head_dim)
        decode = 2 * heads * (spec.kv_lora_rank + spec.qk_rope_head_dim + spec.kv_lora_rank)
        kv_b = spec.kv_lora_rank * heads * (spec.qk_nope_head_dim + spec.v_head_dim)
        cm.cached_token_flops = 2.0 * kv_b * spec.num_layers
    else:
        prefill = decode = 4 * heads * spec.head_dim
    full = spec.layer_types.count(FULL)
    sliding = spec.layer_types.count(SLIDING)
    cm.prefill_pair_flops_full = float(prefill * full)
    cm.prefill_pair_flops_window = float(prefill * sliding)
    cm.decode_pair_flops_full = float(decode * full)
    cm.decode_pair_flops_window = float(decode * sliding)
    cm.window = spec.sliding_window if sliding else 0


def _set_kv(cm: _core.CostModel, spec: ModelSpec, options: ServingOptions) -> None:
    per_layer = spec.kv_cache_bytes_per_token_layer(
        kv_dtype=options.kv_dtype and canonical_dtype(options.kv_dtype),
        tensor_parallel=options.tensor_parallel,
    )
    cm.kv_bytes_per_token_full = per_layer * spec.layer_types.count(FULL)
    cm.kv_bytes_per_token_window = per_layer * spec.layer_types.count(SLIDING)


def _set_weights(cm: _core.CostModel, spec: ModelSpec, options: ServingOptions) -> None:
    weights = weight_bytes(spec, options.tensor_parallel)
    cm.prefill_weight_bytes = weights.read_without_routed
    cm.routed_expert_bytes = weights.routed
    batch = options.decode_batch_size
    if spec.num_experts:
        # Each token picks k of E experts; with uniform routing an expert escapes one token
        # with probability 1 - k/E and all b tokens with (1 - k/E)^b.
        picked = spec.num_experts_per_token / spec.num_experts
        miss = math.log1p(-picked) if picked < 1 else -math.inf
        cm.log_expert_miss = miss
        touched = -math.expm1(batch * miss)
    else:
        touched = 0.0
    cm.decode_step_weight_bytes = weights.read_without_routed + weights.routed * touched
    cm.decode_batch_size = float(batch)
