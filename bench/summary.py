"""The closing summary of a race: Markdown tables of ratios against tiktoken, and the bars.

`render` turns the records of one run into Markdown (printed at the end of the pytest run and
saved beside a JSON copy of the records); `python bench/summary.py SUMMARY.json` renders a
saved run again.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import statistics
import sys

from racing import OURS, REFERENCE, Record

KIND_ORDER = (
    "prose",
    "code",
    "json_pretty",
    "json_minified",
    "logs",
    "csv",
    "markdown",
    "multilingual",
    "emoji",
)
WORST_ORDER = ("prose", "one_character", "spaces", "digits", "base64")
MODE_TITLES = {"single": "1 thread", "parallel": "all cores", "document_parallel": "all cores"}
SHAPE_TITLES = {"docs": "many 1-8 KB documents", "document": "one long document"}
# Bars the engine is tuned against (single thread unless said otherwise).
MIN_RATIO_VS_TIKTOKEN = 4.0
MIN_RATIO_VS_FASTEST_ON_ANY_KIND = 0.8
MIN_SCALING_1_TO_2 = 1.8
MAX_WORST_CASE_VS_PROSE = 3.0


def _by_table(records: list[Record], shape: str) -> dict[tuple[str, str], list[Record]]:
    tables: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        if r.shape == shape:
            tables.setdefault((r.encoding, r.mode), []).append(r)
    return tables


def _ratio(records: dict[str, Record], name: str) -> float | None:
    ours, ref = records.get(name), records.get(REFERENCE)
    if ours is None or ref is None or not ours.seconds or not ref.seconds:
        return None
    return ref.total_seconds / ours.total_seconds


def _cell(records: dict[str, Record], name: str) -> str:
    entry = records.get(name)
    if entry is None:
        return ""
    if entry.status in ("skipped", "failed"):
        return entry.status
    ratio = _ratio(records, name)
    text = f"{ratio:.2f}x" if ratio is not None else f"{entry.mb_per_s:.1f} MB/s"
    return text + (" (inexact)" if entry.status == "inexact" else "")


def _table(rows: dict[str, dict[str, Record]], order: tuple[str, ...]) -> list[str]:
    names = []
    for cells in rows.values():
        names += [n for n in cells if n not in names and n != REFERENCE]
    # A contestant with no result in the whole table (skipped everywhere) is listed below it.
    names = [n for n in names if any(n in c and c[n].seconds for c in rows.values())]
    head = ["kind", "tiktoken MB/s", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for kind in [k for k in order if k in rows]:
        cells = rows[kind]
        ref = cells.get(REFERENCE)
        ref_text = f"{ref.mb_per_s:.1f}" if ref and ref.seconds else (ref.status if ref else "")
        lines.append("| " + " | ".join([kind, ref_text, *(_cell(cells, n) for n in names)]) + " |")
    medians = []
    for name in names:
        ratios = [_ratio(cells, name) for cells in rows.values()]
        ratios = [r for r in ratios if r is not None]
        medians.append(f"{statistics.median(ratios):.2f}x" if ratios else "")
    lines.append("| " + " | ".join(["median", "", *medians]) + " |")
    return lines


def _counting_tables(records: list[Record]) -> list[str]:
    out = []
    for shape, title in SHAPE_TITLES.items():
        tables = _by_table(records, shape)
        for encoding, mode in sorted(tables, key=lambda key: (key[0], key[1] != "single")):
            group = tables[(encoding, mode)]
            rows: dict[str, dict[str, Record]] = {}
            for r in group:
                rows.setdefault(r.kind, {})[r.contestant] = r
            example = next(r for r in group if r.seconds)
            rounds = len(example.seconds)
            size = example.bytes / rounds / 1e6
            out += [
                f"### {encoding}, {MODE_TITLES[mode]}, {title} "
                f"({rounds} round{'s' * (rounds > 1)} of {size:.2f} MB per kind)",
                "",
            ]
            out += [*_table(rows, KIND_ORDER), ""]
    return out


def _exact_everywhere(rows: dict[str, dict[str, Record]], name: str) -> bool:
    return all(
        cells.get(name) is not None and cells[name].status == "exact" for cells in rows.values()
    )


def _bars(records: list[Record]) -> list[str]:
    out = [
        "### Bars (tokenomix on one thread: the faster of `count` and `count_batch`)",
        "",
        "| encoding | shape | min x tiktoken (bar 4) | fastest exact peer | "
        "median x it (bar 1) | min x it (bar 0.8) | kinds under 4x tiktoken or 0.8x that peer |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for shape in SHAPE_TITLES:
        for (encoding, mode), group in sorted(_by_table(records, shape).items()):
            if mode != "single":
                continue
            rows: dict[str, dict[str, Record]] = {}
            for r in group:
                rows.setdefault(r.kind, {})[r.contestant] = r
            out.append(_bar_row(encoding, shape, rows))
    return [*out, ""]


def _best_ours(cells: dict[str, Record]) -> Record | None:
    ours = [cells[n] for n in OURS if n in cells and cells[n].seconds]
    return min(ours, key=lambda r: r.total_seconds) if ours else None


def _bar_row(encoding: str, shape: str, rows: dict[str, dict[str, Record]]) -> str:
    peers = {n for cells in rows.values() for n in cells if n not in OURS and n != REFERENCE}
    exact_peers = [p for p in peers if _exact_everywhere(rows, p)]
    medians = {p: statistics.median(_ratio(c, p) for c in rows.values()) for p in exact_peers}
    fastest = max(medians, key=medians.get) if medians else None
    vs_tiktoken, vs_fastest, below = {}, {}, []
    for kind, cells in rows.items():
        ours, ref = _best_ours(cells), cells.get(REFERENCE)
        if ours is None:
            continue
        if ref is not None and ref.seconds:
            vs_tiktoken[kind] = ref.total_seconds / ours.total_seconds
        if fastest:
            vs_fastest[kind] = cells[fastest].total_seconds / ours.total_seconds
        low = vs_fastest.get(kind, 99) < MIN_RATIO_VS_FASTEST_ON_ANY_KIND
        if vs_tiktoken.get(kind, 99) < MIN_RATIO_VS_TIKTOKEN or low:
            below.append(
                f"{kind} ({vs_tiktoken.get(kind, 0):.1f}x tiktoken, "
                f"{vs_fastest.get(kind, 0):.2f}x {fastest})"
            )
    low_tiktoken = f"{min(vs_tiktoken.values()):.2f}x" if vs_tiktoken else ""
    median_fastest = f"{statistics.median(vs_fastest.values()):.2f}x" if vs_fastest else ""
    low_fastest = f"{min(vs_fastest.values()):.2f}x" if vs_fastest else ""
    return (
        f"| {encoding} | {shape} | {low_tiktoken} | {fastest or 'none'} | {median_fastest} "
        f"| {low_fastest} | {'; '.join(below) or 'none'} |"
    )


def _worst_cases(records: list[Record]) -> list[str]:
    worst = [r for r in records if r.shape == "worst"]
    if not worst:
        return []
    out = [
        "### Worst cases, 1 thread: milliseconds per MB "
        f"(tokenomix's time against its own time on 1 MB of prose; bar {MAX_WORST_CASE_VS_PROSE})",
        "",
    ]
    for encoding in sorted({r.encoding for r in worst}):
        cells: dict[str, dict[str, Record]] = {}
        for r in worst:
            if r.encoding == encoding:
                cells.setdefault(r.kind, {})[r.contestant] = r
        names = [n for n in dict.fromkeys(r.contestant for r in worst)]
        out += [
            f"{encoding}:",
            "",
            "| case | tokenomix x prose | " + " | ".join(names) + " |",
            "|" + " --- |" * (len(names) + 2),
        ]
        prose = _best_ours(cells.get("prose", {}))
        for case in [c for c in WORST_ORDER if c in cells]:
            ours = _best_ours(cells[case])
            vs_prose = (
                f"{(ours.total_seconds / ours.bytes) / (prose.total_seconds / prose.bytes):.2f}"
                if ours and prose
                else ""
            )
            row = [_ms_per_mb(cells[case].get(n)) for n in names]
            out.append(f"| {case} | {vs_prose} | " + " | ".join(row) + " |")
        out.append("")
    return out


def _ms_per_mb(entry: Record | None) -> str:
    if entry is None:
        return ""
    if not entry.seconds:
        return entry.status
    text = f"{entry.total_seconds / entry.bytes * 1e9:.1f}"
    return text + (" (inexact)" if entry.status == "inexact" else "")


def _scaling(records: list[Record]) -> list[str]:
    scaling = [r for r in records if r.shape == "scaling" and r.seconds]
    if not scaling:
        return []
    out = [
        f"### Scaling of tokenomix count_batch (bar {MIN_SCALING_1_TO_2}x from 1 to 2 threads)",
        "",
        "| encoding | threads | MB/s | x 1 thread | cores used |",
        "| --- | --- | --- | --- | --- |",
    ]
    for encoding in sorted({r.encoding for r in scaling}):
        rows = sorted(
            (r for r in scaling if r.encoding == encoding), key=lambda r: int(r.mode.split("=")[1])
        )
        base = rows[0].mb_per_s
        for r in rows:
            out.append(
                f"| {encoding} | {r.mode.split('=')[1]} | {r.mb_per_s:.1f} | "
                f"{r.mb_per_s / base:.2f}x | {r.cpu_seconds / r.total_seconds:.2f} |"
            )
    return [*out, ""]


def _loading(records: list[Record]) -> list[str]:
    loads = [r for r in records if r.shape == "load" and r.seconds]
    if not loads:
        return []
    out = [
        "### Loading an encoding (median of the loads in this process; peak memory in a "
        "fresh process)",
        "",
        "| encoding | library | seconds | peak memory MB |",
        "| --- | --- | --- | --- |",
    ]
    for r in sorted(loads, key=lambda r: (r.encoding, r.contestant)):
        median = statistics.median(r.seconds)
        out.append(
            f"| {r.encoding} | {r.contestant} | {median:.3f} | "
            f"{r.extra.get('peak_bytes', 0) / 1e6:.1f} |"
        )
    return [*out, ""]


def _skipped(records: list[Record], skipped: dict[str, str]) -> list[str]:
    out = [f"- {name}: {reason}" for name, reason in sorted(skipped.items())]
    encodings = {r.encoding for r in records}
    notes: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        if r.status in ("skipped", "failed", "inexact") and r.note:
            notes.setdefault((r.contestant, r.status, _general(r.note)), []).append(r)
    for (name, status, note), where in sorted(notes.items()):
        out.append(f"- {name} {status} on {_places(where, encodings)}: {note}")
    return ["### Not raced, failed or inexact, and why", "", *out, ""] if out else []


def _places(records: list[Record], encodings: set[str]) -> str:
    """Where a note applies, e.g. "one long document, all cores: every kind"."""
    by_table: dict[str, dict[str, set[str]]] = {}
    for r in records:
        table = (
            f"{SHAPE_TITLES[r.shape]}, {MODE_TITLES[r.mode]}"
            if r.shape in SHAPE_TITLES
            else f"{r.shape} cases"
        )
        by_table.setdefault(table, {}).setdefault(r.kind, set()).add(r.encoding)
    parts = []
    for table, kinds in by_table.items():
        every = table.split(",")[0] in SHAPE_TITLES.values() and len(kinds) == len(KIND_ORDER)
        names = ["every kind"] if every else list(kinds)
        only = set().union(*kinds.values())
        suffix = f" ({', '.join(sorted(only))} only)" if only != encodings else ""
        parts.append(f"{table}: {', '.join(names)}{suffix}")
    return "; ".join(parts)


def _general(note: str) -> str:
    """A note without the numbers of one benchmark, so that equal reasons merge."""
    if "texts differ" in note:
        return "some texts differ from tiktoken (the counts of each benchmark are in its xfail)"
    return note


def _calls(records: list[Record]) -> list[str]:
    calls: dict[str, set[str]] = {}
    for r in records:
        if r.call and r.shape not in ("load", "scaling"):
            calls.setdefault(r.contestant, set()).add(r.call)
    out = ["### How each contestant was called", ""]
    out += [f"- {name}: " + "; ".join(f"`{c}`" for c in sorted(cs)) for name, cs in calls.items()]
    return [*out, ""]


def render(results: dict[str, dict[str, Record]], skipped: dict[str, str]) -> str:
    records = [r for group in results.values() for r in group.values()]
    lines = (
        _counting_tables(records)
        + _bars(records)
        + _worst_cases(records)
        + _scaling(records)
        + _loading(records)
        + _skipped(records, skipped)
        + _calls(records)
    )
    return "\n".join(lines) + "\n"


def save(results, skipped, path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "skipped": skipped,
        "records": [dataclasses.asdict(r) for g in results.values() for r in g.values()],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    path.with_suffix(".md").write_text(text, encoding="utf-8")


def load(path: pathlib.Path) -> tuple[dict[str, dict[str, Record]], dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    results: dict[str, dict[str, Record]] = {}
    for fields in data["records"]:
        entry = Record(**fields)
        results.setdefault(entry.group, {})[entry.contestant] = entry
    return results, data["skipped"]


if __name__ == "__main__":
    sys.stdout.write(render(*load(pathlib.Path(sys.argv[1]))))
