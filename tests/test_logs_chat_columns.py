"""Plain chat chunks read as columns: the same requests as the Python walk, or no fast path.

The walk (openai_chat.py) is the reference: every chunk the columnar path accepts must give
a RequestBatch equal to the walk's, field by field; every chunk it cannot read exactly must
be declined, so that the walk reads it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenomix.logs import RecountOptions
from tokenomix.logs.batch import RequestBatch
from tokenomix.logs.chat_columns import gather_chat_columns
from tokenomix.logs.components import USER
from tokenomix.logs.context import ReaderContext, fixed_encoding
from tokenomix.logs.sources import LineChunk
from tokenomix.logs.worker import walk_chunk

KIND = ("openai-chat", None)


def lines(records: list[Any], *, ascii_only: bool = True) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records).encode()


def both(data: bytes, options: RecountOptions | None = None, threads: int | None = None):
    context = ReaderContext(options or RecountOptions(), num_threads=threads)
    columns = gather_chat_columns(data, 0, context)
    walked = walk_chunk(LineChunk(0, data), KIND, context).build()
    return (None if columns is None else columns.build()), walked


def assert_same(columns: RequestBatch, walked: RequestBatch) -> None:
    for field in dataclasses.fields(RequestBatch):
        mine, theirs = getattr(columns, field.name), getattr(walked, field.name)
        if isinstance(theirs, np.ndarray):
            assert mine.dtype == theirs.dtype, field.name
            np.testing.assert_array_equal(mine, theirs, err_msg=field.name)
        else:
            assert mine == theirs, field.name


# Generated logs ---------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "critic"])
message = st.fixed_dictionaries({"role": roles, "content": texts})
messages = st.lists(message, min_size=1, max_size=6)
models = st.sampled_from(["gpt-4o", "gpt-4", "o3-mini", "gpt-3.5-turbo", "my-deployment", None])
counts = st.one_of(st.none(), st.integers(0, 10**6), st.integers(0, 1000).map(float))
usage = st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 10**6)},
    optional={
        "completion_tokens": counts,
        "total_tokens": counts,
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": counts}),
        "completion_tokens_details": st.fixed_dictionaries({"reasoning_tokens": counts}),
    },
)
answer = st.fixed_dictionaries({"role": st.just("assistant"), "content": texts | st.none()})
choices = st.lists(
    st.fixed_dictionaries(
        {"message": answer},
        optional={"index": st.integers(0, 3), "finish_reason": st.just("stop")},
    ),
    max_size=2,
)
response = st.fixed_dictionaries(
    {},
    optional={
        "choices": choices | st.none(),
        "model": models,
        "usage": usage | st.none(),
        "created": st.integers(1_600_000_000, 1_800_000_000) | st.none(),
        "id": texts,
    },
)
times = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 2_000_000_000_000),
    st.floats(1e8, 2e12, allow_nan=False),
    st.sampled_from(["2024-03-01T10:00:00Z", "2024-03-01 10:00:00.123456789+02:00", "soon"]),
)
records = st.fixed_dictionaries(
    {"messages": messages},
    optional={
        "model": models,
        "response": response | st.none(),
        "usage": usage | st.none(),
        "timestamp": times,
        "created_at": times,
        "conversation_id": texts | st.integers(0, 10**12) | st.none(),
        "tools": st.just([]) | st.none(),
        "user": texts,
        "temperature": st.floats(0, 2),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, min_size=1, max_size=8), st.booleans(), st.sampled_from([None, 1]))
def test_the_columns_equal_the_walk_on_generated_logs(chunk, ascii_only, threads):
    columns, walked = both(lines(chunk, ascii_only=ascii_only), threads=threads)
    if columns is not None:
        assert_same(columns, walked)


# Any JSON, with the keys of chat records, where records have structure: nulls and other
# types inside lists and objects are where Arrow's reader has gone wrong.
odd = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["role", "content", "message", "choices", "usage", "prompt_tokens"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)
odd_records = st.fixed_dictionaries(
    {"messages": st.lists(message | odd, max_size=4) | odd},
    optional={
        "model": models | odd,
        "response": response | st.lists(response | odd, max_size=2) | odd,
        "usage": usage | odd,
        "timestamp": times | odd,
        "conversation_id": texts | odd,
    },
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records | odd_records, min_size=1, max_size=6))
def test_odd_records_are_walked_or_read_as_the_walk_reads_them(chunk):
    columns, walked = both(lines(chunk))
    if columns is not None:
        assert_same(columns, walked)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({"messages": messages, "model": models}), min_size=1))
def test_plain_chat_takes_the_columns(chunk):
    for record in chunk:  # a request has an input message before its answer
        record["messages"].insert(0, {"role": "user", "content": "Hi."})
    columns, walked = both(lines(chunk))
    assert columns is not None
    assert_same(columns, walked)


def test_a_generated_log_with_responses_and_metadata_takes_the_columns():
    record = {
        "model": "gpt-4o-2024-08-06",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi 👋"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Sum 2+2."},
        ],
        "response": {
            "model": "gpt-4o-2024-08-06",
            "created": 1_717_000_000,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 1, "total_tokens": 41},
        },
        "timestamp": "2024-06-01T00:00:00Z",
        "conversation_id": 7,
    }
    answered = {"messages": record["messages"] + [{"role": "assistant", "content": "Four."}]}
    columns, walked = both(lines([record, answered, {**record, "response": None}]))
    assert columns is not None
    assert_same(columns, walked)
    assert walked.user_turns.tolist() == [2, 2, 2]
    assert walked.has_output.tolist() == [True, True, False]


@pytest.mark.parametrize(
    "moment",
    [
        "2024-03-01T10:00:00Z",
        "2024-03-01",
        "2024-03-01 10:00:00",
        "2024-03-01T10:00:00+05:30",
        "2024-03-01T10:00:00.250Z",
        "1969-12-31T23:59:59Z",
        "2024-12-31T23:59:60Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_date_times_arrow_reads_as_timestamps_equal_the_walk(moment):
    # Arrow types a column of ISO 8601 strings as timestamps; the instants must not change.
    record = {"messages": [{"role": "user", "content": "hi"}], "timestamp": moment}
    columns, walked = both(lines([record, record]))
    if columns is not None:
        assert_same(columns, walked)


def test_each_request_is_counted_with_the_encoding_of_its_model():
    text = "नमस्ते दुनिया, 안녕하세요 세계 " * 5  # 115 tokens in cl100k_base, 42 in o200k_base
    chunk = [
        {"model": model, "messages": [{"role": "user", "content": text}]}
        for model in ["gpt-4", "gpt-4o", "gpt-4", "no-such-model"]
    ]
    columns, walked = both(lines(chunk))
    assert columns is not None
    assert_same(columns, walked)
    assert columns.encodings == ["cl100k_base", "o200k_base", "cl100k_base", "o200k_base"]
    assert columns.components[0, USER] != columns.components[1, USER]


def test_a_line_longer_than_a_block_is_read_whole():
    record = {"model": "gpt-4o", "messages": [{"role": "user", "content": "word " * 400_000}]}
    columns, walked = both(lines([record, record]))
    assert columns is not None
    assert_same(columns, walked)


# What the columns cannot read exactly -----------------------------------------------------

PLAIN = '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
DECLINED = {
    "tools": '{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "x"}]}',
    "a name": '{"messages": [{"role": "user", "content": "hi", "name": "ann"}]}',
    "content parts": '{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}',
    "null content": '{"messages": [{"role": "user", "content": null}]}',
    "no messages": '{"model": "gpt-4o"}',
    "empty messages": '{"messages": []}',
    "a stream": '{"messages": [{"role": "user", "content": "hi"}], "response": [{"choices": []}]}',
    "tool calls": '{"messages": [{"role": "user", "content": "hi"}], "response": {"choices": '
    '[{"message": {"content": null, "tool_calls": [{"function": {"name": "f"}}]}}]}}',
    "a refusal": '{"messages": [{"role": "user", "content": "hi"}], "response": {"choices": '
    '[{"message": {"content": null, "refusal": "no"}}]}}',
    "metadata": '{"messages": [{"role": "user", "content": "hi"}], "metadata": {"a": 1}}',
    "a response schema": '{"messages": [{"role": "user", "content": "hi"}], '
    '"response_format": {"type": "json_schema"}}',
    "anthropic usage": '{"messages": [{"role": "user", "content": "hi"}], '
    '"usage": {"input_tokens": 3, "output_tokens": 1}}',
    "usage without counts": '{"messages": [{"role": "user", "content": "hi"}], '
    '"usage": {"total_tokens": 3}}',
    "bad usage": '{"messages": [{"role": "user", "content": "hi"}], '
    '"usage": {"prompt_tokens": -1}}',
    "a lone surrogate": '{"messages": [{"role": "user", "content": "\\ud83d"}]}',
    "a duplicate key": '{"messages": [{"role": "user", "content": "a", "content": "b"}]}',
    "time as an object": '{"messages": [{"role": "user", "content": "hi"}], "time": {"s": 1}}',
    "a float conversation": '{"messages": [{"role": "user", "content": "hi"}], '
    '"conversation_id": 1.5}',
    "only an answer": '{"messages": [{"role": "assistant", "content": "hi"}]}',
    # Arrow reads a list whose first item is null into an invalid array.
    "a null message first": '{"messages": [null, {"role": "user", "content": "hi"}]}',
    "a null choice first": '{"messages": [{"role": "user", "content": "hi"}], '
    '"response": {"choices": [null, {"message": {"content": "x"}}]}}',
    # orjson refuses JSON nested over 1024 deep.
    "deep nesting": PLAIN[:-1] + ', "meta": ' + "[" * 1100 + "]" * 1100 + "}",
    "a stream from null": '{"messages": [{"role": "user", "content": "hi"}], '
    '"response": [null, {"choices": []}]}',
    "not an object": "null",
    "two objects": PLAIN + " " + PLAIN,
    "a blank line": "",
    "a byte order mark": "\ufeff" + PLAIN,
    "not JSON": "{oops",
}


@pytest.mark.parametrize("line", list(DECLINED.values()), ids=list(DECLINED))
def test_chunks_the_columns_cannot_read_exactly_are_walked(line):
    for data in [f"{line}\n{PLAIN}\n".encode(), f"{PLAIN}\n{line}\n{PLAIN}".encode()]:
        context = ReaderContext(RecountOptions(), num_threads=None)
        assert gather_chat_columns(data, 0, context) is None


def test_invalid_utf8_is_walked():
    data = PLAIN.encode() + b"\n" + PLAIN.replace("hi", "h\xff").encode("latin-1") + b"\n"
    context = ReaderContext(RecountOptions(), num_threads=None)
    assert gather_chat_columns(data, 0, context) is None
    assert len(walk_chunk(LineChunk(0, data), KIND, context).skips) == 1


@pytest.mark.parametrize(
    "options",
    [
        RecountOptions(savings=True),
        RecountOptions(context_pattern="<doc>.*?</doc>"),
    ],
    ids=["savings", "a context pattern"],
)
def test_options_the_columns_do_not_model_are_walked(options):
    context = ReaderContext(options, num_threads=None)
    assert gather_chat_columns(f"{PLAIN}\n".encode(), 0, context) is None


@pytest.mark.parametrize("name", ["gpt2", "llama3_1", "qwen2_5"])
def test_a_tokenizer_file_counts_the_columns_as_the_walk(name, shared_dir):
    options = RecountOptions(tokenizer=str(shared_dir / "vocab" / "hf" / f"{name}.tokenizer.json"))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(records, min_size=1, max_size=6), st.booleans())
    def check(chunk, ascii_only):
        columns, walked = both(lines(chunk, ascii_only=ascii_only), options, threads=1)
        if columns is not None:
            assert_same(columns, walked)

    check()
    plain = both(f"{PLAIN}\n".encode(), options)[0]
    assert plain is not None and plain.encodings == [fixed_encoding(options).name]
