"""The terminal summary of a report, as rich tables."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tokenomix.logs.components import COMPONENTS

_STATS = ("count", "sum", "mean", "p50", "p95", "p99", "max")
_TURNS_SHOWN = 12
_DAYS_SHOWN = 14
_SKIPS_SHOWN = 5


def render(document: dict[str, Any], console: Console) -> None:
    """Print the summary of a report document."""
    console.print(_headline(document))
    console.print(_tokens_table(document))
    if document["models"]:
        console.print(_models_table(document))
    if document["usage"]["requests"]:
        console.print(_usage_table(document))
    if document["turns"]:
        console.print(_turns_table(document))
    if document["days"]:
        console.print(_days_table(document))
    if document["savings"] is not None and document["requests_attributed"]:
        console.print(_savings_table(document["savings"]))
    if document["serving"] is not None:
        console.print(_serving_table(document["serving"]))
    for line in _notes(document):
        console.print(line, soft_wrap=True, highlight=False)


def _headline(document: dict[str, Any]) -> str:
    records = document["records"]
    files = len(document["inputs"])
    requests = document["requests"]
    text = (
        f"[bold]{requests:,}[/bold] request{'' if requests == 1 else 's'} from "
        f"{_plural(records['read'], 'record')} in {_plural(files, 'file')}"
    )
    if records["skipped"]:
        text += f", [yellow]{records['skipped']:,} skipped[/yellow]"
    if records["joined"]:
        text += f", {records['joined']:,} batch responses joined"
    return text


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _compact(value: Any) -> str:
    # Sums run to billions: short forms keep the table within 80 columns (the JSON is exact).
    if value is None:
        return "-"
    for threshold, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e5, 1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / unit:.{2 if unit > 1e3 else 1}f}{suffix}"
    return _number(value)


def _tokens_table(document: dict[str, Any]) -> Table:
    attributed = document["requests_attributed"]
    title = "tokens per request" + ("" if attributed else " (no text to split into components)")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for name in (*_STATS, "share"):
        table.add_column("n" if name == "count" else name, justify="right")
    shares = document["input_shares"]
    rows = [
        (name.replace("_tokens", ""), document[name], None)
        for name in ("input_tokens", "output_tokens", "total_tokens")
    ]
    if rows[2][1]["count"] != rows[0][1]["count"]:  # totals need an output
        rows[2] = ("total (requests with output)", *rows[2][1:])
    if attributed:
        rows += [(name, document["components"][name], shares.get(name)) for name in COMPONENTS]
    for index, (label, row, share) in enumerate(rows):
        if index == 3:
            table.add_section()
        cells = [_compact(row["count"]), _compact(row["sum"]), _number(row["mean"])]
        cells += [_number(row[s]) for s in _STATS[3:]]
        table.add_row(label, *cells, "" if share is None else f"{share:.1%}")
    return table


def _dollars(value: float | None) -> str:
    """Cents to four places, and two significant digits below a hundredth of a cent.

    >>> _dollars(1234.56789), _dollars(0.000042), _dollars(0.0), _dollars(None)
    ('$1,234.5679', '$0.000042', '$0.0000', '-')
    """
    if value is None:
        return "-"
    if 0 < abs(value) < 0.0001:
        places = 1 - math.floor(math.log10(abs(value)))
        return f"${value:.{places}f}"
    return f"${value:,.4f}"


def _models_table(document: dict[str, Any]) -> Table:
    table = Table(title="models", title_justify="left")
    for name, justify in (
        ("model", "left"),
        ("encoding", "left"),
        ("requests", "right"),
        ("input", "right"),
        ("output", "right"),
        ("recount $", "right"),
        ("billed $", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for model in document["models"]:
        table.add_row(
            escape(str(model["model"] or "(none)")),
            str(model["encoding"] or "-"),
            _number(model["requests"]),
            _compact(model["input_tokens"]["sum"]),
            _compact(model["output_tokens"]["sum"]),
            _dollars(model["recount_usd"]),
            _dollars(model["billed_usd"]),
        )
    return table


def _usage_table(document: dict[str, Any]) -> Table:
    usage = document["usage"]
    table = Table(
        title=f"billed usage beside the recount ({usage['requests']:,} requests)",
        title_justify="left",
    )
    table.add_column("")
    for name in ("count", "mean", "min", "p50", "p95", "max", "exact"):
        table.add_column(name, justify="right")
    rows = (
        ("prompt (billed)", usage["prompt_tokens"], None),
        ("recount - prompt", usage["prompt_difference"], usage["prompt_exact_matches"]),
        (
            "  exact rules only",
            usage["exact_rule_prompt_difference"],
            usage["exact_rule_prompt_exact_matches"],
        ),
        ("cached", usage["cached_tokens"], None),
        ("completion (billed)", usage["completion_tokens"], None),
        ("recount - completion", usage["completion_difference"], usage["completion_exact_matches"]),
        ("reasoning", usage["reasoning_tokens"], None),
    )
    for label, row, exact in rows:
        table.add_row(
            label,
            *(_number(row[s]) for s in ("count", "mean", "min", "p50", "p95", "max")),
            _number(exact),
        )
    return table


def _turns_table(document: dict[str, Any]) -> Table:
    turns = document["turns"]
    table = Table(title="context growth by turn", title_justify="left")
    for name in ("turn", "requests", "input mean", "input p50", "input p95", "history mean"):
        table.add_column(name, justify="right")
    shown = turns[:_TURNS_SHOWN]
    for turn in shown:
        table.add_row(
            str(turn["turn"]),
            _number(turn["requests"]),
            _number(turn["input_tokens"]["mean"]),
            _number(turn["input_tokens"]["p50"]),
            _number(turn["input_tokens"]["p95"]),
            _number(turn["history_tokens"]["mean"]),
        )
    if len(turns) > len(shown):
        table.caption = f"{len(turns) - len(shown)} later turns in the JSON report"
    return table


def _days_table(document: dict[str, Any]) -> Table:
    days = document["days"]
    table = Table(title="system prompt and input by day", title_justify="left")
    for name in ("day", "requests", "system mean", "system max", "input mean", "input p95"):
        table.add_column(name, justify="right")
    shown = days[-_DAYS_SHOWN:]
    for day in shown:
        table.add_row(
            day["day"],
            _number(day["requests"]),
            _number(day["system_tokens"]["mean"]),
            _number(day["system_tokens"]["max"]),
            _number(day["input_tokens"]["mean"]),
            _number(day["input_tokens"]["p95"]),
        )
    if len(days) > len(shown):
        table.caption = f"the last {len(shown)} of {len(days)} days; all in the JSON report"
    return table


def _savings_table(savings: dict[str, Any]) -> Table:
    a = savings["assumptions"]
    cap = savings["output_cap"]["cap_tokens"]
    cap_text = "-" if cap is None else f"{cap:,} tokens"
    if a["output_cap"].startswith("p"):
        cap_text += f" ({a['output_cap']} of outputs)"
    table = Table(
        title="savings of token discipline (they overlap: not to be added up)",
        title_justify="left",
        caption=(
            "share: of input tokens; the output cap's, of output tokens.\n"
            f"output cap {cap_text}; prefix cache: tokens billed at the cached price.\n"
            f"* assumed: summaries keep {a['summary_keep_turns']} turns and cost "
            f"{a['summary_tokens']:,} tokens; prefixes of {a['cache_min_tokens']:,}+ tokens "
            f"stay cached {a['cache_ttl_seconds']:g} s"
        ),
        caption_justify="left",
    )
    for name in ("", "requests", "tokens", "share", "$", "most in"):
        justify = "left" if name in ("", "most in") else "right"
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    rows = (
        ("minified JSON", savings["minified_json"], "tokens", "by_component"),
        ("repeated paragraphs", savings["duplicate_instructions"], "tokens", "by_component"),
        ("summaries *", savings["rolling_summaries"], "tokens", "replaced_by_component"),
        ("output cap", savings["output_cap"], "tokens", None),
        ("prefix cache *", savings["prefix_caching"], "cached_tokens", None),
    )
    for label, entry, tokens, parts in rows:
        share = entry["share"]
        table.add_row(
            label,
            _number(entry["requests"]),
            _compact(entry[tokens]),
            "-" if share is None else f"{share:.1%}",
            _dollars(entry["usd"]),
            _where(entry[parts]) if parts else "",
        )
    return table


def _where(by_component: dict[str, int]) -> str:
    total = sum(by_component.values())
    if total <= 0:
        return ""
    name, tokens = max(by_component.items(), key=lambda item: item[1])
    return f"{name} {tokens / total:.0%}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(value) >= unit:
            return f"{value / unit:,.2f} {suffix}"
    return f"{value:,.0f} B"


def _serving_table(serving: dict[str, Any]) -> Table:
    gpus = f"{serving['tensor_parallel']} x {serving['gpu']}"
    table = Table(
        title=f"serving on {escape(serving['model'])}, {gpus} (roofline, unloaded)",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("value", justify="right")
    totals = serving["totals"]
    notes = []
    if serving["requests_without_output"]:
        notes.append(f"{serving['requests_without_output']:,} without output")
    if serving["requests_over_max_context"]:
        notes.append(f"{serving['requests_over_max_context']:,} over the model's context")
    kv = serving["kv_cache_bytes"]
    tokens = (totals[k] for k in ("input_tokens", "cached_input_tokens", "output_tokens"))
    rows = [
        ("requests", f"{serving['requests']:,}" + (f" ({', '.join(notes)})" if notes else "")),
        ("tokens in / cached / out", " / ".join(_compact(n) for n in tokens)),
        ("FLOPs prefill / decode", f"{totals['prefill_flops']:.3e} / {totals['decode_flops']:.3e}"),
        (
            "seconds prefill / decode",
            f"{totals['prefill_seconds']:,.1f} / {totals['decode_seconds']:,.1f}",
        ),
        (
            "KV per request p50 / p95 / max",
            " / ".join(_bytes(kv[k]) for k in ("p50", "p95", "max")),
        ),
    ]
    if serving["capacity"] is not None:
        rows += [
            (
                f"fit at {at['percentile']} context, {_compact(at['context_tokens'])} tokens",
                f"{at['concurrent_sequences']:,} sequences a replica",
            )
            for at in serving["capacity"]["at"]
        ]
    flight = serving["in_flight"]
    if flight is not None:
        peak, p99 = flight["peak_kv_cache_bytes"], flight["p99_kv_cache_bytes"]
        rows += [
            ("KV in flight peak / p99", f"{_bytes(peak)} / {_bytes(p99)}"),
            (
                "requests in flight peak / p99",
                f"{flight['peak_requests']:,} / {flight['p99_requests']:,}",
            ),
            ("GPUs needed at the peak", f"{flight['gpus_needed_at_peak']:,}"),
        ]
    for row in rows:
        table.add_row(*row)
    return table


def _notes(document: dict[str, Any]) -> list[str]:
    notes = []
    skipped = document["skipped"]
    if skipped["count"]:
        kinds = ", ".join(f"{kind}: {n:,}" for kind, n in skipped["by_kind"].items())
        notes.append(f"[yellow]skipped {_plural(skipped['count'], 'record')}[/yellow] ({kinds})")
        for skip in skipped["first"][:_SKIPS_SHOWN]:
            notes.append(
                escape(f"  {skip['file']}:{skip['line']}: {skip['kind']}: {skip['reason']}")
            )
        if skipped["count"] > _SKIPS_SHOWN:
            listed = len(skipped["first"])
            notes.append(
                f"  and {skipped['count'] - _SKIPS_SHOWN:,} more (--json lists the first {listed})"
            )
    undated = document["undated_requests"]
    if undated and undated < document["requests"]:
        notes.append(
            f"{_plural(undated, 'request')} without a usable timestamp, left out of the "
            "table by day"
        )
    approximate = document["approximate"]
    if approximate["requests"]:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in approximate["by_reason"].items())
        notes.append(f"{_plural(approximate['requests'], 'request')} approximate ({reasons})")
    if document["images"]["unmeasured"]:
        notes.append(
            f"{_plural(document['images']['unmeasured'], 'image')} not measured: given by URL "
            "(report --image-size WxH assumes a size) or of a model with no image rule"
        )
    cost = document["cost"]
    if cost["prices"] is not None:
        notes.append(
            escape(
                f"recount $ and billed $: {_dollars(cost['recount_usd'])} and "
                f"{_dollars(cost['billed_usd'])}; prices of "
                f"{cost['prices']['date'] or '?'} ({cost['prices']['source']})"
            )
        )
    if cost["unpriced_models"]:
        names = escape(", ".join(str(m or "no model named") for m in cost["unpriced_models"][:5]))
        unnamed = None in cost["unpriced_models"]
        notes.append(
            f"no price for {_plural(len(cost['unpriced_models']), 'model')} ({names}); give "
            "them with --prices FILE"
            + ("; --model M counts and prices every request as model M" if unnamed else "")
        )
    return notes


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
