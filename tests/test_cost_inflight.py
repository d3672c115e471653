"""KV memory in flight over time: the sorted sweep against a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomix.cost import in_flight


def test_worked_example():
    # tokenomix/cost/inflight.py: arrivals 0, 1, 2 s holding 100, 10, 1 bytes for 3, 1, 1 s.
    curve = in_flight([0, 1, 2], [100, 10, 1], [3, 1, 1])
    assert curve.peak_kv_cache_bytes == 110
    assert curve.peak_time == 1
    assert curve.peak_requests == 2
    assert curve.percentile(50) == 101
    assert curve.percentile(100) == 110
    assert curve.percentile(50, of="requests") == 2
    assert curve.kv_cache_bytes[-1] == 0 and curve.requests[-1] == 0


def test_departures_free_memory_before_arrivals_at_the_same_time():
    curve = in_flight([0, 5], [7, 9], [5, 5])  # the second arrives as the first leaves
    assert curve.peak_kv_cache_bytes == 9
    assert curve.peak_requests == 1


def test_zero_duration_requests_hold_nothing():
    curve = in_flight([0, 1], [5, 1000], [2, 0])
    assert curve.peak_kv_cache_bytes == 5
    empty = in_flight([], [], [])
    assert empty.peak_kv_cache_bytes == 0 and empty.percentile(99) == 0


def level_at(t: float, arrivals, kv, durations) -> tuple[float, int]:
    """KV bytes and requests in flight at time t, counted one request at a time."""
    held = [(a <= t < a + d) and d > 0 for a, d in zip(arrivals, durations, strict=True)]
    return sum(k for k, h in zip(kv, held, strict=True) if h), sum(held)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 1000), st.integers(0, 20)),
        min_size=1,
        max_size=30,
    )
)
def test_sweep_matches_brute_force(rows):
    arrivals = [float(r[0]) for r in rows]
    kv = [r[1] for r in rows]
    durations = [float(r[2]) for r in rows]
    curve = in_flight(arrivals, kv, durations)
    for t in np.arange(0, 72, 0.5):
        expected = level_at(t, arrivals, kv, durations)
        i = np.searchsorted(curve.times, t, side="right") - 1
        got = (0, 0) if i < 0 else (curve.kv_cache_bytes[i], curve.requests[i])
        assert (float(got[0]), int(got[1])) == expected, t
    peak = max(level_at(a, arrivals, kv, durations)[0] for a in arrivals)
    assert curve.peak_kv_cache_bytes == peak


def test_time_weighted_percentile_by_brute_force():
    rng = np.random.default_rng(3)
    arrivals = rng.integers(0, 1000, 400).astype(float)
    durations = rng.integers(1, 60, 400).astype(float)
    kv = rng.integers(0, 10**6, 400)
    curve = in_flight(arrivals, kv, durations)
    start, end = arrivals.min(), (arrivals + durations).max()
    # Sample the curve at every whole second: events fall on whole seconds, so each sample
    # stands for one second of the step function.
    samples = sorted(level_at(t, arrivals, kv, durations)[0] for t in np.arange(start, end))
    for q in (50, 90, 99):
        expected = samples[int(np.ceil(q / 100 * len(samples))) - 1]
        assert curve.percentile(q) == expected


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 1], [1], [1, 1]), "kv_cache_bytes has 1 elements"),
        (([0], [-1], [1]), r"kv_cache_bytes\[0\] is -1.0: must be non-negative"),
        (([0], [1], [-2]), r"durations\[0\] is -2.0"),
        (([float("nan")], [1], [1]), r"arrival_seconds\[0\] is nan: must be finite"),
        (([[0]], [1], [1]), "one-dimensional"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        in_flight(*args)
    with pytest.raises(ValueError, match="q must be between 0 and 100"):
        in_flight([0], [1], [1]).percentile(101)
