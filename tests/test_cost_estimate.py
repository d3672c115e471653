"""The batched estimate: parity with the per-request reference, a worked example, bad input."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomix.cost import (
    DoesNotFitError,
    GpuSpec,
    ModelSpec,
    UnknownPresetError,
    estimate,
    get_gpu,
    get_model,
    list_gpus,
    list_models,
)

from cost_reference import QUANTITIES, estimate_one, weights_per_gpu


def valid_tp(spec: ModelSpec) -> list[int]:
    from tokenomix.cost.model import check_tensor_parallel

    out = []
    for tp in (1, 2, 4, 8, 16):
        try:
            check_tensor_parallel(spec, tp)
        except ValueError:
            continue
        out.append(tp)
    return out


@st.composite
def custom_models(draw) -> ModelSpec:
    layers = draw(st.integers(1, 5))
    heads_kv = draw(st.sampled_from([1, 2, 4]))
    heads = heads_kv * draw(st.sampled_from([1, 2, 4]))
    hidden = draw(st.sampled_from([16, 64, 96]))
    fields = dict(
        name="custom",
        num_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=heads_kv,
        head_dim=draw(st.sampled_from([4, 8, 32])),
        vocab_size=draw(st.integers(10, 500)),
        max_context=1 << 20,
        intermediate_size=draw(st.integers(1, 200)),
        dtype=draw(st.sampled_from(["bfloat16", "float32"])),
    )
    if draw(st.booleans()):  # MLA: no sliding window
        fields |= dict(
            num_kv_heads=heads,
            kv_lora_rank=draw(st.integers(1, 32)),
            q_lora_rank=draw(st.sampled_from([0, 12])),
            qk_nope_head_dim=draw(st.integers(1, 16)),
            qk_rope_head_dim=draw(st.integers(1, 8)),
            v_head_dim=draw(st.integers(1, 16)),
        )
        fields["head_dim"] = fields["qk_nope_head_dim"] + fields["qk_rope_head_dim"]
        fields["layer_types"] = ("full",) * layers
    else:
        kinds = draw(
            st.lists(st.sampled_from(["full", "sliding"]), min_size=layers, max_size=layers)
        )
        fields["layer_types"] = tuple(kinds)
        fields["sliding_window"] = draw(st.integers(1, 64))
        fields |= dict(
            qkv_bias=draw(st.booleans()),
            o_bias=draw(st.booleans()),
            attention_sinks=draw(st.booleans()),
        )
    if draw(st.booleans()):
        experts = draw(st.integers(1, 16))
        fields |= dict(
            num_experts=experts,
            num_experts_per_token=draw(st.integers(1, experts)),
            moe_intermediate_size=draw(st.integers(1, 64)),
            shared_expert_intermediate_size=draw(st.sampled_from([0, 32])),
            first_dense_layers=draw(st.integers(0, 2)),
            moe_layer_freq=draw(st.integers(1, 2)),
            expert_bias=draw(st.booleans()),
            router_bias=draw(st.booleans()),
            expert_dtype=draw(st.sampled_from(["bfloat16", "fp8", "mxfp4"])),
        )
    fields["linear_dtype"] = draw(st.sampled_from(["bfloat16", "fp8"]))
    return ModelSpec(**fields)


# Bandwidth and FLOP/s spread wide so that decode steps flip between memory- and compute-bound.
custom_gpus = st.builds(
    GpuSpec,
    name=st.just("custom"),
    memory_bytes=st.just(80 << 30),
    memory_bandwidth_bytes_per_second=st.floats(1e3, 1e12),
    bf16_flops_per_second=st.floats(1e3, 1e15),
    fp8_flops_per_second=st.one_of(st.none(), st.floats(1e3, 1e15)),
)

requests = st.lists(
    st.tuples(st.integers(0, 1200), st.floats(0, 1), st.integers(0, 300)), min_size=1, max_size=6
)

options = st.fixed_dictionaries(
    {
        "kv_dtype": st.sampled_from([None, "fp8", "float32"]),
        "weight_dtype": st.sampled_from([None, None, "fp8", "int4"]),
        "compute_efficiency": st.sampled_from([1.0, 0.5, 0.01]),
        "bandwidth_efficiency": st.sampled_from([1.0, 0.7]),
        "batch": st.sampled_from([1, 3, 2.5, 256]),
        "prices": st.sampled_from([None, (3.0, 0.3, 15.0), (0.0, 0.0, 1e-3)]),
    }
)


def check_parity(spec, gpu, rows, tp, opts) -> None:
    n = [r[0] for r in rows]
    c = [round(r[1] * r[0]) for r in rows]
    m = [r[2] for r in rows]
    prices = opts["prices"]
    if weights_per_gpu(spec, tp, opts["weight_dtype"]) > gpu.memory_bytes:
        with pytest.raises(DoesNotFitError, match="does not fit"):
            estimate(
                n, m, model=spec, gpu=gpu, tensor_parallel=tp, weight_dtype=opts["weight_dtype"]
            )
        return
    result = estimate(
        n,
        m,
        model=spec,
        gpu=gpu,
        cached_tokens=c,
        tensor_parallel=tp,
        kv_dtype=opts["kv_dtype"],
        weight_dtype=opts["weight_dtype"],
        compute_efficiency=opts["compute_efficiency"],
        bandwidth_efficiency=opts["bandwidth_efficiency"],
        decode_batch_size=opts["batch"],
        price_per_million_input_tokens=prices and prices[0],
        price_per_million_cached_input_tokens=prices and prices[1],
        price_per_million_output_tokens=prices and prices[2],
        num_threads=1,
    )
    for i in range(len(rows)):
        expected = estimate_one(
            spec,
            gpu,
            n[i],
            c[i],
            m[i],
            tp=tp,
            kv_dtype=opts["kv_dtype"],
            weight_dtype=opts["weight_dtype"],
            compute_efficiency=opts["compute_efficiency"],
            bandwidth_efficiency=opts["bandwidth_efficiency"],
            batch=opts["batch"],
            prices=prices,
        )
        for name in QUANTITIES:
            got = getattr(result, name)
            if expected[name] is None:
                assert got is None
                continue
            assert got[i] == pytest.approx(expected[name], rel=1e-9, abs=1e-300), (name, i)
        assert int(result.kv_cache_bytes[i]) == expected["kv_cache_bytes"]


@settings(max_examples=150, deadline=None)
@given(spec=custom_models(), gpu=custom_gpus, rows=requests, opts=options, data=st.data())
def test_custom_models_match_reference(spec, gpu, rows, opts, data):
    tp = data.draw(st.sampled_from(valid_tp(spec)))
    check_parity(spec, gpu, rows, tp, opts)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(list_models()),
    gpu=st.sampled_from(list_gpus()),
    rows=requests,
    opts=options,
    data=st.data(),
)
def test_presets_match_reference(name, gpu, rows, opts, data):
    spec = get_model(name)
    tp = data.draw(st.sampled_from(valid_tp(spec)))
    check_parity(spec, get_gpu(gpu), rows, tp, opts)


def test_long_requests_match_reference():
    # Far past the window of gpt-oss (128) and of Mistral (4096), with one step per token.
    for name in ("gpt-oss-20b", "Mistral-7B-v0.1", "DeepSeek-V3"):
        rows = [(9000, 0.5, 1500), (5000, 0.0, 4200)]
        opts = {
            "kv_dtype": None,
            "weight_dtype": None,
            "compute_efficiency": 1.0,
            "bandwidth_efficiency": 1.0,
            "batch": 64,
            "prices": None,
        }
        check_parity(
            get_model(name), get_gpu("H200"), rows, 8 if name == "DeepSeek-V3" else 1, opts
        )


def test_window_pairs_worked_example():
    # csrc/cost/series.hpp: a window of 4 over positions 0..5 attends over 1 2 3 4 4 4 keys.
    spec = ModelSpec(
        name="w",
        num_layers=1,
        hidden_size=8,
        num_attention_heads=1,
        num_kv_heads=1,
        head_dim=2,
        vocab_size=10,
        max_context=100,
        intermediate_size=4,
        layer_types=("sliding",),
        sliding_window=4,
    )
    result = estimate([6], [0], model=spec, gpu="H100")
    linear = 2 * (4 * 8 * 2 + 3 * 8 * 4)  # q, k, v, o and the gated MLP
    lm_head = 2 * 8 * 10
    pair = 4 * 1 * 2  # QK^T and AV: 2 FLOPs x heads x head_dim each
    assert result.prefill_flops[0] == 6 * linear + lm_head + 18 * pair


def test_llama_70b_on_h100_worked_by_hand():
    # Llama-3.1-70B (80 layers, hidden 8192, 64 heads, 8 KV heads of 128, FFN 28672,
    # vocab 128256) on 4 H100 SXM: a 2048-token prompt, 256 output tokens, $0.6 / $0.8.
    result = estimate(
        [2048],
        [256],
        model="Llama-3.1-70B",
        gpu="H100-SXM",
        tensor_parallel=4,
        price_per_million_input_tokens=0.6,
        price_per_million_output_tokens=0.8,
    )
    attention = 2 * 8192 * 8192 + 2 * 8192 * 1024  # q and o, k and v
    mlp = 3 * 8192 * 28672
    weights = 80 * (attention + mlp)  # 68,451,041,280 multiplied per token
    lm_head = 8192 * 128256
    pair = 80 * 4 * 64 * 128  # per (query, key): QK^T and AV over 64 heads, 80 layers
    assert weights == 68_451_041_280

    prefill_pairs = 2048 * 2049 // 2
    prefill_flops = 2 * weights * 2048 + 2 * lm_head + pair * prefill_pairs
    assert result.prefill_flops[0] == prefill_flops
    assert prefill_flops == pytest.approx(2.8589e14, rel=1e-4)

    kv_per_token = 2 * 80 * 8 * 128 * 2  # 327,680 bytes
    assert result.kv_cache_bytes[0] == kv_per_token * (2048 + 256) == 754_974_720

    # A pass reads every weight but the embedding table once, in bf16; the 161 norms
    # (2 per layer and a final one, 8192 each) sit on each of the 4 GPUs.
    norms = (2 * 80 + 1) * 8192
    read = (70_553_706_496 - 8192 * 128256 - norms) * 2 + norms * 2 * 4
    prefill_bytes = read + 2048 * kv_per_token
    assert result.prefill_bytes[0] == pytest.approx(prefill_bytes, rel=1e-12)
    flops_per_s, bytes_per_s = 4 * 989.5e12, 4 * 3.35e12
    assert result.prefill_seconds[0] == pytest.approx(
        max(prefill_flops / flops_per_s, prefill_bytes / bytes_per_s), rel=1e-12
    )
    assert result.prefill_seconds[0] == pytest.approx(0.0722, abs=1e-4)  # compute-bound

    # 255 decode steps attend over 2049..2303 keys; each is memory-bound: it reads the weights
    # (139 GB over the 4 GPUs) and the KV cache so far.
    keys = sum(range(2049, 2304))
    decode_flops = 255 * 2 * (weights + lm_head) + pair * keys
    assert result.decode_flops[0] == pytest.approx(decode_flops, rel=1e-12)
    decode_bytes = 255 * read + kv_per_token * keys
    assert result.decode_bytes[0] == pytest.approx(decode_bytes, rel=1e-12)
    assert result.decode_seconds[0] == pytest.approx(decode_bytes / bytes_per_s, rel=1e-12)
    assert result.decode_seconds[0] == pytest.approx(2.659, abs=1e-3)

    assert result.cost_usd[0] == pytest.approx((2048 * 0.6 + 256 * 0.8) / 1e6, rel=1e-12)


def test_prefix_cache_recomputes_last_token_and_bills_cached_price():
    full = estimate(
        [1000],
        [1],
        model="Llama-3.1-8B",
        gpu="H100",
        cached_tokens=[1000],
        price_per_million_input_tokens=2,
        price_per_million_cached_input_tokens=1,
        price_per_million_output_tokens=8,
    )
    none = estimate([1000], [1], model="Llama-3.1-8B", gpu="H100")
    # Prefill still computes one position (the logits of the last token) ...
    assert 0 < full.prefill_flops[0] < none.prefill_flops[0] / 500
    # ... but all 1000 input tokens are billed as cached.
    assert full.cost_usd[0] == pytest.approx((1000 * 1 + 8) / 1e6)
    assert full.decode_flops[0] == 0  # the only output token comes from prefill


def test_results_do_not_depend_on_threads():
    rng = np.random.default_rng(7)
    n = rng.integers(0, 50_000, 300_000)
    m = rng.integers(0, 4_000, 300_000)
    c = (n * rng.random(300_000)).astype(np.int64)
    one = estimate(n, m, cached_tokens=c, model="gpt-oss-120b", gpu="H100", num_threads=1)
    two = estimate(n, m, cached_tokens=c, model="gpt-oss-120b", gpu="H100", num_threads=2)
    for name in QUANTITIES[:-1]:
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def test_summary_totals_and_percentiles():
    result = estimate(
        [100, 200, 300, 400],
        [10, 0, 1, 5],
        model="Qwen2.5-7B",
        gpu="L40S",
        price_per_million_input_tokens=1,
        price_per_million_output_tokens=1,
    )
    summary = result.summary()
    assert summary["requests"] == 4
    assert summary["totals"]["input_tokens"] == 1000
    assert summary["totals"]["output_tokens"] == 16
    assert summary["decode_steps"] == 9 + 0 + 0 + 4
    assert summary["totals"]["cost_usd"] == pytest.approx(1016 / 1e6)
    # Nearest rank: P50 of 100, 200, 300, 400 is 200.
    assert summary["percentiles"]["input_tokens"]["p50"] == 200
    assert summary["percentiles"]["input_tokens"]["max"] == 400
    assert summary["totals"]["decode_bytes"] == pytest.approx(result.decode_bytes.sum())
    assert (
        "cost_usd" not in estimate([1], [1], model="Qwen2.5-7B", gpu="L4").summary()["percentiles"]
    )


def test_empty_batch():
    result = estimate([], [], model="Llama-2-7B", gpu="A100-80GB")
    assert len(result) == 0
    assert result.summary()["percentiles"]["input_tokens"] is None


def test_price_object_and_overrides():
    table = types.SimpleNamespace(
        price_per_million_input_tokens=3.0,
        price_per_million_cached_input_tokens=0.3,
        price_per_million_output_tokens=15.0,
    )
    result = estimate(
        [1000], [100], cached_tokens=[400], model="Llama-3.1-8B", gpu="H100", price=table
    )
    assert result.cost_usd[0] == pytest.approx((600 * 3 + 400 * 0.3 + 100 * 15) / 1e6)
    result = estimate(
        [1000],
        [100],
        model="Llama-3.1-8B",
        gpu="H100",
        price=table,
        price_per_million_output_tokens=1.0,
    )
    assert result.cost_usd[0] == pytest.approx((1000 * 3 + 100 * 1) / 1e6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"input_tokens": [5, -5], "output_tokens": [1, 1]},
            ValueError,
            r"input_tokens\[1\] is -5: token counts must be non-negative",
        ),
        ({"input_tokens": [5], "output_tokens": [-1]}, ValueError, r"output_tokens\[0\] is -1"),
        (
            {"input_tokens": [5], "output_tokens": [1], "cached_tokens": [-2]},
            ValueError,
            r"cached_tokens\[0\] is -2",
        ),
        (
            {"input_tokens": [5, 9], "output_tokens": [1, 1], "cached_tokens": [0, 10]},
            ValueError,
            r"cached_tokens\[1\] is 10: more cached tokens than input tokens \(9\)",
        ),
        (
            {"input_tokens": [1.5], "output_tokens": [1]},
            ValueError,
            r"input_tokens\[0\] is 1.5: token counts must be integers",
        ),
        (
            {"input_tokens": [float("nan")], "output_tokens": [1]},
            ValueError,
            r"input_tokens\[0\] is nan",
        ),
        ({"input_tokens": ["12"], "output_tokens": [1]}, ValueError, "integer token counts"),
        ({"input_tokens": [True], "output_tokens": [1]}, ValueError, "integer token counts"),
        ({"input_tokens": [[1, 2]], "output_tokens": [1]}, ValueError, "one-dimensional"),
        (
            {"input_tokens": [1, 2, 3], "output_tokens": [1, 2]},
            ValueError,
            "output_tokens has 2 elements but input_tokens has 3",
        ),
        ({"input_tokens": [2**41], "output_tokens": [1]}, ValueError, r"more than 2\*\*40"),
        (
            {"input_tokens": [1], "output_tokens": [1], "tensor_parallel": 3},
            ValueError,
            "64 attention heads, which 3 GPUs cannot share",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "tensor_parallel": 0},
            ValueError,
            "at least 1",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "compute_efficiency": 0},
            ValueError,
            r"compute_efficiency must be in \(0, 1\]",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "decode_batch_size": 0.5},
            ValueError,
            "decode_batch_size",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "kv_dtype": "fp7"},
            ValueError,
            "unknown data type 'fp7'; did you mean fp8",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "price_per_million_input_tokens": 1},
            ValueError,
            "give both",
        ),
        (
            {
                "input_tokens": [1],
                "output_tokens": [1],
                "price_per_million_input_tokens": -1,
                "price_per_million_output_tokens": 1,
            },
            ValueError,
            "non-negative",
        ),
        (
            {"input_tokens": [1], "output_tokens": [1], "price": object()},
            TypeError,
            "price_per_million_input_tokens",
        ),
        ({"input_tokens": [1], "output_tokens": [1], "num_threads": 0}, ValueError, "num_threads"),
    ],
)
def test_bad_input(kwargs, error, match):
    kwargs = {"model": "Llama-3.1-70B", "gpu": "H200", **kwargs}
    with pytest.raises(error, match=match):
        estimate(**kwargs)


def test_integral_floats_and_other_integer_types_are_counts():
    a = estimate(
        np.array([10.0, 20.0]),
        np.array([3, 4], dtype=np.uint16),
        model="Llama-2-7B",
        gpu="A100-40GB",
    )
    b = estimate([10, 20], [3, 4], model="Llama-2-7B", gpu="A100-40GB")
    assert np.array_equal(a.prefill_flops, b.prefill_flops)


def test_unknown_names_suggest_close_matches():
    with pytest.raises(KeyError, match=r"unknown model 'llama-3.1-7b'; did you mean Llama-3.1"):
        estimate([1], [1], model="llama-3.1-7b", gpu="H100")
    with pytest.raises(UnknownPresetError, match=r"unknown GPU 'H101'; did you mean H100"):
        estimate([1], [1], model="Llama-2-7B", gpu="H101")


def test_fp8_weights_use_fp8_peak_where_the_gpu_has_one():
    h100 = estimate([4096], [1], model="DeepSeek-V3", gpu="H200", tensor_parallel=8)
    a100 = estimate([4096], [1], model="DeepSeek-V3", gpu="A100-80GB", tensor_parallel=16)
    assert h100.prefill_flops[0] == a100.prefill_flops[0]
    compute_bound = h100.prefill_flops[0] / (8 * 1979e12)
    assert h100.prefill_seconds[0] == pytest.approx(compute_bound)
    with pytest.raises(
        DoesNotFitError,
        match=r"DeepSeek-V3 does not fit on A100-80GB with "
        r"tensor_parallel=8: its weights take 79\.27",
    ):
        estimate([1], [1], model="DeepSeek-V3", gpu="A100-80GB", tensor_parallel=8)
    with pytest.raises(ValueError, match="no FP8 tensor cores"):
        estimate([1], [1], model="Llama-2-7B", gpu="A100-80GB", compute_dtype="fp8")


def test_moe_prefill_reads_more_experts_for_longer_prompts():
    short = estimate([1], [0], model="Mixtral-8x7B", gpu="H200")
    long = estimate([10_000], [0], model="Mixtral-8x7B", gpu="H200")
    spec = get_model("Mixtral-8x7B")
    expert_bytes = 32 * 8 * 3 * 4096 * 14336 * 2
    kv = 10_000 * spec.kv_cache_bytes_per_token()
    # One token reads 2 of 8 experts per layer; ten thousand read them all.
    assert long.prefill_bytes[0] - kv - short.prefill_bytes[
        0
    ] + spec.kv_cache_bytes_per_token() == pytest.approx(expert_bytes * (1 - 0.25), rel=1e-9)
    assert math.isfinite(long.prefill_seconds[0])


def test_decode_switches_from_compute_to_memory_bound_within_a_request():
    # A batch of 64 on a GPU with little compute: short contexts are compute-bound, and the
    # growing KV cache makes later steps memory-bound. The sum of the steps' maxima then
    # exceeds the larger of the two totals, and the closed form must still equal the loop.
    spec = ModelSpec(
        name="s",
        num_layers=2,
        hidden_size=64,
        num_attention_heads=4,
        num_kv_heads=4,
        head_dim=16,
        vocab_size=100,
        max_context=1 << 20,
        intermediate_size=128,
    )
    gpu = GpuSpec(
        name="g",
        memory_bytes=1 << 30,
        memory_bandwidth_bytes_per_second=1e9,
        bf16_flops_per_second=1e10,
    )
    result = estimate([10], [100], model=spec, gpu=gpu, decode_batch_size=64)
    # Totals over the steps: the batch's FLOPs, and the weights once plus 64 KV caches.
    compute = 64 * result.decode_flops[0] / 1e10
    memory = 64 * result.decode_bytes[0] / 1e9
    expected = estimate_one(spec, gpu, 10, 0, 100, batch=64)["decode_seconds"]
    assert result.decode_seconds[0] == pytest.approx(expected, rel=1e-12)
    assert result.decode_seconds[0] > 1.02 * max(compute, memory)
