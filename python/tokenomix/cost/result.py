"""The result of an estimate: one array per quantity, and its summary; and the prices used."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenomix.cost.estimate import ServingOptions
    from tokenomix.cost.gpu import GpuSpec
    from tokenomix.cost.model import ModelSpec

_PRICE_FIELDS = (
    "price_per_million_input_tokens",
    "price_per_million_cached_input_tokens",
    "price_per_million_output_tokens",
)

# Per-request quantities that summary() gives percentiles of.
_DISTRIBUTIONS = (
    "input_tokens",
    "output_tokens",
    "kv_cache_bytes",
    "prefill_seconds",
    "decode_seconds",
    "cost_usd",
)


@dataclasses.dataclass(frozen=True)
class Prices:
    """Dollars per million input, cached-input and output tokens."""

    input: float
    cached_input: float
    output: float

    @classmethod
    def resolve(
        cls, price: Any, input: float | None, cached_input: float | None, output: float | None
    ) -> Prices | None:
        """Combine a price object with explicit numbers (which win); None when neither.

        Raises:
            TypeError: `price` lacks one of the three attributes.
            ValueError: a price is negative or not finite, or only some prices are given.
        """
        given = [input, cached_input, output]
        if price is not None:
            for i, field in enumerate(_PRICE_FIELDS):
                if not hasattr(price, field):
                    raise TypeError(
                        f"price must have the attribute {field!r}; {type(price).__name__} has not"
                    )
                if given[i] is None:
                    given[i] = getattr(price, field)
        if all(value is None for value in given):
            return None
        if given[0] is None or given[2] is None:
            raise ValueError(
                "give both price_per_million_input_tokens and "
                "price_per_million_output_tokens, or neither"
            )
        if given[1] is None:
            given[1] = given[0]  # no cache discount published: cached input at full price
        for field, value in zip(_PRICE_FIELDS, given, strict=True):
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{field} must be a non-negative number, got {value!r}")
        return cls(float(given[0]), float(given[1]), float(given[2]))


@dataclasses.dataclass(frozen=True, eq=False)
class CostEstimate:
    """Per-request cost estimates: every array has one element per request.

    Attributes:
        prefill_flops, decode_flops: FLOPs of the prefill pass and of all decode steps.
        kv_cache_bytes: KV cache the request holds at the end, over all GPUs of the group.
        prefill_bytes, decode_bytes: bytes moved between memory and the GPU's cores; decode
            weights are shared among `decode_batch_size` sequences.
        prefill_seconds, decode_seconds: roofline time of prefill and of decoding.
        cost_usd: dollars at the prices given, or None without prices.
    """

    model: ModelSpec
    gpu: GpuSpec
    options: ServingOptions
    input_tokens: np.ndarray
    cached_tokens: np.ndarray
    output_tokens: np.ndarray
    prefill_flops: np.ndarray
    decode_flops: np.ndarray
    kv_cache_bytes: np.ndarray
    prefill_bytes: np.ndarray
    decode_bytes: np.ndarray
    prefill_seconds: np.ndarray
    decode_seconds: np.ndarray
    cost_usd: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.input_tokens)

    @property
    def total_flops(self) -> np.ndarray:
        return self.prefill_flops + self.decode_flops

    @property
    def seconds(self) -> np.ndarray:
        """Roofline time of each request, prefill plus decode."""
        return self.prefill_seconds + self.decode_seconds

    @property
    def decode_steps(self) -> np.ndarray:
        """Decode steps per request: the first output token comes from prefill."""
        return np.maximum(self.output_tokens - 1, 0)

    def summary(self) -> dict[str, Any]:
        """Return totals and nearest-rank percentiles (P50, P95, P99, max) as plain numbers."""
        steps = int(self.decode_steps.sum())
        totals = {
            "input_tokens": int(self.input_tokens.sum()),
            "cached_input_tokens": int(self.cached_tokens.sum()),
            "output_tokens": int(self.output_tokens.sum()),
            "prefill_flops": float(self.prefill_flops.sum()),
            "decode_flops": float(self.decode_flops.sum()),
            "prefill_bytes": float(self.prefill_bytes.sum()),
            "decode_bytes": float(self.decode_bytes.sum()),
            "prefill_seconds": float(self.prefill_seconds.sum()),
            "decode_seconds": float(self.decode_seconds.sum()),
            "cost_usd": None if self.cost_usd is None else float(self.cost_usd.sum()),
        }
        return {
            "requests": len(self),
            "model": self.model.name,
            "gpu": self.gpu.name,
            "tensor_parallel": self.options.tensor_parallel,
            "totals": totals,
            "decode_steps": steps,
            "mean_decode_bytes_per_step": float(self.decode_bytes.sum()) / steps if steps else 0.0,
            "percentiles": {
                name: percentiles(getattr(self, name))
                for name in _DISTRIBUTIONS
                if getattr(self, name) is not None
            },
        }


def percentiles(values: np.ndarray) -> dict[str, float] | None:
    """Mean, nearest-rank P50/P95/P99 (NumPy's inverted_cdf) and max; None when empty."""
    if len(values) == 0:
        return None
    p50, p95, p99 = np.percentile(values, [50, 95, 99], method="inverted_cdf")
    return {
        "mean": float(np.mean(values)),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(np.max(values)),
    }
