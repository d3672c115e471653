"""The openai-chat reader: framing, components, tools, images, responses, metadata."""

from __future__ import annotations

import base64
import json

import pytest
from log_factory import TOOL, png
from logs_helpers import one, recount, tokens, write_lines

from tokenomix.logs import Approximation


def case(shared_dir, case_id):
    lines = (shared_dir / "cases" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return next(json.loads(line) for line in lines if json.loads(line)["id"] == case_id)


# Billed figures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4", 129), ("gpt-3.5-turbo", 129)],
)
def test_the_cookbook_example_counts_as_the_api_billed(tmp_path, shared_dir, model, expected):
    # cases.jsonl C23: prompt_tokens as the API reported them.
    messages = json.loads(case(shared_dir, "C23")["input"])["messages"]
    row = one(tmp_path / "log.jsonl", {"model": model, "messages": messages})
    assert row["input"] == expected
    assert row["flags"] == 0


def test_reasoning_models_prime_the_reply_with_one_token_less(tmp_path, shared_dir):
    messages = json.loads(case(shared_dir, "C23")["input"])["messages"]
    row = one(tmp_path / "log.jsonl", {"model": "o3-mini", "messages": messages})
    assert row["input"] == 123


def test_tool_definitions_follow_the_published_rule(tmp_path):
    # The cookbook's tool example: 101 prompt tokens billed for gpt-4o, 105 for gpt-4.
    tool = {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
    messages = [
        {
            "role": "system",
            "content": "You are a helpful assistant that can answer to questions about the "
            "weather.",
        },
        {"role": "user", "content": "What's the weather like in San Francisco?"},
    ]
    for model, expected in (
        ("gpt-4o", 101),
        ("gpt-4o-mini", 101),
        ("gpt-4", 105),
        ("gpt-3.5-turbo", 105),
    ):
        row = one(tmp_path / "log.jsonl", {"model": model, "messages": messages, "tools": [tool]})
        assert row["input"] == expected, model
        assert row["flags"] == Approximation.TOOLS


# Components by hand -------------------------------------------------------------------------


def test_every_component_of_a_conversation(tmp_path):
    system, first, reply, question, answer = (
        "You answer in one line.",
        "Hi there",
        "Hello! How can I help?",
        "What is the capital of France?",
        "Paris.",
    )
    record = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "name": "ann", "content": first},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": question},
        ],
        "response": {"choices": [{"message": {"role": "assistant", "content": answer}}]},
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["system"] == tokens(system)
    assert row["history"] == tokens(first) + tokens(reply)
    assert row["user"] == tokens(question)
    assert row["context"] == row["tools"] == row["images"] == 0
    # 3 per message, each role, the name and its extra token, 3 to prime the reply.
    roles = tokens("system") + 2 * tokens("user") + tokens("assistant")
    assert row["overhead"] == 4 * 3 + roles + tokens("ann") + 1 + 3
    assert row["output"] == tokens(answer)
    assert row["input"] == sum(
        row[c] for c in ("system", "tools", "context", "history", "user", "images", "overhead")
    )
    assert row["turn"] == 2  # two user turns, no conversation_id


