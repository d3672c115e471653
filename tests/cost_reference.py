"""A plain, per-request and per-step reference of every cost formula, for parity tests.

Slow and literal on purpose: it walks the layers one by one to count weights and bytes, the
prefill positions one by one to count attention pairs, and the decode steps one by one to
take each step's roofline max. It shares no code with tokenomix.cost beyond reading the
ModelSpec's fields and the bytes per data type.
"""

from __future__ import annotations

import dataclasses

from tokenomix.cost import GpuSpec, ModelSpec, dtype_bytes


@dataclasses.dataclass
class Layer:
    sliding: bool
    matmul_weights_per_token: int  # weights a token multiplies: active experts only
    prefill_pair_flops: int
    decode_pair_flops: int
    kv_bytes_per_token: int  # over the tensor-parallel group
    # Weight bytes by role: split over GPUs, replicated on each, and routed experts.
    split_bytes: float
    replicated_bytes: float
    routed_bytes: float


def layers(spec: ModelSpec, tp: int, kv_dtype: str | None, weight_dtype: str | None) -> list:
    base = dtype_bytes(spec.dtype)
    linear = dtype_bytes(weight_dtype or spec.linear_dtype)
    expert = dtype_bytes(weight_dtype or spec.expert_dtype)
    kv_element = dtype_bytes(kv_dtype or spec.dtype)
    h, heads = spec.hidden_size, spec.num_attention_heads
    out = []
    for i in range(spec.num_layers):
        norms = 2 * h
        if spec.kv_lora_rank:  # MLA
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            if spec.q_lora_rank:
                q_down, q_up = h * spec.q_lora_rank, spec.q_lora_rank * heads * qk
                norms += spec.q_lora_rank
            else:
                q_down, q_up = 0, h * heads * qk
            kv_down = h * (spec.kv_lora_rank + spec.qk_rope_head_dim)
            kv_up = spec.kv_lora_rank * heads * (spec.qk_nope_head_dim + spec.v_head_dim)
            o = heads * spec.v_head_dim * h
            norms += spec.kv_lora_rank
            attention = q_down + q_up + kv_down + kv_up + o
            attention_replicated = q_down + kv_down
            attention_small = 0
            prefill_pair = 2 * heads * qk + 2 * heads * spec.v_head_dim
            decode_pair = 2 * heads * (spec.kv_lora_rank + spec.qk_rope_head_dim) + (
                2 * heads * spec.kv_lora_rank
            )
            kv = (spec.kv_lora_rank + spec.qk_rope_head_dim) * kv_element * tp
        else:
            d, kvh = spec.head_dim, spec.num_kv_heads
            attention = h * heads * d + h * kvh * d * 2 + heads * d * h
            attention_replicated = 0
            attention_small = 0
            if spec.qkv_bias:
                attention_small += heads * d + 2 * kvh * d
            if spec.o_bias:
                attention_small += h
            if spec.attention_sinks:
                attention_small += heads
            prefill_pair = decode_pair = 2 * heads * d * 2
            kv = 2 * max(1, kvh // tp) * d * kv_element * tp
        moe = spec.num_experts > 0 and i >= spec.first_dense_layers and i % spec.moe_layer_freq == 0
        routed_bytes = 0.0
        if moe:
            e, k, f = spec.num_experts, spec.num_experts_per_token, spec.moe_intermediate_size
            one_expert = 3 * h * f
            expert_bias = (2 * f + h) if spec.expert_bias else 0
            shared = 3 * h * spec.shared_expert_intermediate_size
            router = h * e + (e if spec.router_bias else 0)
            ffn_active = k * one_expert + shared + h * e
            routed_bytes = e * one_expert * expert + e * expert_bias * base
            split = attention * linear + attention_small * base + shared * linear
            replicated = (norms + router) * base + attention_replicated * linear
            split -= attention_replicated * linear
        else:
            ffn_active = 3 * h * spec.intermediate_size
            split = (attention - attention_replicated + ffn_active) * linear + (
                attention_small * base
            )
            replicated = norms * base + attention_replicated * linear
        out.append(
            Layer(
                sliding=spec.layer_types[i] == "sliding",
                matmul_weights_per_token=attention + ffn_active,
                prefill_pair_flops=prefill_pair,
                decode_pair_flops=decode_pair,
                kv_bytes_per_token=int(kv),
                split_bytes=split,
                replicated_bytes=replicated,
                routed_bytes=routed_bytes,
            )
        )
    return out


def weights_per_gpu(spec: ModelSpec, tp: int, weight_dtype: str | None) -> float:
    """Weight bytes each GPU of a tensor-parallel group stores."""
    base = dtype_bytes(spec.dtype)
    tables = spec.vocab_size * spec.hidden_size * (1 if spec.tie_word_embeddings else 2)
    layer_bytes = layers(spec, tp, None, weight_dtype)
    split = sum(layer.split_bytes + layer.routed_bytes for layer in layer_bytes)
    replicated = sum(layer.replicated_bytes for layer in layer_bytes) + spec.hidden_size * base
    return (split + tables * base) / tp + replicated


# The per-request arrays of a CostEstimate that estimate_one returns, in its order.
QUANTITIES = (
    "prefill_flops",
    "decode_flops",
    "kv_cache_bytes",
    "prefill_bytes",
    "decode_bytes",
    "prefill_seconds",
    "decode_seconds",
    "cost_usd",
)


def estimate_one(
    spec: ModelSpec,
    gpu: GpuSpec,
    n: int,
    c: int,
    m: int,
    *,
    tp: int = 1,
    kv_dtype: str | None = None,
    weight_dtype: str | None = None,
    compute_dtype: str | None = None,
    compute_efficiency: float = 1.0,
    bandwidth_efficiency: float = 1.0,
    batch: float = 1,
    prices: tuple[float, float, float] | None = None,
) -> dict:
    """Estimate one request the slow way; returns the quantities of a CostEstimate."""
    ls = layers(spec, tp, kv_dtype, weight_dtype)
    h, vocab, w = spec.hidden_size, spec.vocab_size, spec.sliding_window
    base = dtype_bytes(spec.dtype)
    lm_head = h * vocab
    per_token_flops = 2 * (sum(layer.matmul_weights_per_token for layer in ls) + lm_head)

    # Weights read by one pass, over the group: lm_head, final norm and every layer's
    # weights, replicated ones once per GPU; routed experts apart.
    read = lm_head * base + h * base * tp
    read += sum(layer.split_bytes + layer.replicated_bytes * tp for layer in ls)
    routed = sum(layer.routed_bytes for layer in ls)
    miss = 1 - spec.num_experts_per_token / spec.num_experts if spec.num_experts else 1.0

    fp8 = (weight_dtype or spec.linear_dtype) == "fp8" and gpu.fp8_flops_per_second
    peak = gpu.flops_per_second(compute_dtype or ("fp8" if fp8 else "bf16"))
    flops_per_s = peak * compute_efficiency * tp
    bytes_per_s = gpu.memory_bandwidth_bytes_per_second * bandwidth_efficiency * tp

    def keys(layer: Layer, position: int) -> int:
        return min(position + 1, w) if layer.sliding else position + 1

    # Prefill: positions c'..n-1, c' = min(c, n - 1) (vLLM recomputes the last token).
    computed = min(c, n - 1) if n > 0 else 0
    p = n - computed
    prefill_flops = prefill_bytes = prefill_seconds = 0.0
    if p > 0:
        prefill_flops = p * (per_token_flops - 2 * lm_head) + 2 * lm_head
        if spec.kv_lora_rank:
            kv_up = (
                spec.kv_lora_rank
                * spec.num_attention_heads
                * (spec.qk_nope_head_dim + spec.v_head_dim)
            )
            prefill_flops += computed * 2 * kv_up * spec.num_layers
        for t in range(computed, n):
            prefill_flops += sum(layer.prefill_pair_flops * keys(layer, t) for layer in ls)
        prefill_bytes = read + routed * (1 - miss**p) if spec.num_experts else read
        prefill_bytes += p * sum(layer.kv_bytes_per_token for layer in ls)
        prefill_bytes += sum(
            layer.kv_bytes_per_token * (min(computed, w) if layer.sliding else computed)
            for layer in ls
        )
        prefill_seconds = max(prefill_flops / flops_per_s, prefill_bytes / bytes_per_s)

    # Decode: one step per output token after the first; step s feeds position n + s.
    step_weights = read + (routed * (1 - miss**batch) if spec.num_experts else 0)
    decode_flops = decode_bytes = decode_seconds = 0.0
    for s in range(max(m - 1, 0)):
        position = n + s
        flops = per_token_flops + sum(
            layer.decode_pair_flops * keys(layer, position) for layer in ls
        )
        kv = sum(layer.kv_bytes_per_token * keys(layer, position) for layer in ls)
        decode_flops += flops
        decode_bytes += step_weights / batch + kv
        decode_seconds += max(
            batch * flops / flops_per_s, (step_weights + batch * kv) / bytes_per_s
        )

    length = n + m
    kv_end = sum(
        layer.kv_bytes_per_token * (min(length, w) if layer.sliding else length) for layer in ls
    )
    cost = None
    if prices is not None:
        cost = ((n - c) * prices[0] + c * prices[1] + m * prices[2]) / 1e6
    return {
        "prefill_flops": prefill_flops,
        "decode_flops": decode_flops,
        "kv_cache_bytes": kv_end,
        "prefill_bytes": prefill_bytes,
        "decode_bytes": decode_bytes,
        "prefill_seconds": prefill_seconds,
        "decode_seconds": decode_seconds,
        "cost_usd": cost,
    }
