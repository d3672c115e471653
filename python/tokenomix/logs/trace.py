"""Traces that already carry token counts: CSV, Parquet, or JSON Lines.

Rows give input and output tokens, not text, so their requests are counted but not
attributed to components. Column names come from the options, else from the names known
here: the Azure LLM inference traces (`TIMESTAMP`, `ContextTokens`, `GeneratedTokens`), the
Mooncake traces (`timestamp` in milliseconds from the trace start, `input_length`,
`output_length`) and common exports (`prompt_tokens`, `completion_tokens`, ...).
"""

from __future__ import annotations

import codecs
import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import numpy as np

from tokenomix.logs.batch import MISSING, BatchBuilder, RequestBatch, Skip
from tokenomix.logs.components import NUM_COMPONENTS
from tokenomix.logs.context import YEAR_10000, ReaderContext, parse_timestamp
from tokenomix.logs.counts import token_count
from tokenomix.logs.errors import RecordError
from tokenomix.logs.options import RecountOptions
from tokenomix.logs.sources import read_errors
from tokenomix.logs.usage import USAGE_FIELDS

INPUT_COLUMNS = ("ContextTokens", "input_length", "prompt_tokens", "input_tokens")
OUTPUT_COLUMNS = ("GeneratedTokens", "output_length", "completion_tokens", "output_tokens")
TIMESTAMP_COLUMNS = ("TIMESTAMP", "timestamp", "time", "created")
MODEL_COLUMNS = ("model", "Model")

ROWS_PER_BATCH = 65_536
CSV_BLOCK_BYTES = 4 << 20  # CSV read per batch


@dataclasses.dataclass(frozen=True)
class TraceColumns:
    """The columns of a trace that hold each figure (None: the trace has none)."""

    input: str
    output: str | None
    timestamp: str | None
    model: str | None


def trace_columns(names: Sequence[str], options: RecountOptions, where: str) -> TraceColumns:
    """Pick the columns of a trace from the options, else from the known names.

    Raises:
        ValueError: no input column, a named column is missing, or a name is given twice.
    """
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{where}: the header names {', '.join(map(repr, twice))} twice")

    def pick(given: str | None, known: tuple[str, ...], flag: str) -> str | None:
        if given is not None:
            if given not in names:
                raise ValueError(f"{where}: no column {given!r} ({flag}); it has {list(names)}")
            return given
        return next((name for name in known if name in names), None)

    input_column = pick(options.input_column, INPUT_COLUMNS, "--input-column")
    if input_column is None:
        raise ValueError(
            f"{where}: no input-token column among {list(names)}; name it with --input-column"
        )
    return TraceColumns(
        input_column,
        pick(options.output_column, OUTPUT_COLUMNS, "--output-column"),
        pick(options.timestamp_column, TIMESTAMP_COLUMNS, "--timestamp-column"),
        pick(options.model_column, MODEL_COLUMNS, "--model-column"),
    )


# JSON Lines -------------------------------------------------------------------------------


