"""KV-cache memory and requests in flight over time, from arrival times: one sorted sweep.

Each request holds its KV cache from its arrival until it finishes, arrival + duration. The
level of the step function changes only at those 2n events, so sorting them (O(n log n)) and
summing the changes in order gives the whole curve; its peak and its time-weighted
percentiles follow from the levels and how long each lasts.

A request is charged its final KV cache for its whole life: an upper bound, since vLLM
allocates blocks as tokens arrive, tight when prompts dominate.

Worked example (tests/test_cost_inflight.py): requests arriving at 0, 1 and 2 s, holding
100, 10 and 1 bytes for 3, 1 and 1 s, give the levels

    time   0    1    2    3
    bytes  100  110  101  0      (held for 1, 1, 1 s; the request arriving at 2 leaves at 3)

so the peak is 110 at 1 s and, over the 3 s, the time-weighted P50 is 101.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class InFlight:
    """The in-flight curve: from times[i] until times[i + 1] the levels are those at i."""

    times: np.ndarray
    kv_cache_bytes: np.ndarray
    requests: np.ndarray
    peak_kv_cache_bytes: int
    peak_time: float
    peak_requests: int

    def percentile(self, q: float, of: str = "kv_cache_bytes") -> float:
        """Return the level that the curve stays at or below for q percent of the time.

        Nearest rank over time: the lowest level whose cumulative duration reaches q% of the
        span. A curve of zero span returns its peak.
        """
        if not 0 <= q <= 100:
            raise ValueError(f"q must be between 0 and 100, got {q!r}")
        levels = getattr(self, of)
        held = np.diff(self.times, append=self.times[-1]) if len(self.times) else self.times
        span = float(held.sum())
        if span <= 0:
            return float(levels.max()) if len(levels) else 0.0
        order = np.argsort(levels, kind="stable")
        cumulative = np.cumsum(held[order])
        i = int(np.searchsorted(cumulative, q / 100 * span, side="left"))
        return float(levels[order[min(i, len(order) - 1)]])


def in_flight(arrival_seconds: Any, kv_cache_bytes: Any, durations: Any) -> InFlight:
    """Sweep the requests' lifetimes and return KV memory and requests in flight over time.

    Args:
        arrival_seconds: arrival time of each request, in seconds, in any order.
        kv_cache_bytes: KV cache each request holds while in flight.
        durations: seconds each request stays (for instance prefill + decode seconds).

    Raises:
        ValueError: arrays of different lengths, or a negative or non-finite value.
    """
    arrivals = _finite("arrival_seconds", arrival_seconds)
    kv = _finite("kv_cache_bytes", kv_cache_bytes, len(arrivals))
    stay = _finite("durations", durations, len(arrivals))
    for name, values in (("kv_cache_bytes", kv), ("durations", stay)):
        if len(values) and values.min() < 0:
            i = int(np.argmin(values))
            raise ValueError(f"{name}[{i}] is {values[i].item()!r}: must be non-negative")

    # A request that stays no time holds nothing; dropping it keeps its end from being swept
    # before its own start.
    keep = stay > 0
    starts, ends, held = arrivals[keep], arrivals[keep] + stay[keep], kv[keep]
    n = len(starts)
    times = np.concatenate([starts, ends])
    # At equal times, departures (0) go before arrivals (1): memory freed at t is free at t.
    kind = np.concatenate([np.ones(n, np.int8), np.zeros(n, np.int8)])
    order = np.lexsort((kind, times))
    delta_kv = np.concatenate([held, -held])[order]
    delta_requests = np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)])[order]
    levels = np.cumsum(delta_kv)
    requests = np.cumsum(delta_requests)
    times = times[order]
    if n == 0:
        return InFlight(times, levels, requests, 0, 0.0, 0)
    peak = int(np.argmax(levels))
    return InFlight(
        times=times,
        kv_cache_bytes=levels,
        requests=requests,
        peak_kv_cache_bytes=round(float(levels[peak])),
        peak_time=float(times[peak]),
        peak_requests=int(requests.max()),
    )


def _finite(name: str, values: Any, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} elements, arrival_seconds has {length}")
    if not np.isfinite(array).all():
        i = int(np.argmax(~np.isfinite(array)))
        raise ValueError(f"{name}[{i}] is {array[i].item()!r}: must be finite")
    return array
