"""The figures of a GPU that a roofline estimate and a KV-cache budget need."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

GIB = 1 << 30


@dataclasses.dataclass(frozen=True)
class GpuSpec:
    """One GPU: memory, bandwidth and dense tensor-core peaks.

    Build one with `tokenomix.cost.get_gpu(name)` for a preset, or directly:
    `GpuSpec(name="mine", memory_bytes=..., memory_bandwidth_bytes_per_second=...,
    bf16_flops_per_second=...)`.
    """

    name: str
    # Memory a program sees on the device (what vLLM multiplies by gpu_memory_utilization).
    memory_bytes: int
    memory_bandwidth_bytes_per_second: float
    bf16_flops_per_second: float
    # None where the GPU has no FP8 tensor cores.
    fp8_flops_per_second: float | None = None
    # The capacity the datasheet names, in GB.
    nominal_memory_gb: float | None = None
    description: str = ""
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for field in ("memory_bytes", "memory_bandwidth_bytes_per_second", "bf16_flops_per_second"):
            value = getattr(self, field)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"GPU {self.name!r}: {field} must be a positive number, got {value!r}"
                )
        fp8 = self.fp8_flops_per_second
        if fp8 is not None and (not isinstance(fp8, int | float) or fp8 <= 0):
            raise ValueError(
                f"GPU {self.name!r}: fp8_flops_per_second must be positive or None, got {fp8!r}"
            )

    def flops_per_second(self, compute_dtype: str) -> float:
        """Dense peak FLOP/s for "bf16" or "fp8" matmuls.

        Raises:
            ValueError: the GPU has no FP8 tensor cores, or the dtype is neither.
        """
        kind = {"bfloat16": "bf16", "float16": "bf16", "fp16": "bf16"}.get(
            compute_dtype, compute_dtype
        )
        if kind == "bf16":  # FP16 and BF16 tensor cores have the same peak on these GPUs
            return self.bf16_flops_per_second
        if kind in ("fp8", "fp8_e4m3", "fp8_e5m2"):
            if self.fp8_flops_per_second is None:
                raise ValueError(f"{self.name} has no FP8 tensor cores; use compute_dtype='bf16'")
            return self.fp8_flops_per_second
        raise ValueError(f"compute_dtype must be 'bf16' or 'fp8', got {compute_dtype!r}")

    @classmethod
    def from_preset(cls, key: str, entry: Mapping[str, Any]) -> GpuSpec:
        """Build a spec from one entry of the bundled gpus.json."""
        nominal = entry["memory_gb"]["value"]
        runtime = entry["runtime_memory"]
        memory = round(runtime["gib"] * GIB) if runtime["gib"] is not None else nominal * 10**9
        return cls(
            name=key,
            memory_bytes=int(memory),
            memory_bandwidth_bytes_per_second=entry["memory_bandwidth"]["bytes_per_second"],
            bf16_flops_per_second=entry["bf16_flops"]["per_second"],
            fp8_flops_per_second=entry["fp8_flops"]["per_second"],
            nominal_memory_gb=nominal,
            description=entry["name"],
            sources={
                "nominal_memory_gb": entry["memory_gb"]["source"],
                "memory_bytes": runtime["source"],
                "memory_bandwidth_bytes_per_second": entry["memory_bandwidth"]["source"],
                "bf16_flops_per_second": entry["bf16_flops"]["source"],
                "fp8_flops_per_second": entry["fp8_flops"]["source"],
            },
        )
