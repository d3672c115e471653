"""Exact integer histograms that merge, and percentiles read off them by nearest rank.

Token counts are integers, so a histogram (value -> frequency) is an exact summary of any
number of requests: two histograms built on two halves of a log merge into the one built on
the whole, across chunks, processes, files and machines. Percentiles follow NumPy's
`method="inverted_cdf"` (the nearest-rank rule): the P-th percentile of n values is the k-th
smallest, k = ceil(n * P / 100), computed in float64 exactly as NumPy does, so that the
figures agree with `numpy.percentile` to the last integer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

#: The percentiles every summary reports.
SUMMARY_PERCENTILES = (50, 95, 99)


class Histogram:
    """The frequency of each integer value seen: exact, mergeable, and small.

    Stored as two int64 arrays, the distinct values in increasing order and their counts,
    so that its size grows with the number of distinct values, never with the number of
    observations.

    >>> h = Histogram([3, 1, 3, 10])
    >>> h.count, h.sum, h.percentile(50), h.max
    (4, 17, 3, 10)
    """

    __slots__ = ("_counts", "_values")

    def __init__(self, values: Iterable[int] | np.ndarray = ()) -> None:
        self._values = np.empty(0, dtype=np.int64)
        self._counts = np.empty(0, dtype=np.int64)
        self.add(values)

    @classmethod
    def from_counts(cls, values: Iterable[int], counts: Iterable[int]) -> Histogram:
        """Build a histogram from distinct values and their frequencies (as `to_dict` gives)."""
        values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
        counts = np.asarray(list(counts) if not isinstance(counts, np.ndarray) else counts)
        if values.shape != counts.shape or (counts < 0).any():
            raise ValueError("values and counts must have the same length, counts >= 0")
        histogram = cls()
        histogram._merge_sorted(*_collapse(values.astype(np.int64), counts.astype(np.int64)))
        return histogram

    # Building -----------------------------------------------------------------------------

    def add(self, values: Iterable[int] | np.ndarray) -> None:
        """Count every value of an array (or iterable) of integers once."""
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values))
        if array.size == 0:
            return
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"histogram values must be integers, got dtype {array.dtype}")
        distinct, counts = np.unique(array.astype(np.int64, copy=False), return_counts=True)
        self._merge_sorted(distinct, counts.astype(np.int64))

    def merge(self, other: Histogram) -> None:
        """Add every observation of `other` to this histogram."""
        self._merge_sorted(other._values, other._counts)

    def __add__(self, other: Histogram) -> Histogram:
        result = Histogram()
        result.merge(self)
        result.merge(other)
        return result

    def _merge_sorted(self, values: np.ndarray, counts: np.ndarray) -> None:
        if values.size == 0:
            return
        if self._values.size == 0:
            self._values, self._counts = values.copy(), counts.copy()
            return
        self._values, self._counts = _collapse(
            np.concatenate([self._values, values]), np.concatenate([self._counts, counts])
        )

    # Reading ------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """The number of observations."""
        return int(self._counts.sum())

    @property
    def sum(self) -> int:
        """The sum of all observations (exact below 2**63)."""
        return int(np.dot(self._values, self._counts)) if self._values.size else 0

    @property
    def max(self) -> int | None:
        """The largest observation, or None when empty."""
        return int(self._values[-1]) if self._values.size else None

    @property
    def min(self) -> int | None:
        """The smallest observation, or None when empty."""
        return int(self._values[0]) if self._values.size else None

    @property
    def mean(self) -> float | None:
        """The arithmetic mean (sum / count), or None when empty."""
        count = self.count
        return self.sum / count if count else None

    def percentile(self, q: float) -> int | None:
        """Return the q-th percentile by the nearest-rank rule, or None when empty.

        Equal to `numpy.percentile(observations, q, method="inverted_cdf")`.

        Raises:
            ValueError: q is outside [0, 100].
        """
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be within [0, 100], got {q!r}")
        n = self.count
        if n == 0:
            return None
        rank = _inverted_cdf_index(n, q)
        position = np.searchsorted(np.cumsum(self._counts), rank, side="right")
        return int(self._values[position])

    def count_above(self, threshold: int) -> int:
        """Return the number of observations greater than `threshold`."""
        return int(self._counts[self._values > threshold].sum())

    def excess_above(self, threshold: int) -> int:
        """Return the sum of (value - threshold) over the observations above `threshold`.

        >>> Histogram([100, 300, 900]).excess_above(250)
        700
        """
        over = self._values > threshold
        return int(np.dot(self._values[over] - threshold, self._counts[over]))

    def summary(self) -> dict[str, Any]:
        """Return count, sum, mean, min, p50, p95, p99 and max (None where empty)."""
        result: dict[str, Any] = {"count": self.count, "sum": self.sum, "mean": self.mean}
        result["min"] = self.min
        for q in SUMMARY_PERCENTILES:
            result[f"p{q}"] = self.percentile(q)
        result["max"] = self.max
        return result

    def to_dict(self) -> dict[str, list[int]]:
        """Return the distinct values and their counts, for storage or sending elsewhere."""
        return {"values": self._values.tolist(), "counts": self._counts.tolist()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return np.array_equal(self._values, other._values) and np.array_equal(
            self._counts, other._counts
        )

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, distinct={self._values.size})"


def _collapse(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Sort, then add up the counts of equal values with reduceat: integer arithmetic
    # throughout (bincount with weights would go through float64).
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(values)) + 1))
    keep = np.add.reduceat(counts, starts)
    nonzero = keep > 0
    return values[starts][nonzero], keep[nonzero]


def _inverted_cdf_index(n: int, q: float) -> int:
    # NumPy's percentile divides q by 100 in float64, takes the virtual index n*q - 1, and
    # rounds it up unless it is integral (numpy/lib/_function_base_impl.py, _inverted_cdf).
    # Doing the same float64 operations gives the same index, ties included.
    quantile = np.true_divide(np.float64(q), 100)
    index = np.float64(n) * quantile - 1
    floor = np.floor(index)
    rank = int(floor) if index - floor == 0 else int(floor) + 1
    return min(max(rank, 0), n - 1)
