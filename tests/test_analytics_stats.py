"""Report statistics merge: two halves of a log give the statistics of the whole."""

from __future__ import annotations

from log_factory import chat_log, write_jsonl

from tokenomix.analytics import ReportStats
from tokenomix.logs import Recount, RecountOptions
from tokenomix.pricing import default_prices
from tokenomix.report import build_document


def stats_of(paths):
    recount = Recount([str(p) for p in paths], RecountOptions(jobs=1))
    stats = ReportStats()
    for batch in recount.batches():
        stats.add(batch)
    return stats, recount


def test_two_halves_merge_into_the_whole(tmp_path):
    records = chat_log(5, 120)
    for record in records:
        # Turns by conversation_id are numbered within one run; the rest is order-free.
        record.pop("conversation_id", None)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    write_jsonl(first, records[:50])
    write_jsonl(second, records[50:])

    whole, recount = stats_of([first, second])
    merged, _ = stats_of([first])
    half, _ = stats_of([second])
    merged.merge(half)

    prices = default_prices()
    options = RecountOptions()
    expected = build_document(whole, recount.files, recount.skips, options, prices)
    actual = build_document(merged, recount.files, recount.skips, options, prices)
    assert actual == expected
    assert actual["requests"] == 120
