"""Speed of the batched cost estimate, against the per-request Python reference and llm-analysis.

Every contestant's results are checked against tokenomix's on the same requests before it is
timed. Requests per second go to each benchmark's extra_info (`--benchmark-json`); the ratios
in BENCHMARKS.md divide them. Run: pytest bench/test_bench_cost.py --benchmark-only
"""

from __future__ import annotations

import logging
import pathlib
import sys
import warnings

import numpy as np
import pytest

from tokenomix.cost import estimate, get_gpu, get_model

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from cost_reference import QUANTITIES, estimate_one

NATIVE_REQUESTS = 1_000_000
REFERENCE_REQUESTS = 20
LLM_ANALYSIS_REQUESTS = 300

# The headline workload: Llama-3.1-70B on 4 H100s, prompts up to 8k tokens, half of them
# partly cached, answers up to 1k tokens, with prices.
HEADLINE = {
    "model": "Llama-3.1-70B",
    "gpu": "H100-SXM",
    "tensor_parallel": 4,
    "price_per_million_input_tokens": 0.6,
    "price_per_million_cached_input_tokens": 0.3,
    "price_per_million_output_tokens": 0.8,
}


def requests(n: int, max_input: int, max_output: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    inputs = rng.integers(1, max_input, n)
    outputs = rng.integers(0, max_output, n)
    cached = (inputs * rng.random(n) * (rng.random(n) < 0.5)).astype(np.int64)
    return inputs, cached, outputs


def record(benchmark, n: int) -> None:
    benchmark.extra_info["requests"] = n
    benchmark.extra_info["requests_per_second"] = n / benchmark.stats["mean"]


@pytest.mark.benchmark(group="cost-estimate")
def test_tokenomix_estimate(benchmark):
    inputs, cached, outputs = requests(NATIVE_REQUESTS, 8192, 1024)
    result = benchmark.pedantic(
        estimate,
        args=(inputs, outputs),
        kwargs={**HEADLINE, "cached_tokens": cached, "num_threads": 1},
        rounds=20,
        warmup_rounds=2,
    )
    record(benchmark, NATIVE_REQUESTS)
    # Parity on a sample, against the slow reference.
    spec, gpu = get_model(HEADLINE["model"]), get_gpu(HEADLINE["gpu"])
    for i in range(0, NATIVE_REQUESTS, NATIVE_REQUESTS // 5):
        expected = estimate_one(
            spec, gpu, int(inputs[i]), int(cached[i]), int(outputs[i]), tp=4, prices=(0.6, 0.3, 0.8)
        )
        for name in QUANTITIES:
            assert getattr(result, name)[i] == pytest.approx(expected[name], rel=1e-9)


@pytest.mark.benchmark(group="cost-estimate")
def test_python_reference(benchmark):
    inputs, cached, outputs = requests(REFERENCE_REQUESTS, 8192, 1024)
    spec, gpu = get_model(HEADLINE["model"]), get_gpu(HEADLINE["gpu"])

    def run():
        return [
            estimate_one(
                spec,
                gpu,
                int(inputs[i]),
                int(cached[i]),
                int(outputs[i]),
                tp=4,
                prices=(0.6, 0.3, 0.8),
            )
            for i in range(REFERENCE_REQUESTS)
        ]

    expected = benchmark.pedantic(run, rounds=1, iterations=1)
    record(benchmark, REFERENCE_REQUESTS)
    result = estimate(inputs, outputs, cached_tokens=cached, **HEADLINE)
    for i, row in enumerate(expected):
        for name in QUANTITIES:
            assert getattr(result, name)[i] == pytest.approx(row[name], rel=1e-9)


def llm_analysis():
    """llm-analysis (PyPI llm-analysis 0.2.x) set up offline for Llama-2-7B on an A100 80GB."""
    with warnings.catch_warnings():
        # transformers, which it imports, warns about deprecated modules on import.
        warnings.simplefilter("ignore")
        try:
            from llm_analysis.analysis import LLMAnalysis
            from llm_analysis.config import (
                ParallelismConfig,
                get_dtype_config_by_name,
                get_gpu_config_by_name,
                get_model_config_by_name,
            )
            from llm_analysis.logger import logger
        except ImportError as error:
            pytest.skip(
                f"llm-analysis is not installed ({error}); "
                "pip install '.[bench-llm-analysis]' to race it"
            )
    logger.setLevel(logging.ERROR)
    # Its bundled config of Llama-2-7B: read from the package, never from the Hub.
    return LLMAnalysis(
        get_model_config_by_name("NousResearch_Llama-2-7b-hf"),
        get_gpu_config_by_name("a100-sxm-80gb"),
        get_dtype_config_by_name("w16a16e16"),
        ParallelismConfig(tp_size=1),
    )


@pytest.mark.benchmark(group="cost-vs-llm-analysis")
def test_llm_analysis(benchmark):
    analysis = llm_analysis()
    # llm-analysis refuses prompts longer than the model's 4096 tokens.
    inputs, _, outputs = requests(LLM_ANALYSIS_REQUESTS, 3072, 1024, seed=1)

    def run():
        return [
            analysis.inference(
                batch_size_per_gpu=1, seq_len=int(inputs[i]), num_tokens_to_generate=int(outputs[i])
            )
            for i in range(LLM_ANALYSIS_REQUESTS)
        ]

    summaries = benchmark.pedantic(run, rounds=3, iterations=1)
    record(benchmark, LLM_ANALYSIS_REQUESTS)
    # Comparable: the KV cache at the end, 2 x layers x heads x head_dim x 2 bytes x tokens.
    # Not comparable: its FLOPs assume a two-matrix 4h feed-forward block and full (not
    # causal) attention, its latency adds fixed efficiencies.
    ours = estimate(inputs, outputs, model="Llama-2-7B", gpu="A100-80GB")
    theirs = [s["kv_cache_memory_per_gpu"] for s in summaries]
    assert np.array_equal(ours.kv_cache_bytes, np.asarray(theirs, dtype=np.int64))


@pytest.mark.benchmark(group="cost-vs-llm-analysis")
def test_tokenomix_estimate_llama_2_7b(benchmark):
    inputs, _, outputs = requests(NATIVE_REQUESTS, 3072, 1024, seed=1)
    result = benchmark.pedantic(
        estimate,
        args=(inputs, outputs),
        kwargs={"model": "Llama-2-7B", "gpu": "A100-80GB", "num_threads": 1},
        rounds=20,
        warmup_rounds=2,
    )
    record(benchmark, NATIVE_REQUESTS)
    assert np.array_equal(result.kv_cache_bytes, 524_288 * (inputs + outputs))
