"""KV-cache capacity under vLLM's rules, against figures vLLM logged."""

from __future__ import annotations

import numpy as np
import pytest

from tokenomix.cost import DoesNotFitError, ModelSpec, capacity, get_model, kv_cache_groups

GIB = 1 << 30
MIB = 1 << 20


def blocks_within_rounding(model, gpu, logged_gib: float, **kwargs) -> range:
    """Block counts that KV memory logged as `logged_gib` (two decimals) can give."""
    low = capacity(
        model, gpu, [1], kv_cache_memory_bytes=int((logged_gib - 0.005) * GIB), **kwargs
    ).num_blocks
    high = capacity(
        model, gpu, [1], kv_cache_memory_bytes=int((logged_gib + 0.005) * GIB), **kwargs
    ).num_blocks
    return range(low, high + 1)


def test_vllm_llama_3_1_8b_at_20000_tokens():
    # github.com/vllm-project/vllm/issues/10517 (RTX 3090, Llama-3.1-8B-Instruct):
    #   kv_cache_size=3.81GiB ... GPU blocks: 1952 ... Maximum concurrency for 20000 tokens
    #   per request: 1.56x
    assert 1952 in blocks_within_rounding("Llama-3.1-8B", "L4", 3.81)
    # A block is 16 tokens x 131,072 bytes = 2 MiB: 1952 blocks are 3.8125 GiB.
    c = capacity("Llama-3.1-8B", "L4", [20000], kv_cache_memory_bytes=1952 * 2 * MIB)
    assert c.num_blocks == 1952
    assert c.kv_cache_tokens == 31_232
    assert c.blocks_per_sequence[0] == 1250
    assert f"{c.max_concurrency[0]:.2f}" == "1.56"
    assert c.concurrent_sequences[0] == 1


def test_vllm_llama_3_1_8b_at_29000_tokens():
    # The same issue: kv_cache_size=2.89GiB, GPU blocks: 1478, "Maximum concurrency for 29000
    # tokens per request: 0.82x", "maximum number of tokens that can be stored in KV cache
    # (23648)".
    assert 1478 in blocks_within_rounding("Llama-3.1-8B", "L4", 2.89)
    c = capacity("Llama-3.1-8B", "L4", [29000], kv_cache_memory_bytes=1478 * 2 * MIB)
    assert c.kv_cache_tokens == 23_648
    assert f"{c.max_concurrency[0]:.2f}" == "0.82"
    assert c.concurrent_sequences[0] == 0


def test_vllm_llama_3_1_70b_at_2048_tokens():
    # github.com/vllm-project/vllm/pull/12569 (Llama-3.1-70B W8A8, bf16 KV cache):
    #   # GPU blocks: 1381 / Maximum concurrency for 2048 tokens per request: 10.79x
    page = 16 * 327_680
    c = capacity("Llama-3.1-70B", "H100", [2048], kv_cache_memory_bytes=1381 * page)
    assert c.num_blocks == 1381
    assert f"{c.max_concurrency[0]:.2f}" == "10.79"


def test_vllm_llama_3_2_11b_vision_blocks():
    # github.com/vllm-project/vllm/pull/12126 (H100): "the rest of the memory reserved for KV
    # Cache is 14.65GiB" and "# CUDA blocks: 6001", for a model given as a config dict.
    config = {
        "num_hidden_layers": 40,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "torch_dtype": "bfloat16",
    }
    assert 6001 in blocks_within_rounding(config, "H100", 14.65)


def test_vllm_memory_arithmetic_llama_3_8b_on_h100():
    # github.com/vllm-project/vllm/pull/10511 (Meta-Llama-3-8B, the architecture of
    # Llama-3.1-8B): total_gpu_memory 79.22GiB, gpu_memory_utilization 0.90, model weights
    # take 14.96GiB, non_torch_memory 1.79GiB, PyTorch activation peak memory 1.26GiB,
    # available_kv_cache_memory 53.29GiB; with -tp 2 the weights take 7.48GiB.
    c = capacity(
        "Llama-3.1-8B",
        "H100-SXM",
        [8192],
        gpu_memory_utilization=0.90,
        overhead_bytes=(1.79 + 1.26) * GIB,
    )
    assert c.gpu_memory_bytes / GIB == pytest.approx(79.22, abs=0.005)
    assert round(c.weight_bytes_per_gpu / GIB, 2) == 14.96
    assert round(c.kv_cache_memory_bytes / GIB, 2) == 53.29
    c2 = capacity(
        "Llama-3.1-8B", "H100-SXM", [8192], tensor_parallel=2, gpu_memory_utilization=0.90
    )
    assert round(c2.weight_bytes_per_gpu / GIB, 2) == 7.48


