"""Recounting one chunk of lines: parse, plan, count; the same in a worker or in-process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from tokenomix.errors import json_type
from tokenomix.logs.anthropic import plan_anthropic_record
from tokenomix.logs.batch import BatchBuilder, RequestBatch
from tokenomix.logs.chat_columns import ChatColumns, gather_chat_columns
from tokenomix.logs.context import ReaderContext
from tokenomix.logs.errors import RecordError
from tokenomix.logs.openai_batch import plan_batch_input, plan_batch_output
from tokenomix.logs.openai_chat import plan_chat_record
from tokenomix.logs.options import RecountOptions
from tokenomix.logs.sharegpt import plan_sharegpt_record
from tokenomix.logs.sources import LineChunk
from tokenomix.logs.trace import plan_trace_record

Planner = Callable[[dict[str, Any], BatchBuilder, ReaderContext, int], None]

PLANNERS: dict[tuple[str, str | None], Planner] = {
    ("openai-chat", None): plan_chat_record,
    ("openai-batch", "input"): plan_batch_input,
    ("openai-batch", "output"): plan_batch_output,
    ("anthropic", None): plan_anthropic_record,
    ("sharegpt", None): plan_sharegpt_record,
    ("trace", "jsonl"): plan_trace_record,
}

# Errors a planner may raise on JSON of a shape it does not expect, reported as such.
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)

_worker_context: ReaderContext | None = None


def init_worker(options: RecountOptions) -> None:
    """Set up a worker process: one thread each, the pool gives the parallelism."""
    global _worker_context
    _worker_context = ReaderContext(options, num_threads=1)


def run_in_worker(chunk: LineChunk, kind: tuple[str, str | None]) -> RequestBatch:
    """Recount a chunk in a worker process set up by `init_worker`."""
    assert _worker_context is not None, "init_worker was not called"
    return process_chunk(chunk, kind, _worker_context)


def process_chunk(
    chunk: LineChunk, kind: tuple[str, str | None], context: ReaderContext
) -> RequestBatch:
    """Parse every line of a chunk, gather its requests, and count them in one batch."""
    builder = gather_chunk(chunk, kind, context)
    return builder.build(batch_kind(kind))


def batch_kind(kind: tuple[str, str | None]) -> str:
    """Return the RequestBatch kind of the chunks of a file of this (format, role)."""
    return "batch-output" if kind[1] == "output" else "requests"


def gather_chunk(
    chunk: LineChunk, kind: tuple[str, str | None], context: ReaderContext
) -> BatchBuilder | ChatColumns:
    """Parse every line of a chunk and gather its requests (counting is left to `build`).

    A chunk of plain chat records is read as columns (logs/chat_columns.py); any other is
    walked record by record.
    """
    if kind == ("openai-chat", None):
        columns = gather_chat_columns(chunk.data, chunk.file_index, context)
        if columns is not None:
            return columns
    return walk_chunk(chunk, kind, context)


def walk_chunk(
    chunk: LineChunk, kind: tuple[str, str | None], context: ReaderContext
) -> BatchBuilder:
    """Parse every line of a chunk in Python and gather its requests."""
    planner = PLANNERS[kind]
    builder = context.builder(chunk.file_index)
    # Line numbers are relative to the chunk; the pipeline adds the chunk's offset.
    number = 0
    for raw in _lines(chunk.data):
        number += 1
        try:
            record = load_record(raw)
        except RecordError as error:
            if not bytes(raw).strip():
                builder.blank_lines += 1
                continue
            builder.records += 1
            builder.skip(number, error.kind, error.message)
            continue
        builder.records += 1
        mark = builder.mark()
        try:
            planner(record, builder, context, number)
        except RecordError as error:
            builder.rollback(mark)
            builder.skip(number, error.kind, error.message)
        except _SHAPE_ERRORS as error:
            builder.rollback(mark)
            builder.skip(number, "wrong shape", f"unexpected record shape ({error!r})")
    builder.line_count = number
    return builder


def _lines(data: bytes) -> Iterator[memoryview]:
    # Views into the chunk, not copies (orjson parses a memoryview as it parses bytes).
    view = memoryview(data)
    find = data.find
    size = len(data)
    start = 0
    while start < size:
        end = find(b"\n", start)
        if end == -1:
            end = size
        yield view[start:end]
        start = end + 1


def load_record(raw: bytes | memoryview) -> dict[str, Any]:
    """Parse one line into a JSON object.

    orjson rejects strings with lone surrogate escapes (valid JSON, seen in logs of clients
    that cut text mid-emoji); such lines are parsed again by the standard library and their
    lone surrogates replaced by U+FFFD, as tiktoken's encode does.

    Raises:
        RecordError: the line is not valid UTF-8, not JSON, or not an object.
    """
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        record = _load_slowly(raw, error)
    if not isinstance(record, dict):
        raise RecordError(
            "wrong shape", f"the line holds a JSON {json_type(record)}, not an object"
        )
    return record


def _load_slowly(raw: bytes | memoryview, error: orjson.JSONDecodeError) -> Any:
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as bad:
        raise RecordError(
            "invalid UTF-8", f"invalid UTF-8 at byte {bad.start} of the line"
        ) from None
    try:
        return _repair(json.loads(text))
    except (json.JSONDecodeError, RecursionError):
        raise RecordError("not JSON", str(error)) from None


def _repair(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_repair(item) for item in value]
    if isinstance(value, dict):
        return {_repair(key): _repair(item) for key, item in value.items()}
    return value
