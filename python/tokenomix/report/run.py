"""Running a report: recount the logs, gather statistics, write Parquet, build the JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from tokenomix.analytics.stats import ReportStats
from tokenomix.logs.options import RecountOptions
from tokenomix.logs.pipeline import Progress, Recount
from tokenomix.pricing import PriceTable, default_prices
from tokenomix.report.document import build_document
from tokenomix.report.parquet import ParquetSink
from tokenomix.report.savings import PrefixCache, SavingsOptions, SavingsStats
from tokenomix.report.serving import ServingPlan, ServingStats


@dataclasses.dataclass
class Report:
    """A finished report: its JSON document, the statistics behind it, and the recount."""

    document: dict[str, Any]
    stats: ReportStats
    recount: Recount
    serving: ServingStats | None = None
    savings: SavingsStats | None = None


def run_report(
    paths: list[str],
    options: RecountOptions | None = None,
    *,
    prices: PriceTable | None = None,
    parquet_path: str | None = None,
    progress: Progress | None = None,
    serving: ServingPlan | None = None,
    savings: SavingsOptions | None = None,
) -> Report:
    """Recount logs and return their report.

    Args:
        paths: log files or glob patterns.
        options: how to read and recount them.
        prices: the price table (default: the one shipped with the package).
        parquet_path: if given, write one row per request there.
        progress: called with (bytes read, bytes in all) as reading goes.
        serving: if given, estimate serving every request on this model and GPU.
        savings: if given, also measure the savings of token discipline under these
            assumptions (it recounts the changed text, so the run takes longer).

    Raises:
        FileNotFoundError: a path does not exist or a pattern matches nothing.
        tokenomix.errors.InputError: the input is empty, or (strict) a record is bad.
        ValueError: a file's format cannot be told.
    """
    options = options or RecountOptions()
    if savings is not None:
        options = dataclasses.replace(options, savings=True)
    prices = prices if prices is not None else default_prices()
    recount = Recount(paths, options)
    stats = ReportStats()
    savings_stats = SavingsStats(savings) if savings is not None else None
    cache = PrefixCache(savings) if savings is not None else None
    serving_stats = ServingStats(serving) if serving is not None else None
    sink = None
    if parquet_path is not None:
        sink = ParquetSink(
            parquet_path, files=[f.path for f in recount.files], prices=prices, savings=savings
        )
    try:
        for batch in recount.batches(progress):
            stats.add(batch)
            if cache is not None and savings_stats is not None:
                batch.prefix_cached_tokens = cache.feed(batch)
                savings_stats.add(batch)
            estimate = serving_stats.estimate(batch) if serving_stats is not None else None
            if sink is not None:
                sink.add(batch, estimate)
    finally:
        if sink is not None:
            sink.close()
    document = build_document(
        stats,
        recount.files,
        recount.skips,
        options,
        prices,
        serving=serving_stats,
        savings=savings_stats,
    )
    return Report(document, stats, recount, serving_stats, savings_stats)
