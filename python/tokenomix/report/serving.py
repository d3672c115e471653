"""What serving a log's traffic on one model and GPU would take: the cost estimator applied
to the recounted requests.

Each request's recounted input tokens, its cached input tokens (the billed `cached_tokens`
where the log reports usage, at most the recounted input; else none) and its output tokens
(none where the log carries no output) go through `tokenomix.cost.estimate` batch by batch,
as the recount streams. Kept: token and FLOP and time totals, an exact histogram of the KV
cache each request holds at its end and of its context (input plus output), and, for the
requests with a timestamp, arrival, KV bytes and duration (24 bytes a request) for the
in-flight sweep at the end. Concurrency is vLLM's, at the log's P50 and P95 context.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import Any

import numpy as np

from tokenomix import cost
from tokenomix.analytics.histogram import Histogram
from tokenomix.cost.capacity import DEFAULT_GPU_MEMORY_UTILIZATION, DEFAULT_OVERHEAD_BYTES
from tokenomix.logs.batch import MISSING, RequestBatch

#: The per-request quantities of the estimate kept as Parquet columns, in this order.
REQUEST_COLUMNS = (
    "prefill_flops",
    "decode_flops",
    "prefill_seconds",
    "decode_seconds",
    "kv_cache_bytes",
)

_TOTALS = ("prefill_flops", "decode_flops", "prefill_seconds", "decode_seconds")

# The percentiles of context at which the concurrency that fits is reported.
_CAPACITY_AT = (50, 95)


@dataclasses.dataclass(frozen=True)
class ServingPlan:
    """The model, GPU and settings to estimate serving the log with (checked when made)."""

    model: cost.ModelSpec
    gpu: cost.GpuSpec
    tensor_parallel: int = 1
    kv_dtype: str | None = None

    @classmethod
    def create(
        cls,
        model: str | cost.ModelSpec,
        gpu: str | cost.GpuSpec,
        *,
        tensor_parallel: int = 1,
        kv_dtype: str | None = None,
    ) -> ServingPlan:
        """Resolve the model (a preset name, or a path to a Hugging Face config.json) and the
        GPU, and check that the model fits.

        Raises:
            KeyError: an unknown model or GPU name (the message lists close matches).
            ValueError: a bad tensor-parallel degree or data type; the model does not fit.
            FileNotFoundError: a config.json that does not exist.
        """
        if isinstance(model, str) and model.endswith(".json"):
            spec = cost.ModelSpec.from_config(model)
        else:
            spec = cost.get_model(model)
        plan = cls(spec, cost.get_gpu(gpu), tensor_parallel, kv_dtype)
        plan.estimate(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        plan.capacity([1])
        return plan

    def estimate(
        self, input_tokens: np.ndarray, cached_tokens: np.ndarray, output_tokens: np.ndarray
    ) -> cost.CostEstimate:
        """Estimate every request (unloaded roofline at peak rates, one sequence decoding)."""
        return cost.estimate(
            input_tokens,
            output_tokens,
            cached_tokens=cached_tokens,
            model=self.model,
            gpu=self.gpu,
            tensor_parallel=self.tensor_parallel,
            kv_dtype=self.kv_dtype,
        )

    def capacity(self, context_lengths: list[int]) -> cost.Capacity:
        """Return vLLM's capacity at these context lengths, with vLLM's default settings."""
        return cost.capacity(
            self.model,
            self.gpu,
            context_lengths,
            tensor_parallel=self.tensor_parallel,
            kv_dtype=self.kv_dtype,
        )


def request_tokens(batch: RequestBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the input, cached input and output tokens a batch's requests are served with."""
    inputs = batch.input_tokens
    billed_cached = batch.usage[:, 1]
    cached = np.where(billed_cached == MISSING, 0, np.minimum(billed_cached, inputs))
    outputs = np.where(batch.has_output, batch.output_tokens, 0)
    return inputs, cached, outputs