def test_tool_calls_and_results(tmp_path):
    arguments = json.dumps({"query": "refund policy", "scope": "docs"})
    result = '{"hits": [{"title": "Refunds", "text": "Refunds within 30 days."}]}'
    record = {
        "model": "gpt-4o-mini",
        "tools": [TOOL],
        "messages": [
            {"role": "user", "content": "Can I get a refund?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search_documents", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": result},
        ],
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["context"] == tokens(result)
    # The user message stays the user turn; the tool call is replayed model output.
    assert row["user"] == tokens("Can I get a refund?")
    assert row["history"] == tokens("search_documents") + tokens(arguments)
    assert (
        row["overhead"]
        == 3 * 3 + tokens("user") + tokens("assistant") + tokens("tool") + tokens("call_1") + 3
    )
    rule = (
        7
        + tokens("search_documents:Search the knowledge base")
        + 3
        + 3
        + tokens("query:string:What to look for")
        + 3
        - 3
        + 3
        + tokens("docs")
        + 3
        + tokens("tickets")
        + 3
        + tokens("code")
        + tokens("scope:string:Where to look")
        + 3
        + tokens("limit:integer:At most this many results")
        + 12
    )
    assert row["tools"] == rule
    assert row["output"] is None
    assert row["flags"] == Approximation.TOOLS


def test_last_assistant_message_is_the_output_without_a_response(tmp_path):
    record = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Say hi"},
            {"role": "assistant", "content": "hi!"},
        ],
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["output"] == tokens("hi!")
    assert row["history"] == 0
    assert row["overhead"] == 3 + tokens("user") + 3


def test_content_parts_are_joined(tmp_path):
    parts = [{"type": "text", "text": "Translate: "}, {"type": "text", "text": "bonjour"}]
    row = one(
        tmp_path / "log.jsonl",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": parts}]},
    )
    assert row["user"] == tokens("Translate: bonjour")


def test_echoed_keys_without_string_values_are_ignored(tmp_path):
    message = {
        "role": "assistant",
        "content": "Earlier answer",
        "refusal": None,
        "annotations": [],
        "audio": None,
    }
    record = {"model": "gpt-4o", "messages": [message, {"role": "user", "content": "Thanks"}]}
    row = one(tmp_path / "log.jsonl", record)
    assert row["history"] == tokens("Earlier answer")
    assert row["flags"] == 0


# Images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "detail", "expected"),
    [
        ("gpt-4o", (1024, 1024), "high", 765),
        ("gpt-4o", (1024, 1024), "low", 85),
        ("gpt-4o", (512, 512), "auto", 255),
        ("gpt-4o", (2048, 4096), "high", 1105),
        ("gpt-4o", (100, 60), None, 255),
        ("gpt-4o-mini", (1024, 1024), "high", 25501),
        ("gpt-4o-mini", (1024, 1024), "low", 2833),
        ("gpt-4o-mini", (512, 512), "high", 8500),
    ],
)
def test_images_by_the_tile_formula(tmp_path, model, size, detail, expected):
    # cases.jsonl C26 and the OpenAI vision guide's examples.
    image = {"url": png(*size)}
    if detail:
        image["detail"] = detail
    parts = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": image}]
    row = one(
        tmp_path / "log.jsonl", {"model": model, "messages": [{"role": "user", "content": parts}]}
    )
    assert row["images"] == expected
    assert row["image_count"] == 1
    assert row["user"] == tokens("What is this?")
    assert row["flags"] == 0


def test_image_urls_are_unmeasured_unless_a_size_is_assumed(tmp_path):
    parts = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]
    record = {"model": "gpt-4o", "messages": [{"role": "user", "content": parts}]}
    row = one(tmp_path / "log.jsonl", record)
    assert (row["images"], row["image_count"], row["images_unmeasured"]) == (0, 0, 1)
    assert row["flags"] == Approximation.IMAGE_UNMEASURED
    assumed = one(tmp_path / "log.jsonl", record, image_size=(1024, 1024))
    assert assumed["images"] == 765
    assert assumed["flags"] == Approximation.IMAGE_ASSUMED_SIZE


def test_images_of_models_without_a_rule_are_unmeasured(tmp_path):
    parts = [{"type": "image_url", "image_url": {"url": png(64, 64)}}]
    row = one(
        tmp_path / "log.jsonl",
        {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": parts}]},
    )
    assert row["images"] == 0
    assert row["flags"] == Approximation.IMAGE_UNMEASURED


def test_a_jpeg_header_is_read(tmp_path):
    # A minimal JPEG: SOI, an SOF0 frame header for 300 x 200, EOI.
    sof = bytes([0xFF, 0xC0, 0, 17, 8, 0, 200, 1, 44, 3]) + bytes(9)
    jpeg = bytes([0xFF, 0xD8]) + sof + bytes([0xFF, 0xD9])
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    row = one(
        tmp_path / "log.jsonl",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
        },
    )
    assert row["images"] == 85 + 170  # one tile


