"""The readers of the other formats: Anthropic, ShareGPT, Batch API, traces; compression."""

from __future__ import annotations

import base64
import gzip
import json
import shutil

import pytest
from log_factory import png
from logs_helpers import one, recount, tokens, write_lines

from tokenomix.logs import Approximation, Recount, RecountOptions, counts, trace

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello there"}]}


# Anthropic ----------------------------------------------------------------------------------


def test_anthropic_messages(tmp_path):
    image = base64.b64encode(base64.b64decode(png(200, 200).split(",")[1])).decode()
    tool = {
        "name": "get_stock",
        "description": "Price of a stock.",
        "input_schema": {"type": "object", "properties": {"ticker": {"type": "string"}}},
        "cache_control": {"type": "ephemeral"},
    }
    record = {
        "model": "claude-sonnet-4-5",
        "system": [
            {
                "type": "text",
                "text": "You are a trading assistant.",
                "cache_control": {"type": "ephemeral"},
            }
        ],
        "tools": [tool],
        "messages": [
            {"role": "user", "content": "What is ACME at?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "get_stock",
                        "input": {"ticker": "ACME"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "ACME: 42.10 USD"}
                ],
            },
            {"role": "assistant", "content": "ACME trades at 42.10."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": image},
                    },
                    {"type": "text", "text": "And this chart?"},
                ],
            },
        ],
        "response": {
            "type": "message",
            "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "It is rising."}],
            "usage": {
                "input_tokens": 30,
                "cache_read_input_tokens": 200,
                "cache_creation_input_tokens": 10,
                "output_tokens": 7,
            },
        },
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["system"] == tokens("You are a trading assistant.")
    definition = {k: v for k, v in tool.items() if k != "cache_control"}
    assert row["tools"] == tokens(json.dumps(definition, separators=(",", ":")))
    assert row["context"] == tokens("ACME: 42.10 USD")
    assert row["history"] == (
        tokens("What is ACME at?")
        + tokens("Let me look.")
        + tokens("get_stock")
        + tokens('{"ticker":"ACME"}')
        + tokens("ACME trades at 42.10.")
    )
    assert row["user"] == tokens("And this chart?")
    assert row["images"] == 54  # 200 x 200 / 750, rounded up
    assert row["overhead"] == 0
    assert row["output"] == tokens("It is rising.")
    # input_tokens excludes cache reads and writes: they are added back.
    assert row["usage"] == [240, 200, 10, 7, None]
    assert row["turn"] == 2
    assert row["flags"] == (
        Approximation.TOOLS | Approximation.ENCODING_GUESSED | Approximation.FRAMING_UNPUBLISHED
    )