def test_llama_70b_on_four_h100_worked_by_hand():
    c = capacity(
        "Llama-3.1-70B",
        "H100-SXM",
        [4096, 8192, 131072],
        tensor_parallel=4,
        gpu_memory_utilization=0.9,
        overhead_bytes=3 * GIB,
    )
    # Weights: 70,553,706,496 bf16 parameters split 4 ways, but the 161 norms of 8192
    # (two per layer, one final) on every GPU.
    norms = 161 * 8192
    weights = (70_553_706_496 - norms) * 2 / 4 + norms * 2
    assert c.weight_bytes_per_gpu == weights
    available = int(round(79.22 * GIB) * 0.9 - weights - 3 * GIB)
    assert c.kv_cache_memory_bytes == available
    # Each GPU holds 2 of the 8 KV heads: a block is 16 tokens x 2 (K, V) x 2 heads x 128
    # x 2 bytes = 16 KiB per layer, 80 layers.
    page = 16 * 2 * 2 * 128 * 2
    assert c.num_blocks == available // page // 80
    assert list(c.blocks_per_sequence) == [256, 512, 8192]
    assert c.max_concurrency[1] == c.num_blocks / 512
    assert list(c.concurrent_sequences) == [
        c.num_blocks // 256,
        c.num_blocks // 512,
        c.num_blocks // 8192,
    ]


def test_does_not_fit():
    with pytest.raises(
        DoesNotFitError,
        match=r"Llama-3.1-70B does not fit on H100-SXM with "
        r"tensor_parallel=1.*raise tensor_parallel",
    ):
        capacity("Llama-3.1-70B", "H100", [4096])
    with pytest.raises(ValueError, match=r"weights take 626\.77 GiB"):
        capacity("DeepSeek-V3", "H100", [4096])
    # fp8 weights make the 70B fit on one 141 GB GPU.
    assert capacity("Llama-3.1-70B", "H200", [4096], weight_dtype="fp8").num_blocks > 0


def test_hybrid_groups_follow_vllm():
    # vLLM's own examples (_get_kv_cache_groups_uniform_page_size): 10 full and 20 sliding
    # layers make 3 groups of 10; 12 sliding and 13 full (gpt-oss-20b with a drafter) pad
    # to 2 groups of 13.
    def spec(full: int, sliding: int) -> ModelSpec:
        return ModelSpec(
            name="h",
            num_layers=full + sliding,
            hidden_size=64,
            num_attention_heads=4,
            num_kv_heads=4,
            head_dim=16,
            vocab_size=10,
            max_context=1000,
            intermediate_size=8,
            sliding_window=128,
            layer_types=("full",) * full + ("sliding",) * sliding,
        )

    assert kv_cache_groups(spec(10, 20)) == [("full", 10), ("sliding", 10), ("sliding", 10)]
    assert kv_cache_groups(spec(13, 12)) == [("full", 13), ("sliding", 13)]
    assert kv_cache_groups(get_model("Llama-3.1-8B")) == [("full", 32)]


def test_gpt_oss_blocks_per_sequence():
    c = capacity("gpt-oss-20b", "H100", [100, 64_000], max_num_batched_tokens=8192)
    # Full group: cdiv(L, 16). Sliding group: cdiv(min(128 - 1 + 8192, L), 16) + 1.
    assert list(c.blocks_per_sequence) == [7 + 7 + 1, 4000 + 520 + 1]
    # A block spans 12 layers of 16 tokens x 2 x 8 heads x 64 x 2 bytes.
    assert c.num_blocks == c.kv_cache_memory_bytes // (16 * 2 * 8 * 64 * 2) // 12
    assert c.kv_cache_tokens == c.num_blocks // 2 * 16
    # vLLM's default budget on an 80 GB H100 is 8192 tokens, on an A100 2048.
    assert np.array_equal(
        capacity("gpt-oss-20b", "H100", [64_000]).blocks_per_sequence, c.blocks_per_sequence[1:]
    )
    a100 = capacity("gpt-oss-20b", "A100-80GB", [64_000])
    assert a100.blocks_per_sequence[0] == 4000 + 136 + 1


def test_mistral_window_caps_blocks():
    c = capacity("Mistral-7B-v0.1", "A100-80GB", [1000, 32768], max_num_batched_tokens=2048)
    assert list(c.blocks_per_sequence) == [63 + 1, 384 + 1]  # min(4095 + 2048, L) tokens


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"context_lengths": [0]}, "at least 1 token"),
        ({"context_lengths": []}, "at least one length"),
        ({"gpu_memory_utilization": 1.5}, r"gpu_memory_utilization must be in \(0, 1\]"),
        ({"block_size": 0}, "block_size must be a positive integer"),
        ({"overhead_bytes": -1}, "overhead_bytes must be non-negative"),
        ({"kv_cache_memory_bytes": 0}, "kv_cache_memory_bytes must be positive"),
        ({"tensor_parallel": 5}, "cannot share evenly"),
    ],
)
def test_bad_capacity_input(kwargs, match):
    kwargs = {"context_lengths": [4096], **kwargs}
    with pytest.raises(ValueError, match=match):
        capacity("Llama-3.1-8B", "H100", **kwargs)