# Models, responses, metadata ---------------------------------------------------------------


def test_azure_deployments_are_counted_as_the_model_of_the_response(tmp_path):
    record = {
        "model": "prod-chat-deployment",
        "messages": [{"role": "user", "content": "Hello"}],
        "response": {
            "model": "gpt-4-0613",
            "choices": [{"message": {"role": "assistant", "content": "Hi"}}],
        },
    }
    row = one(tmp_path / "log.jsonl", record)
    assert row["model"] == "gpt-4-0613"
    assert row["encoding"] == "cl100k_base"
    assert row["flags"] == 0


def test_unknown_models_are_counted_with_a_stand_in_and_flagged(tmp_path):
    row = one(
        tmp_path / "log.jsonl",
        {"model": "llama-3-70b", "messages": [{"role": "user", "content": "Hello"}]},
    )
    assert row["model"] == "llama-3-70b"
    assert row["encoding"] == "o200k_base"
    assert row["flags"] == Approximation.ENCODING_GUESSED | Approximation.FRAMING_UNPUBLISHED


@pytest.mark.parametrize("model", ["GPT-4o", "openai/gpt-4o", "azure/gpt-4o", "OpenAI/GPT-4o"])
def test_model_names_in_other_case_or_with_a_provider_prefix_are_known(tmp_path, model):
    record = {"model": model, "messages": [{"role": "user", "content": "Hello"}]}
    row = one(tmp_path / "log.jsonl", record)
    assert (row["model"], row["encoding"], row["flags"]) == (model, "o200k_base", 0)
    assert row["overhead"] == 3 + 1 + 3  # the gpt-4o framing: message, role, priming


@pytest.mark.parametrize("model", [123, True, ["gpt-4o"], {"name": "gpt-4o"}, ""])
def test_a_model_that_is_not_a_name_is_no_model(tmp_path, model):
    record = {"model": model, "messages": [{"role": "user", "content": "Hello"}]}
    row = one(tmp_path / "log.jsonl", record)
    assert (row["model"], row["encoding"]) == (None, "o200k_base")
    assert row["flags"] == Approximation.ENCODING_GUESSED | Approximation.FRAMING_UNPUBLISHED


def test_model_and_encoding_options(tmp_path):
    record = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello world"}]}
    as_gpt4 = one(tmp_path / "log.jsonl", record, model="gpt-4")
    assert (as_gpt4["model"], as_gpt4["encoding"]) == ("gpt-4", "cl100k_base")
    by_encoding = one(tmp_path / "log.jsonl", record, encoding="cl100k_base")
    assert (by_encoding["model"], by_encoding["encoding"]) == ("gpt-4o", "cl100k_base")


def test_usage_of_responses_and_streams(tmp_path):
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    completion = {"model": "o3-mini", "choices": [{"message": {"content": "done"}}], "usage": usage}
    stream = [
        {
            "model": "o3-mini",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "do"}}],
        },
        {"model": "o3-mini", "choices": [{"index": 0, "delta": {"content": "ne"}}]},
        {"model": "o3-mini", "choices": [], "usage": usage},
    ]
    messages = [{"role": "user", "content": "Go"}]
    for response in (completion, stream):
        row = one(
            tmp_path / "log.jsonl", {"model": "o3-mini", "messages": messages, "response": response}
        )
        assert row["usage"] == [20, 5, None, 9, 4]
        assert row["output"] == tokens("done")
    missing = one(
        tmp_path / "log.jsonl", {"model": "o3-mini", "messages": messages, "response": stream[:2]}
    )
    assert missing["usage"] == [None] * 5  # a stream without usage: missing, never zero