def test_anthropic_stream_usage_is_not_added_up(tmp_path):
    events = [
        {
            "type": "message_start",
            "message": {
                "model": "claude-haiku-4-5",
                "usage": {"input_tokens": 12, "cache_read_input_tokens": 0, "output_tokens": 1},
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "message_delta", "usage": {"input_tokens": 12, "output_tokens": 5}},
    ]
    record = {
        "model": "claude-haiku-4-5",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
        "response": events,
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["usage"] == [12, 0, None, 5, None]
    assert row["output"] == tokens("Hello")


# ShareGPT -----------------------------------------------------------------------------------


def test_sharegpt_every_assistant_turn_is_a_request(tmp_path, shared_dir):
    source = (
        shared_dir / "traces" / "conversations" / "fastchat_dummy_conversation_sharegpt_format.json"
    )
    conversations = json.loads(source.read_text())[:40]
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(conversations, indent=2))  # one JSON document, pretty-printed
    rows, run = recount(str(path), model="gpt-4o")
    assert run.files[0].format == "sharegpt"
    turns = [t for c in conversations for t in c["conversations"]]
    assert len(rows) == sum(t["from"] == "gpt" for t in turns)
    first = conversations[0]["conversations"]
    assert rows[0]["user"] == tokens(first[0]["value"])
    assert rows[0]["output"] == tokens(first[1]["value"])
    assert rows[0]["overhead"] == 3 + tokens("user") + 3
    second = [r for r in rows if r["line"] == 1]
    if len(second) > 1:
        assert second[1]["history"] == tokens(first[0]["value"]) + tokens(first[1]["value"])
        assert second[1]["turn"] == 2
    assert {r["line"] for r in rows} == set(range(1, 41))  # record k of the array is line k


# Batch API ----------------------------------------------------------------------------------


def test_batch_input_and_output_are_joined_on_custom_id(tmp_path):
    inputs = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Q{i}"}]},
        }
        for i in range(3)
    ]
    outputs = [
        {
            "id": "b1",
            "custom_id": "r2",
            "response": {
                "status_code": 200,
                "body": {
                    "model": "gpt-4o-mini-2024-07-18",
                    "choices": [{"message": {"content": "A2"}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 2},
                },
            },
            "error": None,
        },
        {
            "id": "b2",
            "custom_id": "r0",
            "response": {
                "status_code": 200,
                "body": {
                    "choices": [{"message": {"content": "A zero"}}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 3},
                },
            },
            "error": None,
        },
        {"id": "b3", "custom_id": "r0", "response": None, "error": {"message": "dup"}},
        {"id": "b4", "custom_id": "r9", "response": None, "error": {"code": "expired"}},
    ]
    input_path = write_lines(tmp_path / "batch_input.jsonl", inputs)
    output_path = write_lines(tmp_path / "batch_output.jsonl", outputs)
    rows, run = recount([input_path, output_path])
    assert [f.format for f in run.files] == ["openai-batch", "openai-batch"]
    assert [f.role for f in run.files] == ["input", "output"]
    by_id = {r["custom_id"]: r for r in rows}
    assert by_id["r0"]["output"] == tokens("A zero")
    assert by_id["r0"]["usage"][0] == 11
    assert by_id["r0"]["flags"] == 0  # a response without a model flags nothing
    assert by_id["r2"]["output"] == tokens("A2")
    assert by_id["r1"]["output"] is None and by_id["r1"]["usage"] == [None] * 5
    assert by_id["r1"]["input"] == 3 + tokens("user") + tokens("Q1") + 3
    output_file = run.files[1]
    assert (output_file.records, output_file.joined, output_file.skipped) == (4, 2, 2)
    assert sorted(run.skips.by_kind) == ["duplicate custom_id", "unmatched batch output"]
    for file in run.files:
        assert file.records == file.counted + file.skipped + file.joined


def test_other_batch_endpoints_are_skipped_with_a_reason(tmp_path):
    line = {"custom_id": "e1", "url": "/v1/embeddings", "body": {"model": "x", "input": "y"}}
    rows, run = recount(
        write_lines(
            tmp_path / "b.jsonl",
            [line, {"custom_id": "e2", "url": "/v1/chat/completions", "body": CHAT}],
        )
    )
    assert len(rows) == 1
    assert run.skips.first[0].kind == "unsupported"
    assert "/v1/embeddings" in run.skips.first[0].reason


# Traces -------------------------------------------------------------------------------------


def test_azure_trace_csv(tmp_path, shared_dir):
    source = shared_dir / "traces" / "azure2023_AzureLLMInferenceTrace_code.csv"
    rows, run = recount(str(source))
    lines = source.read_text().splitlines()[1:]
    assert len(rows) == len(lines)
    assert run.files[0].format == "trace"
    cells = [line.split(",") for line in lines]
    assert [r["input"] for r in rows] == [int(cell[1]) for cell in cells]
    assert [r["output"] for r in rows] == [int(cell[2]) for cell in cells]
    assert rows[0]["line"] == 2 and not rows[0]["attributed"]
    assert rows[0]["timestamp"] == pytest.approx(1700158623.97996)


def test_trace_csv_bad_rows_are_skipped(tmp_path):
    path = tmp_path / "trace.csv.gz"
    path.write_bytes(
        gzip.compress(
            b"TIMESTAMP,ContextTokens,GeneratedTokens\n"
            b"2024-01-01 00:00:00,10,2\n2024-01-01 00:00:01,x,3\n"
            b"2024-01-01 00:00:02,7,-1\n2024-01-02 00:00:00,5,1\n"
        )
    )
    rows, run = recount(str(path))
    assert [(r["line"], r["input"], r["output"]) for r in rows] == [(2, 10, 2), (5, 5, 1)]
    assert [(s.line, s.kind) for s in run.skips.first] == [
        (3, "bad trace row"),
        (4, "bad trace row"),
    ]


@pytest.mark.parametrize("block_bytes", [64, 4 << 20])
def test_trace_csv_rows_of_the_wrong_width_are_skipped_with_their_line(
    tmp_path, monkeypatch, block_bytes
):
    # Small blocks put the bad rows at the start, middle and end of batches.
    monkeypatch.setattr(trace, "CSV_BLOCK_BYTES", block_bytes)
    good = [f"2024-01-01 00:00:{i:02d},{100 + i},{i}" for i in range(40)]
    bad = {3: "bad,row", 11: "x,1,2,3", 12: "y", 29: "1,2,3,4,5", 43: "last,bad"}
    lines, rows_left = [], iter(good)
    for line in range(2, 2 + len(good) + len(bad)):
        lines.append(bad.get(line) or next(rows_left))
    path = tmp_path / "trace.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(lines) + "\n")
    rows, run = recount(str(path))
    expected = [(n, int(text.split(",")[1])) for n, text in enumerate(lines, 2) if n not in bad]
    assert [(r["line"], r["input"]) for r in rows] == expected
    assert [(s.line, s.reason) for s in run.skips.first] == [
        (3, "2 cells where the header has 3"),
        (11, "4 cells where the header has 3"),
        (12, "1 cell where the header has 3"),
        (29, "5 cells where the header has 3"),
        (43, "2 cells where the header has 3"),
    ]
    assert run.records == len(lines)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (100.0, 100), ("12", 12), (" 12 ", 12), ("100.0", 100), ("1e3", 1000)],
)
def test_token_counts_given_as_whole_floats_or_text(value, expected):
    assert counts.token_count(value, "n") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "no n"),
        ("", "no n"),
        (4.5, "n is 4.5, not a whole number of tokens"),
        ("4.5", "n is 4.5, not a whole number of tokens"),
        (float("nan"), "n is nan, not a whole number of tokens"),
        (-5, "n is -5, a negative number of tokens"),
        ("-5.0", "n is -5, a negative number of tokens"),
        ("abc", "n is 'abc', not a number of tokens"),
        (True, "n is True, not a whole number of tokens"),
        ([1], "n is [1], not a whole number of tokens"),
        (2**40 + 1, "n is 1099511627777, more than 2**40 tokens"),
        ("99999999999999999999999", "n is 99999999999999999999999, more than 2**40 tokens"),
    ],
)
def test_bad_token_counts_say_what_is_wrong(value, message):
    with pytest.raises(ValueError) as error:
        counts.token_count(value, "n")
    assert str(error.value) == message