def plan_trace_record(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add the request of one JSON trace line."""
    try:
        columns = trace_columns(list(record), ctx.options, "the record")
    except ValueError as error:
        raise RecordError("bad trace row", str(error)) from error
    input_tokens = _count(record.get(columns.input), columns.input)
    output_tokens = None
    if columns.output is not None:
        output_tokens = _count(record.get(columns.output), columns.output)
    model = ctx.options.model or (record.get(columns.model) if columns.model else None)
    b.start(line=line, model=model if isinstance(model, str) else None, encoding=None)
    b.given_counts(input_tokens, output_tokens)
    if columns.timestamp is not None:
        b.describe(timestamp=parse_timestamp(record.get(columns.timestamp)))


def _count(value: Any, column: str) -> int:
    try:
        return token_count(value, column)
    except ValueError as error:
        raise RecordError("bad trace row", str(error)) from None


# CSV and Parquet --------------------------------------------------------------------------


def read_table_trace(
    stream: BinaryIO | str, *, kind: str, file_index: int, options: RecountOptions, where: str
) -> Iterator[RequestBatch]:
    """Yield the rows of a CSV or Parquet trace as batches of given counts.

    For CSV, a row's line is its line in the file (the header is line 1); for Parquet, its
    row number. A CSV row with more or fewer cells than the header is skipped with its line.

    Raises:
        ValueError: the file is not a CSV or Parquet table that can be read (damaged, not
            UTF-8), naming the file and the first line not read.
    """
    import csv

    import pyarrow as pa

    line = 1
    columns = None
    try:
        batches, names, line, bad_rows = _open_table(stream, kind, options, where)
        columns = trace_columns(names, options, where)
        empty = pa.table({name: pa.array([], pa.string()) for name in names})
        for batch in batches:
            table = pa.Table.from_batches([batch])
            yield _given_batch(table, columns, file_index, line, options, bad_rows)
            line = bad_rows.next_line
        if bad_rows.pending:  # bad rows after the last good one
            yield _given_batch(empty, columns, file_index, line, options, bad_rows)
    except read_errors() as error:
        if columns is None:
            raise ValueError(f"{where}: cannot read this compressed trace: {error}") from error
        # A compressed file cut short: what was read counts, the rest is one skipped record.
        ended = _given_batch(empty, columns, file_index, line, options, bad_rows)
        ended.skips.append(Skip(file_index, line, "truncated file", f"cannot read on: {error}"))
        ended.records += 1
        yield ended
    except (pa.ArrowException, csv.Error, OSError) as error:
        problem = str(error)[:200]  # a CSV parse error quotes the bad row
        raise ValueError(
            f"{where}: cannot read this {kind.upper()} trace from line {line} on: {problem}"
        ) from error


class _BadRows:
    """CSV rows of the wrong width, as the reader meets them, and the lines of the others.

    pyarrow's reader calls `__call__` for each such row (with its line, when it reads on one
    thread) before it hands out the batch that would have held it.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[int, str]] = []
        self.next_line = 1

    def __call__(self, row: Any) -> str:
        cells = "1 cell" if row.actual_columns == 1 else f"{row.actual_columns} cells"
        self.pending.append((row.number, f"{cells} where the header has {row.expected_columns}"))
        return "skip"

    def lines_of(self, first_line: int, n: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """The lines of the next `n` good rows from `first_line` on, and the bad rows before
        the last of them (all that are left when n is 0, at the end of the file)."""
        lines = np.arange(first_line, first_line + n, dtype=np.int64)
        for number, _ in sorted(self.pending):  # each bad line shifts the rows at or after it
            lines[lines >= number] += 1
        end = int(lines[-1]) if n else None
        met = [row for row in self.pending if end is None or row[0] < end]
        self.pending = [row for row in self.pending if end is not None and row[0] > end]
        self.next_line = end + 1 if n else first_line
        return lines, sorted(met)


def _open_table(
    stream: BinaryIO | str, kind: str, options: RecountOptions, where: str
) -> tuple[Iterator[Any], list[str], int, _BadRows]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    bad_rows = _BadRows()
    if kind == "parquet":
        parquet = pq.ParquetFile(stream)
        batches = parquet.iter_batches(batch_size=ROWS_PER_BATCH)
        return batches, parquet.schema_arrow.names, 1, bad_rows
    # Every column is read as text and converted here, so that one bad value skips its row
    # instead of failing the whole file; the header, peeked, names the columns. One thread,
    # so that a row of the wrong width comes with its line.
    names = _csv_header(stream, where)
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=bad_rows),
        convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )
    return iter(reader), names, 2, bad_rows


def _csv_header(stream: Any, where: str) -> list[str]:
    import csv

    head = stream.peek(1 << 20)
    try:  # checked here: pyarrow cannot hand a row of the wrong width over if it is not UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{where}: cannot read this CSV trace: not UTF-8 text "
            f"(byte 0x{head[error.start]:02x} at byte {error.start} of the file)"
        ) from None
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    names = next(csv.reader([first]), [])
    if not names:
        raise ValueError(f"{where}: a CSV trace needs a header line naming its columns")
    return names