class ServingStats:
    """The estimates of every request, gathered batch by batch."""

    def __init__(self, plan: ServingPlan) -> None:
        self.plan = plan
        self.requests = 0
        self.without_output = 0
        self.over_max_context = 0
        self.tokens = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0}
        self.totals = dict.fromkeys(_TOTALS, 0.0)
        self.kv_cache_bytes = Histogram()
        self.context_tokens = Histogram()
        self._arrivals: list[np.ndarray] = []
        self._kv: list[np.ndarray] = []
        self._durations: list[np.ndarray] = []

    def estimate(self, batch: RequestBatch) -> cost.CostEstimate:
        """Estimate a batch's requests, add them to the statistics, and return the estimate."""
        inputs, cached, outputs = request_tokens(batch)
        result = self.plan.estimate(inputs, cached, outputs)
        self.requests += len(batch)
        self.without_output += int((~batch.has_output).sum())
        context = inputs + outputs
        self.over_max_context += int((context > self.plan.model.max_context).sum())
        self.tokens["input_tokens"] += int(inputs.sum())
        self.tokens["cached_input_tokens"] += int(cached.sum())
        self.tokens["output_tokens"] += int(outputs.sum())
        for name in _TOTALS:
            self.totals[name] += float(getattr(result, name).sum())
        self.kv_cache_bytes.add(result.kv_cache_bytes)
        self.context_tokens.add(context)
        dated = ~np.isnan(batch.timestamps)
        if dated.any():
            self._arrivals.append(batch.timestamps[dated])
            self._kv.append(result.kv_cache_bytes[dated])
            self._durations.append(result.seconds[dated])
        return result

    def document(self) -> dict[str, Any]:
        """Return the `serving` section of the JSON report."""
        plan = self.plan
        return {
            "model": plan.model.name,
            "gpu": plan.gpu.name,
            "tensor_parallel": plan.tensor_parallel,
            "kv_dtype": plan.kv_dtype or plan.model.dtype,
            "max_context": plan.model.max_context,
            "settings": {
                "cached_tokens": "billed usage",
                "decode_batch_size": 1,
                "compute_efficiency": 1.0,
                "bandwidth_efficiency": 1.0,
                "gpu_memory_utilization": DEFAULT_GPU_MEMORY_UTILIZATION,
                "overhead_bytes": DEFAULT_OVERHEAD_BYTES,
            },
            "requests": self.requests,
            "requests_without_output": self.without_output,
            "requests_over_max_context": self.over_max_context,
            "totals": {**self.tokens, **self.totals},
            "kv_cache_bytes": self.kv_cache_bytes.summary(),
            "context_tokens": self.context_tokens.summary(),
            "capacity": self._capacity(),
            "in_flight": self._in_flight(),
        }

    def _capacity(self) -> dict[str, Any] | None:
        if self.context_tokens.count == 0:
            return None
        lengths = [max(1, self.context_tokens.percentile(q) or 1) for q in _CAPACITY_AT]
        room = self.plan.capacity(lengths)
        return {
            "gpu_memory_bytes": room.gpu_memory_bytes,
            "weight_bytes_per_gpu": room.weight_bytes_per_gpu,
            "kv_cache_memory_bytes_per_gpu": room.kv_cache_memory_bytes,
            "num_blocks": room.num_blocks,
            "block_size": room.block_size,
            "at": [
                {
                    "percentile": f"p{q}",
                    "context_tokens": int(room.context_lengths[i]),
                    "blocks_per_sequence": int(room.blocks_per_sequence[i]),
                    "concurrent_sequences": int(room.concurrent_sequences[i]),
                    "max_concurrency": float(room.max_concurrency[i]),
                }
                for i, q in enumerate(_CAPACITY_AT)
            ],
        }

    def _in_flight(self) -> dict[str, Any] | None:
        if not self._arrivals:
            return None
        arrivals = np.concatenate(self._arrivals)
        curve = cost.in_flight(arrivals, np.concatenate(self._kv), np.concatenate(self._durations))
        per_replica = self.plan.capacity([1]).kv_cache_memory_bytes * self.plan.tensor_parallel
        replicas = max(1, math.ceil(curve.peak_kv_cache_bytes / per_replica))
        return {
            "requests": len(arrivals),
            "first_arrival": _iso(float(arrivals.min())),
            "last_arrival": _iso(float(arrivals.max())),
            "peak_kv_cache_bytes": curve.peak_kv_cache_bytes,
            "peak_time": _iso(curve.peak_time) if curve.peak_requests else None,
            "p99_kv_cache_bytes": round(curve.percentile(99)),
            "peak_requests": curve.peak_requests,
            "p99_requests": round(curve.percentile(99, of="requests")),
            "kv_cache_bytes_per_replica": per_replica,
            "gpus_needed_at_peak": replicas * self.plan.tensor_parallel,
        }


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
