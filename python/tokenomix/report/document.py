"""The JSON document of a report: a stable schema, described in docs/report.md.

Every key is always present; a figure that does not apply is null (never 0). Token figures
are integers; means, ratios, shares and dollars are floats. The schema is versioned by
`schema`; a new key may appear within a version, an existing one never changes meaning.
"""

from __future__ import annotations

from typing import Any

from tokenomix import __version__
from tokenomix.analytics.histogram import Histogram
from tokenomix.analytics.stats import ReportStats
from tokenomix.logs.components import COMPONENTS, INPUT_COMPONENTS
from tokenomix.logs.options import RecountOptions
from tokenomix.logs.pipeline import LogFile, SkipLog
from tokenomix.pricing import Price, PriceTable
from tokenomix.report.savings import SavingsStats
from tokenomix.report.serving import ServingStats

SCHEMA = "tokenomix.report/1"


def build_document(
    stats: ReportStats,
    files: list[LogFile],
    skips: SkipLog,
    options: RecountOptions,
    prices: PriceTable | None,
    *,
    serving: ServingStats | None = None,
    savings: SavingsStats | None = None,
) -> dict[str, Any]:
    """Return the report as a JSON-ready dict."""
    return {
        "schema": SCHEMA,
        "tokenomix_version": __version__,
        "options": _options(options),
        "inputs": [_input(file) for file in files],
        "records": _records(files),
        "requests": stats.requests,
        "requests_attributed": stats.attributed,
        "requests_with_output": stats.with_output,
        "skipped": _skipped(skips, files),
        "approximate": {
            "requests": stats.approximate,
            "by_reason": {k: v for k, v in sorted(stats.approximation.items()) if v},
        },
        "encodings": dict(sorted(stats.encodings.items())),
        "input_tokens": stats.input.summary(),
        "output_tokens": stats.output.summary(),
        "total_tokens": stats.total.summary(),
        "components": {name: stats.components[name].summary() for name in COMPONENTS},
        "input_shares": _shares(stats),
        "input_output_ratio": stats.input_output_ratio(),
        "images": {"counted": stats.images, "unmeasured": stats.images_unmeasured},
        "models": _models(stats, prices),
        "days": _days(stats),
        "undated_requests": stats.undated,
        "turns": _turns(stats),
        "usage": _usage(stats),
        "cost": _cost(stats, prices),
        "savings": _savings(savings, stats, prices, options),
        "serving": serving.document() if serving is not None else None,
    }


def _savings(
    savings: SavingsStats | None,
    stats: ReportStats,
    prices: PriceTable | None,
    options: RecountOptions,
) -> dict[str, Any] | None:
    if savings is None:
        return None
    return savings.document(stats, prices, summary_keep_turns=options.summary_keep_turns)


def _options(options: RecountOptions) -> dict[str, Any]:
    return {
        "format": options.format,
        "model": options.model,
        "encoding": options.encoding,
        "tokenizer": options.tokenizer,
        "tokenizer_model": options.tokenizer_model,
        "context_pattern": options.context_pattern,
        "image_size": list(options.image_size) if options.image_size else None,
    }


def _input(file: LogFile) -> dict[str, Any]:
    return {
        "path": file.path,
        "format": file.format,
        "kind": file.role,
        "records": file.records,
        "requests": file.requests,
        "skipped": file.skipped,
        "joined": file.joined,
        "blank_lines": file.blank_lines,
    }


def _records(files: list[LogFile]) -> dict[str, int]:
    return {
        "read": sum(file.records for file in files),
        "counted": sum(file.counted for file in files),
        "skipped": sum(file.skipped for file in files),
        "joined": sum(file.joined for file in files),
        "blank_lines": sum(file.blank_lines for file in files),
    }


def _skipped(skips: SkipLog, files: list[LogFile]) -> dict[str, Any]:
    return {
        "count": skips.count,
        "by_kind": dict(sorted(skips.by_kind.items())),
        "first": [
            {"file": files[s.file_index].path, "line": s.line, "kind": s.kind, "reason": s.reason}
            for s in skips.first
        ],
    }


def _shares(stats: ReportStats) -> dict[str, float | None]:
    total = sum(stats.components[name].sum for name in INPUT_COMPONENTS)
    return {
        name: (stats.components[name].sum / total if total else None) for name in INPUT_COMPONENTS
    }


