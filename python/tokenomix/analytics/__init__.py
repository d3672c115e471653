"""Exact statistics of token counts: mergeable histograms and nearest-rank percentiles.

>>> from tokenomix.analytics import Histogram
>>> h = Histogram([120, 80, 400, 95])
>>> h.summary()["p50"], h.summary()["max"]
(95, 400)
"""

from tokenomix.analytics.histogram import SUMMARY_PERCENTILES, Histogram
from tokenomix.analytics.stats import GroupedHistograms, ReportStats

__all__ = ["SUMMARY_PERCENTILES", "GroupedHistograms", "Histogram", "ReportStats"]
