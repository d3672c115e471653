"""Histograms: percentiles equal NumPy's nearest rank, and halves merge into the whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomix.analytics import Histogram

values = st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=300)
small_values = st.lists(st.integers(0, 20), min_size=1, max_size=300)  # many ties
quantiles = st.one_of(
    st.sampled_from([0, 1, 5, 25, 50, 90, 95, 99, 99.9, 100]), st.floats(0, 100, allow_nan=False)
)


@settings(deadline=None, max_examples=300)
@given(data=st.one_of(values, small_values), q=quantiles)
def test_percentiles_equal_numpy_inverted_cdf(data, q):
    expected = np.percentile(np.array(data), q, method="inverted_cdf")
    assert Histogram(data).percentile(q) == int(expected)


@settings(deadline=None, max_examples=200)
@given(data=st.one_of(values, small_values), cut=st.integers(0, 300))
def test_two_halves_merge_into_the_whole(data, cut):
    whole = Histogram(data)
    first, second = Histogram(data[:cut]), Histogram(data[cut:])
    merged = Histogram()
    merged.merge(first)
    merged.merge(second)
    assert merged == whole
    assert first + second == whole
    assert merged.summary() == whole.summary()


@settings(deadline=None, max_examples=200)
@given(data=st.one_of(values, small_values))
def test_summary(data):
    array = np.array(data)
    summary = Histogram(data).summary()
    assert summary["count"] == len(data)
    assert summary["sum"] == int(array.sum())
    assert summary["mean"] == int(array.sum()) / len(data)
    assert (summary["min"], summary["max"]) == (int(array.min()), int(array.max()))
    for q in (50, 95, 99):
        assert summary[f"p{q}"] == int(np.percentile(array, q, method="inverted_cdf"))


def test_round_trip_through_counts():
    histogram = Histogram([5, 1, 5, 9, 9, 9])
    assert histogram.to_dict() == {"values": [1, 5, 9], "counts": [1, 2, 3]}
    assert Histogram.from_counts(**histogram.to_dict()) == histogram


def test_empty_and_bad_input():
    empty = Histogram().summary()
    assert empty == {
        "count": 0,
        "sum": 0,
        "mean": None,
        "min": None,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }
    with pytest.raises(TypeError, match="integers"):
        Histogram([1.5])
    with pytest.raises(ValueError, match="percentile"):
        Histogram([1]).percentile(101)
    with pytest.raises(ValueError, match="counts"):
        Histogram.from_counts([1, 2], [1])