def test_the_token_limit_is_the_estimators():
    from tokenomix import cost

    where = {"model": "Llama-3.1-8B", "gpu": "H100"}
    cost.estimate([counts.MAX_TOKENS], [1], **where)
    with pytest.raises(ValueError, match=r"more than 2\*\*40"):
        cost.estimate([counts.MAX_TOKENS + 1], [1], **where)


def test_a_truncated_compressed_csv_trace_keeps_what_was_read(tmp_path, monkeypatch):
    monkeypatch.setattr(trace, "CSV_BLOCK_BYTES", 1 << 12)
    rows = "".join(f"2024-01-01 00:00:00,{i},1\n" for i in range(20_000))
    packed = gzip.compress(("TIMESTAMP,ContextTokens,GeneratedTokens\n" + rows).encode())
    path = tmp_path / "trace.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    read, run = recount(str(path))
    assert 0 < len(read) < 20_000
    assert [r["input"] for r in read] == list(range(len(read)))
    (skip,) = run.skips.first
    assert skip.kind == "truncated file" and skip.line == len(read) + 2


def test_parquet_trace_with_gaps_stored_as_floats(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"input_tokens": [100.0, None, 250.0], "output_tokens": [1.0, 2.0, 3.0]})
    pq.write_table(table, tmp_path / "trace.parquet")
    rows, run = recount(str(tmp_path / "trace.parquet"))
    assert [(r["line"], r["input"], r["output"]) for r in rows] == [(1, 100, 1), (3, 250, 3)]
    assert [(s.line, s.reason) for s in run.skips.first] == [(2, "no input_tokens")]