def test_the_time_of_a_response_is_its_created_streamed_or_not(tmp_path):
    messages = [{"role": "user", "content": "Go"}]
    chunk = {"created": 1717000000, "choices": [{"index": 0, "delta": {"content": "ok"}}]}
    completion = {"created": 1717000000, "choices": [{"message": {"content": "ok"}}]}
    for response in (completion, [chunk, {**chunk, "created": 1717000009}]):
        row = one(tmp_path / "log.jsonl", {"messages": messages, "response": response})
        assert row["timestamp"] == 1717000000.0


def test_usage_written_as_whole_floats_counts_and_a_fraction_skips(tmp_path):
    messages = [{"role": "user", "content": "Go"}]
    usage = {"prompt_tokens": 8.0, "completion_tokens": "2"}
    row = one(tmp_path / "log.jsonl", {"model": "gpt-4o", "messages": messages, "usage": usage})
    assert row["usage"] == [8, None, None, 2, None]
    bad = {"model": "gpt-4o", "messages": messages, "usage": {"prompt_tokens": 8.5}}
    _, run = recount(write_lines(tmp_path / "bad.jsonl", [bad]))
    assert [(s.kind, s.reason) for s in run.skips.first] == [
        ("wrong shape", "usage prompt_tokens is 8.5, not a whole number of tokens")
    ]


def test_timestamps_and_conversation_turns(tmp_path):
    records = [
        {
            "timestamp": "2024-05-01T23:59:59Z",
            "conversation_id": "a",
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "one"}],
        },
        {
            "timestamp": 1714608000,
            "conversation_id": "a",
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "two"}],
        },
        {
            "timestamp": "2024-05-02T01:00:00+02:00",
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "y"},
                {"role": "user", "content": "z"},
            ],
        },
        {
            "timestamp": "not a date",
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "q"}],
        },
    ]
    rows, _ = recount(write_lines(tmp_path / "log.jsonl", records))
    assert [r["turn"] for r in rows] == [1, 2, 2, 1]
    assert rows[0]["timestamp"] == 1714607999.0
    assert rows[1]["timestamp"] == 1714608000.0
    assert rows[2]["timestamp"] == 1714604400.0
    assert rows[3]["timestamp"] != rows[3]["timestamp"]  # NaN: undated


def test_context_pattern_moves_matched_text_to_context(tmp_path):
    document = "<doc>Refunds are accepted within 30 days of purchase.</doc>"
    question = "How long do I have to return it?"
    record = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": f"{document}\n{question}"}],
    }
    row = one(tmp_path / "log.jsonl", record, context_pattern=r"(?s)<doc>.*?</doc>")
    whole = tokens(f"{document}\n{question}")
    assert row["context"] == tokens(document)
    assert row["user"] == whole - tokens(document)
    assert row["input"] == whole + 3 + tokens("user") + 3  # the total does not move


def test_response_format_json_schema_is_approximate(tmp_path):
    record = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x"}},
    }
    assert one(tmp_path / "log.jsonl", record)["flags"] == Approximation.RESPONSE_SCHEMA
    record["response_format"] = {"type": "json_object"}
    assert one(tmp_path / "log.jsonl", record)["flags"] == 0


def test_tool_call_arguments_logged_as_json_values_are_counted_as_json(tmp_path):
    arguments = {"query": "refund policy", "scope": ["docs", "faq"]}
    call = {"type": "function", "function": {"name": "search", "arguments": arguments}}
    record = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": "Can I get a refund?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "user", "content": "And an exchange?"},
        ],
        "response": {"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]},
    }
    row = one(tmp_path / "log.jsonl", record)
    written = json.dumps(arguments, separators=(",", ":"))
    assert row["history"] == tokens("Can I get a refund?") + tokens("search") + tokens(written)
    assert row["output"] == tokens("search" + written)
