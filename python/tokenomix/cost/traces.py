"""Read request traces that carry token counts: arrival time, input and output tokens.

Two layouts are recognised by their column names:

- CSV with a header, such as the Azure LLM inference traces (TIMESTAMP, ContextTokens,
  GeneratedTokens; TIMESTAMP a date and time such as "2023-11-16 18:17:03.9799600");
- JSON Lines, such as the Mooncake traces (timestamp in milliseconds, input_length,
  output_length).

Other names can be given. The file is streamed line by line; a line that cannot be read is
skipped and reported with its number and reason, never dropped silently.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tokenomix.errors import InputError, json_type
from tokenomix.logs.context import parse_timestamp
from tokenomix.logs.counts import token_count
from tokenomix.logs.sources import first_significant_byte, open_stream, read_errors

# Column names tried in order, compared without case.
TIME_COLUMNS = ("timestamp", "arrival_time", "time", "created")
INPUT_COLUMNS = ("contexttokens", "input_length", "input_tokens", "prompt_tokens")
OUTPUT_COLUMNS = ("generatedtokens", "output_length", "output_tokens", "completion_tokens")

# Mooncake's traces give timestamps in milliseconds (github.com/kvcache-ai/Mooncake,
# FAST'25 traces: "timestamp" in ms); numeric timestamps of other traces are read as seconds.
_MILLISECOND_INPUT_COLUMNS = {"input_length"}


@dataclasses.dataclass(frozen=True)
class Trace:
    """Requests of a trace: arrival seconds since the first request, and token counts."""

    path: str
    arrival_seconds: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    lines: int
    # (line number, reason) of every line not read.
    skipped: list[tuple[int, str]]

    def __len__(self) -> int:
        return len(self.input_tokens)


@dataclasses.dataclass(frozen=True)
class _Columns:
    time: str
    input: str
    output: str
    time_scale: float


def read_trace(
    path: str | os.PathLike[str],
    *,
    time_column: str | None = None,
    input_column: str | None = None,
    output_column: str | None = None,
) -> Trace:
    """Read a CSV or JSON Lines trace, plain or gzip- or zstd-compressed.

    Raises:
        FileNotFoundError: no such file.
        InputError: (a ValueError) not a regular file, not UTF-8 text or damaged, the
            header lacks a needed column, or no line is usable.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise InputError(path, "not a regular file (a folder, pipe or device): save it first")
    stream, raw = open_stream(path)
    with stream, raw:
        try:
            first = first_significant_byte(stream)
            if stream.peek(4)[:4] == b"PAR1":  # type: ignore[attr-defined]
                raise InputError(path, "a Parquet trace: tokenomix report reads those")
            f = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            names = (time_column, input_column, output_column)
            if first in (b"{", b"["):
                rows = _json_rows(path, f, names)
            else:
                rows = _csv_rows(path, f, names)
            return _collect(path, rows)
        except UnicodeDecodeError as error:
            raise InputError(path, f"not UTF-8 text: {error.reason}") from error
        except read_errors() as error:
            raise InputError(path, f"cannot read the compressed data: {error}") from error


def _find(
    header: Sequence[str], given: str | None, candidates: Sequence[str], what: str, path: str
) -> str:
    by_lower = {name.strip().lower(): name for name in header}
    for name in (given.lower(),) if given else candidates:
        if name in by_lower:
            return by_lower[name]
    expected = repr(given) if given else " or ".join(repr(c) for c in candidates)
    raise InputError(
        path,
        f"no {what} column ({expected}); columns are {', '.join(map(repr, header)) or 'none'}",
        line=1,
    )


def _columns(header: Sequence[str], names: tuple[str | None, ...], path: str) -> _Columns:
    time = _find(header, names[0], TIME_COLUMNS, "arrival time", path)
    inputs = _find(header, names[1], INPUT_COLUMNS, "input tokens", path)
    outputs = _find(header, names[2], OUTPUT_COLUMNS, "output tokens", path)
    scale = 1e-3 if inputs.lower() in _MILLISECOND_INPUT_COLUMNS else 1.0
    return _Columns(time, inputs, outputs, scale)


Row = tuple[int, float, int, int] | tuple[int, str]


def _csv_rows(path: str, f: Any, names: tuple[str | None, ...]) -> Iterator[Row]:
    reader = csv.DictReader(f)
    if reader.fieldnames is None:
        raise InputError(path, "empty file: no header line")
    columns = _columns(reader.fieldnames, names, path)
    width = len(reader.fieldnames)
    for record in reader:
        extra = record.pop(None, [])  # cells past the header's, which DictReader keeps apart
        missing = sum(value is None for value in record.values())
        if extra or missing:
            cells = width + len(extra) - missing
            cells_text = "1 cell" if cells == 1 else f"{cells} cells"
            yield reader.line_num, f"{cells_text} where the header has {width}"
            continue
        yield _row(reader.line_num, record, columns)


def _json_rows(path: str, f: Any, names: tuple[str | None, ...]) -> Iterator[Row]:
    columns: _Columns | None = None
    for line, text in enumerate(f, start=1):
        if not text.strip():
            yield line, "blank line"
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            yield line, f"not valid JSON ({error.msg})"
            continue
        if not isinstance(record, dict):
            yield line, f"a JSON {json_type(record)}, not an object"
            continue
        if columns is None:
            columns = _columns(list(record), names, path)
        yield _row(line, record, columns)


def _row(line: int, record: dict[str, Any], columns: _Columns) -> Row:
    try:
        time = _seconds(record.get(columns.time), columns.time_scale)
        tokens = [token_count(record.get(name), name) for name in (columns.input, columns.output)]
    except ValueError as error:
        return line, str(error)
    return line, time, tokens[0], tokens[1]


def _seconds(value: Any, scale: float) -> float:
    # Numbers are seconds (offsets or epoch), epoch milliseconds above 1e11 as the report
    # reads them, or what `scale` says for a trace known to count in milliseconds; text is
    # a number or an ISO 8601 date and time, read as the report reads it.
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            seconds = parse_timestamp(value)
            if math.isnan(seconds):
                raise ValueError(
                    f"timestamp {value!r} is neither a number nor a date and time"
                ) from None
            return seconds
    if isinstance(number, int | float) and not isinstance(number, bool):
        seconds = float(number) * scale
        return seconds / 1000 if scale == 1.0 and seconds > 1e11 else seconds
    raise ValueError("no timestamp" if value is None else f"timestamp is {value!r}")


def _collect(path: str, rows: Iterator[Row]) -> Trace:
    times: list[float] = []
    inputs: list[int] = []
    outputs: list[int] = []
    skipped: list[tuple[int, str]] = []
    lines = 0
    for row in rows:
        lines += 1
        if len(row) == 2:
            skipped.append(row)  # type: ignore[arg-type]
            continue
        _, time, n_in, n_out = row  # type: ignore[misc]
        times.append(time)
        inputs.append(n_in)
        outputs.append(n_out)
    if not inputs:
        reason = f"; line {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise InputError(path, f"no usable request in {lines} lines{reason}")
    arrival = np.asarray(times, dtype=np.float64)
    return Trace(
        path=path,
        arrival_seconds=arrival - arrival.min(),
        input_tokens=np.asarray(inputs, dtype=np.int64),
        output_tokens=np.asarray(outputs, dtype=np.int64),
        lines=lines,
        skipped=skipped,
    )