@pytest.mark.parametrize(
    "values",
    [
        ["2023-11-16 18:15:46.6805900", "2023-11-17 00:00:00", "2024-02-29T23:59:59.999999"],
        ["2024-06-01T10:00:00Z", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00.123456789Z"],
        ["2024-06-01", "2024-06-01T10:00"],
        ["2024-06-01T10:00:00Z", "2024-06-01 10:00:00"],  # mixed: value by value
        ["1700158546", "1700158546680", "12.5", "not a time"],
    ],
)
def test_trace_timestamps_read_at_once_as_one_by_one(values):
    import pyarrow as pa

    from tokenomix.logs.context import parse_timestamp

    column = pa.chunked_array([pa.array(values[:1]), pa.array(values[1:])])
    expected = [parse_timestamp(trace._number(value)) for value in values]
    assert trace._timestamps(column).tolist() == pytest.approx(expected, nan_ok=True, abs=0)


def test_parquet_timestamp_columns_are_dates(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    moment = datetime.datetime(2024, 6, 1, 10, 0, 0, 123456)
    table = pa.table({"timestamp": pa.array([moment], pa.timestamp("us")), "input_tokens": [5]})
    pq.write_table(table, tmp_path / "trace.parquet")
    rows, _ = recount(str(tmp_path / "trace.parquet"))
    expected = moment.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert rows[0]["timestamp"] == expected


def test_mooncake_trace_jsonl(tmp_path, shared_dir):
    source = shared_dir / "traces" / "mooncake_fast25_synthetic_trace.jsonl"
    records = [json.loads(line) for line in source.read_text().splitlines()[:500]]
    path = write_lines(tmp_path / "mooncake.jsonl", records)
    rows, run = recount(path)
    assert run.files[0].format == "trace"
    assert [r["input"] for r in rows] == [r["input_length"] for r in records]
    assert [r["output"] for r in rows] == [r["output_length"] for r in records]
    # Mooncake timestamps are milliseconds from the start of the trace: no date.
    assert all(r["timestamp"] != r["timestamp"] for r in rows)


def test_parquet_trace_with_named_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "when": ["2024-06-01T10:00:00Z", "2024-06-02T10:00:00Z"],
            "in_tok": [100, 250],
            "out_tok": [10, 20],
            "model": ["gpt-4o", "gpt-4o"],
        }
    )
    path = tmp_path / "trace.parquet"
    pq.write_table(table, path)
    with pytest.raises(ValueError, match="--input-column"):
        list(Recount([str(path)], RecountOptions(jobs=1)).batches())
    rows, _ = recount(
        str(path), input_column="in_tok", output_column="out_tok", timestamp_column="when"
    )
    assert [(r["line"], r["input"], r["output"], r["model"]) for r in rows] == [
        (1, 100, 10, "gpt-4o"),
        (2, 250, 20, "gpt-4o"),
    ]


# Files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_logs_are_read_as_such(tmp_path, compression):
    plain = write_lines(tmp_path / "log.jsonl", [CHAT] * 5)
    data = (tmp_path / "log.jsonl").read_bytes()
    if compression == "gzip":
        packed = gzip.compress(data)
    else:
        import zstandard

        packed = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / "log.bin"  # told by content, not by name
    path.write_bytes(packed)
    rows, _ = recount(str(path))
    assert [r["input"] for r in rows] == [r["input"] for r in recount(plain)[0]]


def test_several_files_and_globs(tmp_path):
    for name in ("a", "b", "c"):
        write_lines(tmp_path / f"{name}.jsonl", [CHAT] * 2)
    rows, run = recount([str(tmp_path / "[ab].jsonl"), str(tmp_path / "c.jsonl")])
    assert [f.path.rsplit("/", 1)[1] for f in run.files] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert len(rows) == 6
    with pytest.raises(FileNotFoundError, match="no file matches"):
        Recount([str(tmp_path / "*.none")], RecountOptions())
    with pytest.raises(FileNotFoundError, match="no such file"):
        Recount([str(tmp_path / "missing.jsonl")], RecountOptions())


def test_format_option_and_detection_errors(tmp_path):
    path = write_lines(tmp_path / "odd.jsonl", [{"prompt": "x"}] * 3)
    with pytest.raises(ValueError, match="--format"):
        Recount([path], RecountOptions())
    shutil.copy(path, tmp_path / "odd2.jsonl")
    rows, run = recount(str(tmp_path / "odd2.jsonl"), format="openai-chat")
    assert rows == [] and run.skips.by_kind == {"wrong shape": 3}


def test_a_csv_trace_naming_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("TIMESTAMP,ContextTokens,ContextTokens\n2024-01-01 00:00:00,1,2\n")
    with pytest.raises(ValueError, match=r"trace\.csv: the header names 'ContextTokens' twice"):
        recount(str(path))