def _models(stats: ReportStats, prices: PriceTable | None) -> list[dict[str, Any]]:
    order = sorted(stats.model_requests, key=lambda m: (-stats.model_requests[m], str(m)))
    result = []
    for model in order:
        price = _price(prices, model)
        result.append(
            {
                "model": model,
                "encoding": stats.model_encodings.get(model),
                "requests": stats.model_requests[model],
                "input_tokens": _summary(stats.model_input.groups.get(model)),
                "output_tokens": _summary(stats.model_output.groups.get(model)),
                "price": _price_entry(price),
                "recount_usd": _recount_usd(stats, model, price),
                "billed_usd": _billed_usd(stats, model, price),
            }
        )
    return result


def _days(stats: ReportStats) -> list[dict[str, Any]]:
    return [
        {
            "day": day,
            "requests": stats.day_input.groups[day].count,
            "input_tokens": stats.day_input.groups[day].summary(),
            "system_tokens": _summary(stats.day_system.groups.get(day)),
        }
        for day in sorted(stats.day_input.groups)
    ]


def _turns(stats: ReportStats) -> list[dict[str, Any]]:
    return [
        {
            "turn": turn,
            "requests": stats.turn_input.groups[turn].count,
            "input_tokens": stats.turn_input.groups[turn].summary(),
            "history_tokens": _summary(stats.turn_history.groups.get(turn)),
        }
        for turn in sorted(stats.turn_input.groups)
    ]


def _usage(stats: ReportStats) -> dict[str, Any]:
    exact = stats.exact_prompt_difference
    return {
        "requests": stats.usage_requests,
        **{name: histogram.summary() for name, histogram in stats.usage.items()},
        "prompt_difference": stats.prompt_difference.summary(),
        "prompt_exact_matches": _zeros(stats.prompt_difference),
        "exact_rule_prompt_difference": exact.summary(),
        "exact_rule_prompt_exact_matches": _zeros(exact),
        "completion_difference": stats.completion_difference.summary(),
        "completion_exact_matches": _zeros(stats.completion_difference),
    }


def _cost(stats: ReportStats, prices: PriceTable | None) -> dict[str, Any]:
    recount = billed = 0.0
    priced = unpriced = 0
    unpriced_models = []
    any_billed = False
    for model in sorted(stats.model_requests, key=str):
        price = _price(prices, model)
        if price is None:
            unpriced += stats.model_requests[model]
            unpriced_models.append(model)
            continue
        priced += stats.model_requests[model]
        recount += _recount_usd(stats, model, price) or 0.0
        model_billed = _billed_usd(stats, model, price)
        if model_billed is not None:
            billed += model_billed
            any_billed = True
    return {
        "prices": prices.describe() if prices is not None else None,
        "requests_priced": priced,
        "requests_unpriced": unpriced,
        "unpriced_models": unpriced_models,
        "recount_usd": recount if priced else None,
        "billed_usd": billed if any_billed else None,
    }


def _price(prices: PriceTable | None, model: str | None) -> Price | None:
    return prices.get(model) if prices is not None and model is not None else None


def _price_entry(price: Price | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {
        "model": price.model,
        "input": price.price_per_million_input_tokens,
        "cached_input": price.price_per_million_cached_input_tokens,
        "cache_write_input": price.price_per_million_cache_write_input_tokens,
        "output": price.price_per_million_output_tokens,
        "reasoning": price.price_per_million_reasoning_tokens,
    }


def _recount_usd(stats: ReportStats, model: str | None, price: Price | None) -> float | None:
    # The recount knows no cache: every recounted input token at the input price.
    if price is None:
        return None
    sums = stats.model_sums.get(model, {})
    return price.cost_usd(
        input_tokens=sums.get("input_tokens", 0), output_tokens=sums.get("output_tokens", 0)
    )


def _billed_usd(stats: ReportStats, model: str | None, price: Price | None) -> float | None:
    sums = stats.model_sums.get(model, {})
    if price is None or not sums.get("usage_requests"):
        return None
    return price.cost_usd(
        input_tokens=sums["billed_prompt_tokens"],
        cached_input_tokens=sums["billed_cached_tokens"],
        cache_write_input_tokens=sums["billed_cache_write_tokens"],
        output_tokens=sums["billed_completion_tokens"],
        reasoning_tokens=sums["billed_reasoning_tokens"],
    )


def _summary(histogram: Histogram | None) -> dict[str, Any]:
    return (histogram or Histogram()).summary()


def _zeros(histogram: Histogram) -> int:
    values = histogram.to_dict()
    return dict(zip(values["values"], values["counts"], strict=True)).get(0, 0)
