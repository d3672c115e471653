"""Plain OpenAI chat chunks read as Arrow columns, without a Python walk over the records.

Design notes. Walking records in Python (openai_chat.py) costs more than counting their
text when turns are short: on a 16 MiB log of one-shot requests with turns of 10 to 120
characters (`short` in bench/test_bench_report.py, 2-core EPYC), orjson took 0.25 s, the
walk 0.4 s more, and count_batch 0.12 s for all the text. Most logs are plain: messages of a
role and a string content, a model, perhaps a chat completion with usage and a timestamp.
For such a chunk, pyarrow's JSON reader (native, on every core) parses it into columns,
attribution is NumPy over the list offsets, and the text is counted in place in the Arrow
buffers, once per distinct string (`pyarrow.compute.dictionary_encode`).

The fast path is taken only when the chunk's columns prove that every record has the plain
shape, and that Arrow reads each line as orjson does: one object a line, valid UTF-8, no
blank line, no byte order mark, no duplicate key (Arrow refuses those, orjson keeps the
last). Anything else (tools, content parts, names, tool calls, streams, metadata, a bad
record) sends the whole chunk through the Python walk, so figures and skip reports are the
same either way; tests compare the two paths on generated logs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from tokenomix.encoding import Encoding
from tokenomix.logs.batch import MISSING, RequestBatch
from tokenomix.logs.components import (
    CONTEXT,
    HISTORY,
    NUM_COMPONENTS,
    OUTPUT,
    OVERHEAD,
    SYSTEM,
    USER,
)
from tokenomix.logs.context import YEAR_10000, ModelInfo, ReaderContext, parse_timestamp
from tokenomix.logs.errors import RecordError
from tokenomix.logs.usage import USAGE_FIELDS, parse_usage

_ROLE_COMPONENT = {"system": SYSTEM, "developer": SYSTEM, "tool": CONTEXT, "function": CONTEXT}
# Usage fields of chat completions: with only these, a usage object reads the same from a
# column (where absent keys are null) as from its JSON (where they are absent).
_CHAT_USAGE = {
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
}
_TIME_KEYS = ("timestamp", "created_at", "time")
# Fields the Python walk reads that the fast path does not: a chunk has them all null.
_UNREAD = ("tools", "functions", "response_format", "metadata")
_BLOCK_BYTES = 1 << 20
_MAX_DEPTH = 64  # of a field's type: plain records nest 6 deep


class NotPlain(Exception):
    """The chunk is not plain chat records: the Python walk reads it."""


@dataclasses.dataclass
class ChatColumns:
    """The requests of a plain chat chunk, attributed, their text not yet counted."""

    file_index: int
    num_threads: int | None
    infos: list[ModelInfo]  # distinct models of the chunk
    row_info: np.ndarray  # per request: index into infos
    texts: pa.Array  # every counted string: message contents, then outputs
    text_slots: np.ndarray  # per text: request x NUM_COMPONENTS + component
    overhead: np.ndarray  # per request: framing tokens
    has_output: np.ndarray
    user_turns: np.ndarray
    usage: np.ndarray
    timestamps: np.ndarray
    conversations: list[str | None]

    def build(self, kind: str = "requests") -> RequestBatch:
        """Count every text and return the chunk's requests as columns."""
        n = len(self.row_info)
        cells = np.bincount(self.text_slots, self._counts(), n * NUM_COMPONENTS)
        components = np.rint(cells).astype(np.int64).reshape(n, NUM_COMPONENTS)
        components[:, OVERHEAD] += self.overhead
        infos = self.infos
        return RequestBatch(
            file_index=self.file_index,
            kind=kind,
            lines=np.arange(1, n + 1, dtype=np.int64),
            models=[infos[i].name for i in self.row_info.tolist()],
            encodings=[infos[i].encoding.name for i in self.row_info.tolist()],
            components=components,
            input_tokens=components[:, :OUTPUT].sum(axis=1),
            output_tokens=components[:, OUTPUT].copy(),
            has_output=self.has_output,
            attributed=np.ones(n, dtype=bool),
            flags=np.array([info.flags for info in infos], dtype=np.int32)[self.row_info],
            images=np.zeros(n, dtype=np.int32),
            images_unmeasured=np.zeros(n, dtype=np.int32),
            usage=self.usage,
            timestamps=self.timestamps,
            conversations=self.conversations,
            user_turns=self.user_turns,
            custom_ids=[None] * n,
            records=n,
            line_count=n,
        )

    def _counts(self) -> np.ndarray:
        # Per encoding, each distinct string is counted once, in place in Arrow's buffers.
        encodings = {info.encoding.name: info.encoding for info in self.infos}
        if len(encodings) == 1:
            return self._count_distinct(next(iter(encodings.values())), self.texts)
        names = list(encodings)
        info_codes = np.array([names.index(info.encoding.name) for info in self.infos])
        text_codes = info_codes[self.row_info[self.text_slots // NUM_COMPONENTS]]
        counts = np.zeros(len(self.texts))
        for code, encoding in enumerate(encodings.values()):
            where = np.flatnonzero(text_codes == code)
            counts[where] = self._count_distinct(encoding, self.texts.take(pa.array(where)))
        return counts

    def _count_distinct(self, encoding: Encoding, texts: pa.Array) -> np.ndarray:
        distinct = pc.dictionary_encode(texts)
        counts = encoding.count_batch(distinct.dictionary, num_threads=self.num_threads)
        return counts[np.asarray(distinct.indices)].astype(np.float64)


def gather_chat_columns(data: bytes, file_index: int, ctx: ReaderContext) -> ChatColumns | None:
    """Read a chunk of openai-chat lines as columns; None when the Python walk must read it
    (the chunk is not plain chat records, or the options need the walk)."""
    if ctx.context_re is not None or ctx.options.savings:
        return None
    try:
        return _plan(_read(data, ctx.num_threads), file_index, ctx)
    except NotPlain:
        return None


# Reading ----------------------------------------------------------------------------------


def _read(data: bytes, num_threads: int | None) -> pa.Table:
    lines = _object_lines(data)
    _require(lines > 0 and _utf8(data))
    threads = num_threads != 1
    try:
        table = _read_json(data, threads, _BLOCK_BYTES if threads else len(data))
    except pa.ArrowInvalid as error:
        if not threads or "straddl" not in str(error):
            raise NotPlain from None
        try:  # a line longer than a block straddles two: read the chunk as one block
            table = _read_json(data, threads, len(data))
        except (pa.ArrowException, ValueError):
            raise NotPlain from None
    except (pa.ArrowException, ValueError):
        raise NotPlain from None
    _require(table.num_rows == lines)
    try:  # pyarrow 26 builds invalid lists from a list whose first item is null
        table.validate(full=True)
    except pa.ArrowInvalid:
        raise NotPlain from None
    # orjson refuses JSON nested deeper than 1024 levels, Arrow reads it.
    _require(max(_depth(field.type) for field in table.schema) < _MAX_DEPTH)
    return table


def _depth(kind: pa.DataType, limit: int = _MAX_DEPTH) -> int:
    """The nesting depth of a type, counted up to `limit`."""
    if limit == 0:
        return 0
    children = (kind.field(i).type for i in range(kind.num_fields))
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _object_lines(data: bytes) -> int:
    """Return the lines of `data` when each starts with "{", else 0.

    Then there is no blank line (Arrow passes over them), no byte order mark (orjson refuses
    it) and no line of `null` (Arrow reads it as a row, and crashes on a first one); with as
    many rows as lines, no line holds two objects either.
    """
    if not data.startswith(b"{"):
        return 0
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == ord("\n"))
    inner = ends[:-1] if data.endswith(b"\n") else ends
    if not (view[inner + 1] == ord("{")).all():
        return 0
    return len(inner) + 1


def _utf8(data: bytes) -> bool:
    # Arrow's JSON reader does not check UTF-8, and a line with invalid UTF-8 is skipped,
    # not counted: the whole chunk is checked first (in place, as one Arrow string).
    offsets = pa.array([0, len(data)], type=pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _read_json(data: bytes, threads: bool, block: int) -> pa.Table:
    options = pa_json.ReadOptions(use_threads=threads, block_size=max(block, 1))
    return pa_json.read_json(pa.BufferReader(data), read_options=options)


def _column(table: pa.Table | pa.StructArray, name: str) -> pa.Array | None:
    """A column (or struct field) as one array; None when absent or null throughout."""
    if isinstance(table, pa.Table):
        if name not in table.column_names:
            return None
        column = table.column(name).combine_chunks()
    else:
        if table.type.get_field_index(name) < 0:
            return None
        column = pc.struct_field(table, name)
    return None if column.null_count == len(column) else column


def _require(condition: bool) -> None:
    if not condition:
        raise NotPlain


# Planning ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Messages:
    rows: np.ndarray  # per message: its request
    first: np.ndarray  # per request: its first message (n + 1 offsets)
    roles: pa.Array
    contents: pa.Array


def _plan(table: pa.Table, file_index: int, ctx: ReaderContext) -> ChatColumns:
    n = table.num_rows
    for name in _UNREAD:
        column = _column(table, name)
        _require(column is None or _empty_lists(column))
    messages = _messages(table)
    response = _column(table, "response")
    _require(response is None or pa.types.is_struct(response.type))
    has_response = _valid(response, n)
    outputs, output_rows, has_output = _response_outputs(response, n)

    # Without a response, a final assistant message is the output.
    roles = pc.dictionary_encode(messages.roles)
    role_names: list[str] = roles.dictionary.to_pylist()
    role_index = np.asarray(roles.indices)
    last = messages.first[1:] - 1
    assistant = np.array([name == "assistant" for name in role_names])
    answered = ~has_response & assistant[role_index[last]]
    _require(not (answered & (np.diff(messages.first) < 2)).any())
    has_output |= answered
    is_input = np.ones(len(role_index), dtype=bool)
    is_input[last[answered]] = False

    infos, row_info = _models(table, response, ctx)
    slots, overhead, user_turns = _attribute(
        messages, role_names, role_index, is_input, infos, row_info, ctx
    )
    return ChatColumns(
        file_index=file_index,
        num_threads=ctx.num_threads,
        infos=infos,
        row_info=row_info,
        texts=pa.concat_arrays([messages.contents, outputs]),
        text_slots=np.concatenate([slots, output_rows * NUM_COMPONENTS + OUTPUT]),
        overhead=overhead,
        has_output=has_output,
        user_turns=user_turns,
        usage=_usage(table, response, n),
        timestamps=_timestamps(table, response, n),
        conversations=_conversations(table, n),
    )


def _empty_lists(column: pa.Array) -> bool:
    # `"tools": []` adds nothing, as no tools at all.
    if not pa.types.is_list(column.type):
        return False
    return pc.max(pc.list_value_length(column)).as_py() == 0


def _valid(column: pa.Array | None, n: int) -> np.ndarray:
    if column is None:
        return np.zeros(n, dtype=bool)
    return np.asarray(column.is_valid())


def _messages(table: pa.Table) -> _Messages:
    column = _column(table, "messages")
    _require(column is not None and column.null_count == 0)
    kind = column.type
    _require(pa.types.is_list(kind) and pa.types.is_struct(kind.value_type))
    fields = {field.name: field.type for field in kind.value_type}
    _require(fields == {"role": pa.string(), "content": pa.string()})
    offsets = np.asarray(column.offsets, dtype=np.int64)
    first = offsets - offsets[0]
    lengths = np.diff(first)
    _require(bool((lengths > 0).all()))
    flat = column.flatten()
    roles, contents = pc.struct_field(flat, "role"), pc.struct_field(flat, "content")
    _require(flat.null_count == 0 and roles.null_count == 0 and contents.null_count == 0)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    return _Messages(rows, first, roles, contents)


def _response_outputs(response: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The output texts of chat completions (choices' message contents), their requests,
    and which requests have an output (a response with choices, even none)."""
    empty = pa.array([], type=pa.string())
    choices = None if response is None else _column(response, "choices")
    if choices is None:
        return empty, np.zeros(0, dtype=np.int64), np.zeros(n, dtype=bool)
    _require(pa.types.is_list(choices.type) and pa.types.is_struct(choices.type.value_type))
    has_output = np.asarray(choices.is_valid())
    rows = np.asarray(pc.list_parent_indices(choices), dtype=np.int64)
    flat = choices.flatten()
    message = _column(flat, "message")
    _require(flat.null_count == 0 and message is not None and message.null_count == 0)
    _require(pa.types.is_struct(message.type))
    for name in ("refusal", "tool_calls", "function_call"):
        _require(_column(message, name) is None)
    content = _column(message, "content")
    if content is None:
        return empty, np.zeros(0, dtype=np.int64), has_output
    _require(content.type == pa.string())
    valid = content.is_valid()
    return content.filter(valid), rows[np.asarray(valid)], has_output


def _models(
    table: pa.Table, response: pa.Array | None, ctx: ReaderContext
) -> tuple[list[ModelInfo], np.ndarray]:
    """The distinct models of the chunk, and each request's index among them."""
    # A request's model, and its response's when it names a deployment; values that are
    # not strings are no model, as in the Python walk.
    n = table.num_rows
    requested, request_names = _codes(_column(table, "model"), n)
    answered, answer_names = _codes(None if response is None else _column(response, "model"), n)
    pairs, row_info = np.unique(requested * (len(answer_names) + 1) + answered, return_inverse=True)
    infos = [
        ctx.model_info(
            request_names[pair // (len(answer_names) + 1)],
            answer_names[pair % (len(answer_names) + 1)],
        )
        for pair in pairs.tolist()
    ]
    return infos, row_info.reshape(-1)


def _codes(column: pa.Array | None, n: int) -> tuple[np.ndarray, list[str | None]]:
    """Codes of a column of names: index into the names, the last of which is None."""
    if column is None or column.type != pa.string():
        return np.zeros(n, dtype=np.int64), [None]
    encoded = pc.dictionary_encode(column)
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.fill_null(len(names)), dtype=np.int64)
    return codes, [*names, None]


def _attribute(
    messages: _Messages,
    role_names: list[str],
    role_index: np.ndarray,
    is_input: np.ndarray,
    infos: list[ModelInfo],
    row_info: np.ndarray,
    ctx: ReaderContext,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each message's slot, and each request's framing tokens and user turns."""
    rows = messages.rows
    n = len(row_info)
    position = np.arange(len(rows))
    is_user = np.array([name == "user" for name in role_names])[role_index] & is_input
    # The last user message of a request is its user turn; the others are history.
    last_user = np.maximum.reduceat(np.where(is_user, position, -1), messages.first[:-1])
    component = np.array([_ROLE_COMPONENT.get(name, HISTORY) for name in role_names])
    component = component[role_index]
    component[is_user & (position == last_user[rows])] = USER
    component[~is_input] = OUTPUT

    # Framing: per message, its fixed tokens and those of its role; then reply priming.
    role_tokens = np.array(
        [[ctx.small_counts(info.encoding)(name) for name in role_names] for info in infos],
        dtype=np.int64,
    )
    per_message = np.array([info.framing.per_message for info in infos], dtype=np.int64)
    priming = np.array([info.framing.reply_priming for info in infos], dtype=np.int64)
    message_info = row_info[rows]
    framing = (per_message[message_info] + role_tokens[message_info, role_index]) * is_input
    overhead = np.bincount(rows, framing, n).astype(np.int64) + priming[row_info]
    user_turns = np.bincount(rows[is_user], minlength=n).astype(np.int32)
    return rows * NUM_COMPONENTS + component, overhead, user_turns


# Metadata ---------------------------------------------------------------------------------


def _usage(table: pa.Table, response: pa.Array | None, n: int) -> np.ndarray:
    """Billed usage: the response's, else the record's (parsed as the Python walk does)."""
    usage = np.full((n, len(USAGE_FIELDS)), MISSING, dtype=np.int64)
    columns = [None if response is None else _column(response, "usage"), _column(table, "usage")]
    given = [_usage_values(column, n) for column in columns if column is not None]
    if not given:
        return usage
    for row in range(n):
        for values in given:
            if values[row] is not None:
                usage[row] = [MISSING if value is None else value for value in values[row]]
                break
    return usage


def _usage_values(column: pa.Array, n: int) -> list[Any]:
    _require(pa.types.is_struct(column.type))
    _require({field.name for field in column.type} <= _CHAT_USAGE)
    counted = [_column(column, name) for name in ("prompt_tokens", "completion_tokens")]
    carried = np.zeros(n, dtype=bool)
    for field in counted:
        carried |= _valid(field, n)
    # A usage object without either count is none at all to the Python walk.
    _require(bool((carried == np.asarray(column.is_valid())).all()))
    try:
        return [parse_usage(value) for value in column.to_pylist()]
    except RecordError:
        raise NotPlain from None


def _timestamps(table: pa.Table, response: pa.Array | None, n: int) -> np.ndarray:
    """Seconds since the epoch: the first of the record's time fields that is not null,
    else the response's `created` (as `parse_timestamp` reads each)."""
    columns = [_column(table, key) for key in _TIME_KEYS]
    columns.append(None if response is None else _column(response, "created"))
    seconds = np.full(n, math.nan)
    chosen = np.zeros(n, dtype=bool)
    for column in columns:
        if column is None:
            continue
        valid = np.asarray(column.is_valid()) & ~chosen
        seconds[valid] = _seconds(column)[valid]
        chosen |= valid
    return seconds


def _seconds(column: pa.Array) -> np.ndarray:
    kind = column.type
    if kind in (pa.int64(), pa.float64()):
        # As Python's float(): an integer rounds to the nearest double.
        values = np.asarray(column.fill_null(0)).astype(np.float64)
        values = np.where(values > 1e11, values / 1000, values)
        return np.where((values >= 1e9) & (values < YEAR_10000), values, math.nan)
    if kind == pa.bool_():
        return np.full(len(column), math.nan)
    if pa.types.is_timestamp(kind) and kind.unit == "s":
        # A column of ISO 8601 date-times in whole seconds, read by Arrow as UTC instants.
        values = np.asarray(column.cast(pa.int64()).fill_null(0)).astype(np.float64)
        return np.where((values >= 0) & (values < YEAR_10000), values, math.nan)
    _require(kind == pa.string())
    return np.array([parse_timestamp(value) for value in column.to_pylist()], dtype=np.float64)


def _conversations(table: pa.Table, n: int) -> list[str | None]:
    column = _column(table, "conversation_id")
    if column is None:
        return [None] * n
    _require(column.type in (pa.string(), pa.int64()))
    return [None if value is None else str(value) for value in column.to_pylist()]