def _given_batch(
    table: Any,
    columns: TraceColumns,
    file_index: int,
    first_line: int,
    options: RecountOptions,
    bad_rows: _BadRows,
) -> RequestBatch:
    n = table.num_rows
    lines, bad_width = bad_rows.lines_of(first_line, n)
    inputs, bad_in = _integers(table.column(columns.input), columns.input)
    if columns.output is not None:
        outputs, bad_out = _integers(table.column(columns.output), columns.output)
    else:
        outputs, bad_out = np.zeros(n, dtype=np.int64), {}
    bad = {**bad_out, **bad_in}
    keep = np.ones(n, dtype=bool)
    keep[list(bad)] = False
    skips = [Skip(file_index, int(lines[i]), "bad trace row", bad[i]) for i in sorted(bad)]
    skips += [Skip(file_index, line, "bad trace row", reason) for line, reason in bad_width]
    skips.sort(key=lambda skip: skip.line)
    timestamps = np.full(n, math.nan)
    if columns.timestamp is not None:
        timestamps = _timestamps(table.column(columns.timestamp))
    models: list[Any] = [options.model] * n
    if options.model is None and columns.model is not None:
        values = table.column(columns.model).to_pylist()
        models = [v if isinstance(v, str) and v else None for v in values]
    m = int(keep.sum())
    return RequestBatch(
        file_index=file_index,
        kind="requests",
        lines=lines[keep],
        models=[model for model, k in zip(models, keep, strict=True) if k],
        encodings=[None] * m,
        components=np.zeros((m, NUM_COMPONENTS), dtype=np.int64),
        input_tokens=inputs[keep],
        output_tokens=outputs[keep],
        has_output=np.full(m, columns.output is not None),
        attributed=np.zeros(m, dtype=bool),
        flags=np.zeros(m, dtype=np.int32),
        images=np.zeros(m, dtype=np.int32),
        images_unmeasured=np.zeros(m, dtype=np.int32),
        usage=np.full((m, len(USAGE_FIELDS)), MISSING, dtype=np.int64),
        timestamps=timestamps[keep],
        conversations=[None] * m,
        user_turns=np.full(m, MISSING, dtype=np.int32),
        custom_ids=[None] * m,
        records=n + len(bad_width),
        skips=skips,
    )


def _integers(column: Any, name: str) -> tuple[np.ndarray, dict[int, str]]:
    # Fast path: the whole column converts; else find the rows that do not.
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(column, pa.int64())
        if values.null_count == 0:
            array = values.to_numpy()
            if (array >= 0).all():
                return array, {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    result = np.zeros(len(column), dtype=np.int64)
    bad = {}
    for index, value in enumerate(column.to_pylist()):
        try:
            result[index] = _count(value, name)
        except RecordError as error:
            bad[index] = error.message
    return result, bad


def _timestamps(column: Any) -> np.ndarray:
    """Seconds since the epoch of each value, as parse_timestamp reads it.

    ISO 8601 text that Arrow reads whole (all without an offset, read as UTC, or all with
    one) and timestamp columns are converted at once, to the microsecond as parse_timestamp
    keeps them; anything else is read value by value (about 6 us each: 6 s for a million).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type) or pa.types.is_string(column.type):
        for unit in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
            try:
                nanoseconds = pc.cast(column, unit)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            if nanoseconds.null_count:
                break
            seconds = (nanoseconds.cast(pa.int64()).to_numpy() // 1000) / 1e6
            if ((seconds >= 0) & (seconds < YEAR_10000)).all():
                return seconds
            break
    values = column.to_pylist()
    return np.array([parse_timestamp(_number(v)) for v in values], dtype=np.float64)


def _number(value: Any) -> Any:
    # CSV cells arrive as text: digits become an int, other numbers a float.
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            return float(text)
        except ValueError:
            return value
    return value
