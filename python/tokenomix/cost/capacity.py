"""How many sequences of a given length fit in the KV cache of a GPU, under vLLM's rules.

vLLM (V1 engine) sizes its KV cache at start-up:

1. memory it may use = total GPU memory x gpu_memory_utilization, less the weights, the peak
   activation memory of a profiling pass and the memory outside PyTorch (CUDA context, NCCL);
   vllm/v1/worker/gpu_worker.py, determine_available_memory. tokenomix cannot profile, so
   activations and non-PyTorch memory are one figure, `overhead_bytes`.
2. blocks = that memory // (page bytes x layers per KV-cache group), a page being one layer's
   KV of `block_size` tokens on one GPU; vllm/v1/core/kv_cache_utils.py, get_num_blocks and
   vllm/v1/kv_cache_interface.py, page_size_bytes. Models mixing full and sliding-window
   layers keep one group per kind of `group size` layers (_get_kv_cache_groups_uniform_page_size).
3. a request of L tokens needs cdiv(L, block_size) blocks in each full-attention group and
   cdiv(min(window - 1 + max_num_batched_tokens, L), block_size) + 1 in each sliding one
   (FullAttentionSpec and SlidingWindowSpec.max_memory_usage_bytes); vLLM logs
   blocks / blocks per request as "Maximum concurrency for L tokens per request: X.XXx"
   (get_max_concurrency_for_kv_cache_config).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tokenomix.cost.gpu import GIB, GpuSpec
from tokenomix.cost.model import FULL, SLIDING, ModelSpec, check_tensor_parallel
from tokenomix.cost.params import FIT_ADVICE, DoesNotFitError, weight_bytes
from tokenomix.cost.presets import get_gpu, get_model

# Activation peak plus non-PyTorch memory that vLLM subtracts before sizing the KV cache.
# vLLM logs 1.79 GiB non-torch + 1.26 GiB activation peak for Llama-3-8B on one H100
# (github.com/vllm-project/vllm/pull/10511) and 0.35 + 2.07 GiB for Llama-3.1-8B on an
# RTX 3090 at 20,000 tokens (issue 10517); 3 GiB is of that order. Pass your own log's figure.
DEFAULT_OVERHEAD_BYTES = 3 * GIB

# vLLM's defaults: gpu_memory_utilization 0.92 (0.9 in releases before late 2025) and block
# size 16 (CacheConfig in vllm/config/cache.py). max_num_batched_tokens for the OpenAI server
# is 8192 on GPUs of 70 GiB or more other than the A100, else 2048
# (EngineArgs.get_batch_defaults in vllm/engine/arg_utils.py).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
DEFAULT_BLOCK_SIZE = 16


@dataclasses.dataclass(frozen=True)
class Capacity:
    """KV-cache capacity of one GPU of a tensor-parallel group, per context length."""

    model: ModelSpec
    gpu: GpuSpec
    tensor_parallel: int
    gpu_memory_bytes: int
    weight_bytes_per_gpu: float
    kv_cache_memory_bytes: int
    num_blocks: int
    block_size: int
    # vLLM's "GPU KV cache size: N tokens".
    kv_cache_tokens: int
    context_lengths: np.ndarray
    blocks_per_sequence: np.ndarray
    # vLLM's "Maximum concurrency" (blocks / blocks per sequence), and its whole part.
    max_concurrency: np.ndarray
    concurrent_sequences: np.ndarray


def capacity(
    model: str | ModelSpec | Mapping[str, Any],
    gpu: str | GpuSpec,
    context_lengths: Sequence[int] | np.ndarray,
    *,
    tensor_parallel: int = 1,
    kv_dtype: str | None = None,
    weight_dtype: str | None = None,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    overhead_bytes: float = DEFAULT_OVERHEAD_BYTES,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_num_batched_tokens: int | None = None,
    gpu_memory_bytes: int | None = None,
    kv_cache_memory_bytes: int | None = None,
) -> Capacity:
    """Return how many sequences of each context length fit, as vLLM would size its cache.

    Args:
        model, gpu: preset names or specs.
        context_lengths: tokens per sequence (prompt plus output), one row per length.
        tensor_parallel: GPUs sharing the model; figures are per GPU of the group.
        kv_dtype, weight_dtype: data types of the KV cache and of the weight matrices.
        gpu_memory_utilization: vLLM's fraction of GPU memory it may use.
        overhead_bytes: activation peak plus non-PyTorch memory per GPU (vLLM's log shows
            both at start-up).
        block_size: tokens per KV-cache block.
        max_num_batched_tokens: vLLM's scheduler budget, which sizes sliding-window
            reservations; None for vLLM's default on this GPU.
        gpu_memory_bytes: the GPU's total memory, if not the preset's.
        kv_cache_memory_bytes: KV memory per GPU as vLLM logged it ("Available KV cache
            memory"), to skip the memory arithmetic.

    Raises:
        DoesNotFitError: (a ValueError) the weights and overhead exceed the memory.
        ValueError: an option out of range or a context length below 1.
    """
    spec = get_model(model).with_dtypes(weight_dtype)
    hardware = get_gpu(gpu)
    check_tensor_parallel(spec, tensor_parallel)
    lengths = _lengths(context_lengths)
    total = int(gpu_memory_bytes if gpu_memory_bytes is not None else hardware.memory_bytes)
    if max_num_batched_tokens is None:
        large = total >= 70 * GIB and "a100" not in hardware.name.lower()
        max_num_batched_tokens = 8192 if large else 2048
    _check(gpu_memory_utilization, block_size, max_num_batched_tokens, overhead_bytes)

    weights = weight_bytes(spec, tensor_parallel).per_gpu
    if kv_cache_memory_bytes is None:
        available = int(total * gpu_memory_utilization - weights - overhead_bytes)
        if available <= 0:
            raise DoesNotFitError(
                _does_not_fit(
                    spec,
                    hardware,
                    tensor_parallel,
                    total,
                    weights,
                    gpu_memory_utilization,
                    overhead_bytes,
                )
            )
    else:
        available = int(kv_cache_memory_bytes)
        if available <= 0:
            raise ValueError(f"kv_cache_memory_bytes must be positive, got {available}")

    page = (
        block_size
        * spec.kv_cache_bytes_per_token_layer(kv_dtype=kv_dtype, tensor_parallel=tensor_parallel)
        // tensor_parallel
    )
    groups = kv_cache_groups(spec)
    group_size = max(size for _, size in groups)
    num_blocks = available // page // group_size
    per_sequence = np.zeros(len(lengths), dtype=np.int64)
    for kind, _ in groups:
        per_sequence += _blocks_per_sequence(
            kind, lengths, spec.sliding_window, block_size, max_num_batched_tokens
        )
    concurrency = num_blocks / per_sequence
    return Capacity(
        model=spec,
        gpu=hardware,
        tensor_parallel=tensor_parallel,
        gpu_memory_bytes=total,
        weight_bytes_per_gpu=weights,
        kv_cache_memory_bytes=available,
        num_blocks=int(num_blocks),
        block_size=block_size,
        # vllm/v1/core/kv_cache_utils.py, _report_kv_cache_config: blocks per group x block_size
        kv_cache_tokens=int(num_blocks // len(groups) * block_size),
        context_lengths=lengths,
        blocks_per_sequence=per_sequence,
        max_concurrency=concurrency,
        concurrent_sequences=np.floor(concurrency).astype(np.int64),
    )


def kv_cache_groups(spec: ModelSpec) -> list[tuple[str, int]]:
    """Return vLLM's KV-cache groups of `spec` as (layer kind, layers in the group).

    One group when all layers are alike. Otherwise every kind is cut into groups of the
    smallest kind's layer count, or of the largest's when that is under 1.5 times the
    smallest (_get_kv_cache_groups_uniform_page_size); a short last group is padded.
    """
    counts = {kind: spec.layer_types.count(kind) for kind in (FULL, SLIDING)}
    counts = {kind: n for kind, n in counts.items() if n}
    if len(counts) == 1:
        ((kind, n),) = counts.items()
        return [(kind, n)]
    smallest, largest = min(counts.values()), max(counts.values())
    size = largest if largest < smallest * 1.5 else smallest
    return [(kind, size) for kind, n in counts.items() for _ in range(-(-n // size))]


def _blocks_per_sequence(
    kind: str, lengths: np.ndarray, window: int, block_size: int, max_num_batched_tokens: int
) -> np.ndarray:
    if kind == FULL:
        return -(-lengths // block_size)
    tokens = np.minimum(window - 1 + max_num_batched_tokens, lengths)
    return -(-tokens // block_size) + 1


def _lengths(values: Sequence[int] | np.ndarray) -> np.ndarray:
    from tokenomix.cost.estimate import token_counts

    lengths = token_counts("context_lengths", values)
    if len(lengths) == 0 or lengths.min() < 1:
        raise ValueError("context_lengths must hold at least one length, each at least 1 token")
    return lengths


def _check(utilization: float, block_size: int, batched: int, overhead: float) -> None:
    if not 0 < utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {utilization!r}")
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    if not isinstance(batched, int) or batched < 1:
        raise ValueError(f"max_num_batched_tokens must be a positive integer, got {batched!r}")
    if overhead < 0:
        raise ValueError(f"overhead_bytes must be non-negative, got {overhead!r}")


def _does_not_fit(
    spec: ModelSpec,
    gpu: GpuSpec,
    tp: int,
    total: int,
    weights: float,
    utilization: float,
    overhead: float,
) -> str:
    return (
        f"{spec.name} does not fit on {gpu.name} with tensor_parallel={tp}: its weights take "
        f"{weights / GIB:.2f} GiB per GPU and the overhead {overhead / GIB:.2f} GiB, but "
        f"{utilization:g} of {total / GIB:.2f} GiB is {total * utilization / GIB:.2f} GiB; "
        f"{FIT_ADVICE}"
    )
