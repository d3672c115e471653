"""The savings of token discipline, each on a small log whose changed text is written out by
hand here and counted with tiktoken."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_factory import write_jsonl

from tokenomix.cli import main
from tokenomix.logs import RecountOptions
from tokenomix.logs.savings import minified_json, paragraph_keys, without_paragraphs
from tokenomix.report import run_report
from tokenomix.report.savings import SavingsOptions, parse_output_cap

from conftest import SHARED, reference_encoding
from report_reference import bundled_prices

PRICE = bundled_prices()["gpt-4o"]  # o200k_base; input 2.5, cached 1.25, output 10 per 1M


def tokens(text: str) -> int:
    return len(reference_encoding("o200k_base").encode_ordinary(text))


def message_tokens(role: str, content: str) -> int:
    return 3 + tokens(role) + tokens(content)


def report(tmp_path, records, *, options=None, savings=None):
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records)
    options = options or RecountOptions(jobs=1)
    return run_report([str(path)], options, savings=savings or SavingsOptions()).document


def request(*messages, **extra):
    return {
        "model": "gpt-4o",
        "messages": [{"role": r, "content": c} for r, c in messages],
        **extra,
    }


# Minified JSON ----------------------------------------------------------------------------

PRETTY = (
    '{\n  "city": "Paris",\n  "temperature": 21.5,\n  "tags": [\n    "sunny",\n    "dry"\n  ]\n}'
)
COMPACT = '{"city":"Paris","temperature":21.5,"tags":["sunny","dry"]}'
ARGUMENTS = '{ "query": "weather in Paris" , "units": "metric" }'
ARGUMENTS_COMPACT = '{"query":"weather in Paris","units":"metric"}'
USER_JSON = "[1, 2, 3,\n 4, 5]"
USER_JSON_COMPACT = "[1,2,3,4,5]"


def test_minified_json_recounts_tool_results_arguments_and_json_messages(tmp_path):
    tool = {
        "type": "function",
        "function": {"name": "weather", "description": "Weather now.", "parameters": {}},
    }
    record = {
        "model": "gpt-4o",
        "tools": [tool],
        "messages": [
            {"role": "system", "content": "{not json, just braces}"},
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": ARGUMENTS},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": PRETTY},
            {"role": "user", "content": USER_JSON},
        ],
        "response": {"choices": [{"message": {"role": "assistant", "content": PRETTY}}]},
    }
    minified = report(tmp_path, [record])["savings"]["minified_json"]

    context = tokens(PRETTY) - tokens(COMPACT)
    history = tokens(ARGUMENTS) - tokens(ARGUMENTS_COMPACT)
    user = tokens(USER_JSON) - tokens(USER_JSON_COMPACT)
    output = tokens(PRETTY) - tokens(COMPACT)
    assert min(context, history, user) > 0
    assert minified["by_component"] == {
        "system": 0,
        "tools": 0,
        "context": context,
        "history": history,
        "user": user,
        "images": 0,
        "overhead": 0,
        "output": output,
    }
    assert minified["requests"] == 1
    assert minified["tokens"] == context + history + user + output
    expected_usd = ((context + history + user) * PRICE["input"] + output * PRICE["output"]) / 1e6
    assert minified["usd"] == pytest.approx(expected_usd, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    ),
    st.sampled_from([None, 1, 2, "\t"]),
)
def test_minifying_keeps_the_value(value, indent):
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    compact = minified_json(text)
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(value, (dict, list)):
        assert compact is None
    elif compact is None:
        assert text == expected  # nothing to remove
    else:
        assert compact == expected
        assert json.loads(compact) == value


# Duplicate instructions -------------------------------------------------------------------

RULE = "Always answer in valid JSON, with no prose around it."
STYLE = "Keep every answer under one hundred words, please."


def test_repeated_paragraphs_are_dropped_and_recounted(tmp_path):
    system = f"You are a weather bot.\n\n{RULE}\n\n{STYLE}"
    first_user = f"{RULE}\n\nWhat is the weather in Paris?"
    records = [
        request(
            ("system", system),
            ("user", first_user),
            ("assistant", "It is sunny in Paris today, and dry."),
            ("user", f"{STYLE}\n\nAnd in Rome?\n\n{RULE}"),
        ),
        # The same paragraph in two requests is not a repeat within a request; a short
        # paragraph ("Thanks a lot!") repeated is not an instruction.
        request(("system", RULE), ("user", "Thanks a lot!\n\nThanks a lot!")),
    ]
    duplicates = report(tmp_path, records)["savings"]["duplicate_instructions"]

    history = tokens(first_user) - tokens("What is the weather in Paris?")
    user = tokens(f"{STYLE}\n\nAnd in Rome?\n\n{RULE}") - tokens("And in Rome?")
    assert duplicates["by_component"]["history"] == history > 0
    assert duplicates["by_component"]["user"] == user > 0
    assert duplicates["tokens"] == history + user
    assert duplicates["requests"] == 1
    assert duplicates["usd"] == pytest.approx((history + user) * PRICE["input"] / 1e6)


def test_paragraph_helpers():
    text = f"{RULE}\n\n  short  \n\n\n{STYLE}\n"
    assert paragraph_keys(text) == [RULE, STYLE]
    assert without_paragraphs(text, {0}) == f"  short  \n\n\n{STYLE}\n"
    assert without_paragraphs(text, {1}) == f"{RULE}\n\n  short  "
    assert without_paragraphs(RULE, {0}) == ""


# Rolling summaries ------------------------------------------------------------------------


def conversation(turns: int) -> list[tuple[str, str]]:
    messages = [("system", "You are a patient tutor of arithmetic.")]
    for turn in range(1, turns + 1):
        messages.append(("user", f"Question {turn}: what is {turn} times {turn + 7}?"))
        if turn < turns:
            messages.append(("assistant", f"{turn} times {turn + 7} is {turn * (turn + 7)}."))
    return messages


def test_rolling_summaries_replace_turns_older_than_the_kept_ones(tmp_path):
    messages = conversation(7)  # system, then turns 1-7 (turn 7 is the current one)
    options = RecountOptions(jobs=1, summary_keep_turns=2)
    # Kept: turns 5 and 6 and the current turn 7; replaced: turns 1 to 4 (8 messages).
    replaced_history = sum(message_tokens(r, c) - 3 - tokens(r) for r, c in messages[1:9])
    replaced_overhead = sum(3 + tokens(r) for r, _ in messages[1:9])
    replaced = replaced_history + replaced_overhead

    short = report(
        tmp_path,
        [request(*conversation(3)), request(*messages)],
        options=options,
        savings=SavingsOptions(summary_tokens=20),
    )["savings"]
    summaries = short["rolling_summaries"]
    assert short["assumptions"]["summary_keep_turns"] == 2
    assert summaries["requests_with_older_turns"] == 1  # the 3-turn request has none
    assert summaries["requests"] == 1
    assert summaries["replaced_tokens"] == replaced
    assert summaries["replaced_by_component"]["history"] == replaced_history
    assert summaries["replaced_by_component"]["overhead"] == replaced_overhead
    assert summaries["summary_tokens"] == 20
    assert summaries["tokens"] == replaced - 20
    assert summaries["usd"] == pytest.approx((replaced - 20) * PRICE["input"] / 1e6)

    # A summary longer than what it replaces saves nothing.
    long = report(
        tmp_path,
        [request(*messages)],
        options=options,
        savings=SavingsOptions(summary_tokens=replaced),
    )["savings"]
    assert long["rolling_summaries"]["requests"] == 0
    assert long["rolling_summaries"]["tokens"] == 0


def test_rolling_summaries_of_anthropic_requests(tmp_path):
    messages = [
        {"role": "user", "content": "First question about the tides?"},
        {"role": "assistant", "content": "The moon pulls the oceans."},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": "a tool result that continues the turn",
                }
            ],
        },
        {"role": "user", "content": "Second question about the tides?"},
    ]
    record = {"model": "claude-sonnet-4", "system": "Be brief.", "messages": messages}
    options = RecountOptions(jobs=1, summary_keep_turns=0, format="anthropic")
    summaries = report(
        tmp_path, [record], options=options, savings=SavingsOptions(summary_tokens=1)
    )["savings"]["rolling_summaries"]
    # Anthropic text is counted with o200k_base and no framing; the tool result is context.
    history = tokens(messages[0]["content"]) + tokens(messages[1]["content"])
    context = tokens("a tool result that continues the turn")
    assert summaries["replaced_by_component"]["history"] == history
    assert summaries["replaced_by_component"]["context"] == context
    assert summaries["tokens"] == history + context - 1


# Output cap -------------------------------------------------------------------------------


def test_output_cap_counts_the_tokens_above_it(tmp_path):
    answers = [
        "Yes.",
        "It is sunny and dry in Paris, with a light wind from the west.",
        "Rain is expected in the evening.",
        "No.",
    ]
    records = [
        request(
            ("user", f"Question {i}?"),
            **{"response": {"choices": [{"message": {"role": "assistant", "content": a}}]}},
        )
        for i, a in enumerate(answers)
    ]
    counts = [tokens(a) for a in answers]
    cap = 5
    cut = report(tmp_path, records, savings=SavingsOptions(output_cap=cap))["savings"]
    expected = sum(max(0, n - cap) for n in counts)
    assert cut["output_cap"] == {
        "cap_tokens": cap,
        "requests": sum(n > cap for n in counts),
        "tokens": expected,
        "share": expected / sum(counts),
        "usd": pytest.approx(expected * PRICE["output"] / 1e6),
    }
    by_percentile = report(tmp_path, records, savings=SavingsOptions(output_cap="p50"))
    assert by_percentile["savings"]["output_cap"]["cap_tokens"] == sorted(counts)[1]


def test_output_cap_option_is_checked():
    assert parse_output_cap("p99") == ("p", 99.0)
    assert parse_output_cap("800") == 800
    for bad in ("p0", "p101", "0", "-5", "lots"):
        with pytest.raises(ValueError, match="output cap"):
            parse_output_cap(bad)
    for ttl in (-1.0, float("inf"), float("nan")):  # JSON has no Infinity or NaN
        with pytest.raises(ValueError, match="cache_ttl_seconds"):
            SavingsOptions(cache_ttl_seconds=ttl)


# Prefix caching ---------------------------------------------------------------------------


def long_system() -> str:
    text = (SHARED / "corpus" / "prose" / "botchan_en.txt").read_text(encoding="utf-8")
    return text[:9000]


def at(seconds: float) -> str:
    moment = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    return (moment + datetime.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_prefix_caching_reuses_the_longest_cached_prefix(tmp_path):
    system = long_system()
    first = [("system", system), ("user", "Summarise chapter one.")]
    second = [*first, ("assistant", "A young man from Tokyo takes a post."), ("user", "Why?")]
    records = [
        request(*first, timestamp=at(0)),  # nothing cached yet
        request(*second, timestamp=at(60)),  # its first two messages were sent a minute ago
        request(("system", system), ("user", "Another question."), timestamp=at(120)),
        request(*second, timestamp=at(2000)),  # the same prompt, but the cache has expired
        {"model": "gpt-4o-mini", "messages": request(*first)["messages"], "timestamp": at(2010)},
    ]
    system_prefix = message_tokens("system", system)
    first_prefix = system_prefix + message_tokens("user", "Summarise chapter one.")
    assert system_prefix > 1024

    caching = report(tmp_path, records)["savings"]["prefix_caching"]

    # Hits in steps of 128 tokens: the second request reuses the first one's whole prompt,
    # the third its system prompt; the fourth comes too late; the fifth is another model.
    hits = [first_prefix // 128 * 128, system_prefix // 128 * 128]
    assert caching["requests"] == 2
    assert caching["cached_tokens"] == sum(hits)
    assert caching["usd"] == pytest.approx(
        sum(hits) * (PRICE["input"] - PRICE["cached_input"]) / 1e6
    )
    assert caching["billed_cached_tokens"] is None  # no usage in the log

    small = report(tmp_path, records, savings=SavingsOptions(cache_min_tokens=first_prefix + 1))
    assert small["savings"]["prefix_caching"]["cached_tokens"] == 0
    forever = report(tmp_path, records, savings=SavingsOptions(cache_ttl_seconds=1e9))
    assert forever["savings"]["prefix_caching"]["requests"] == 3


def test_a_prefix_cached_later_serves_no_earlier_request(tmp_path):
    prompt = [("system", long_system()), ("user", "Summarise chapter one.")]
    later_first = [request(*prompt, timestamp=at(600)), request(*prompt, timestamp=at(0))]
    assert report(tmp_path, later_first)["savings"]["prefix_caching"]["requests"] == 0
    in_order = list(reversed(later_first))
    assert report(tmp_path, in_order)["savings"]["prefix_caching"]["requests"] == 0  # too late
    forever = SavingsOptions(cache_ttl_seconds=1e9)
    assert (
        report(tmp_path, later_first, savings=forever)["savings"]["prefix_caching"]["requests"] == 0
    )
    assert report(tmp_path, in_order, savings=forever)["savings"]["prefix_caching"]["requests"] == 1


def test_prefix_caching_agrees_across_worker_processes(tmp_path, monkeypatch):
    import tokenomix.logs.pipeline as pipeline
    import tokenomix.logs.sources as sources

    system = long_system()
    records = []
    for conversation_number in range(40):
        messages = [("system", system)]
        for turn in range(3):
            messages.append(("user", f"Question {turn} of conversation {conversation_number}?"))
            records.append(request(*messages))
            messages.append(("assistant", f"Answer {turn}."))
    alone = report(tmp_path, records)
    monkeypatch.setattr(pipeline, "BYTES_PER_WORKER", 1)
    monkeypatch.setattr(sources, "CHUNK_BYTES", 32 << 10)  # many chunks over two workers
    pooled = report(tmp_path, records, options=RecountOptions(jobs=2))
    assert alone["savings"]["prefix_caching"]["requests"] == len(records) - 1
    assert pooled["savings"] == alone["savings"]


# Command line and Parquet -----------------------------------------------------------------


def test_savings_in_summary_and_parquet(tmp_path, capsys):
    import pyarrow.parquet as pq

    records = [
        request(("system", f"{RULE}\n\n{STYLE}"), ("user", f"{RULE}\n\nHi?")),
        request(*conversation(7)),
        request(("tool", PRETTY), ("user", "Go on.")),
    ]
    path, rows = tmp_path / "log.jsonl", tmp_path / "rows.parquet"
    write_jsonl(path, records)
    status = main(
        [
            "report",
            str(path),
            "--jobs",
            "1",
            "--parquet",
            str(rows),
            "--summary-keep-turns",
            "2",
            "--summary-tokens",
            "10",
            "--output-cap",
            "p90",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "savings of token discipline" in out
    assert "summaries keep 2 turns and cost 10 tokens" in out
    assert "share: of input tokens; the output cap's, of output tokens" in out
    table = pq.read_table(rows).to_pydict()
    assert table["duplicate_instructions_saving"][0] == tokens(f"{RULE}\n\nHi?") - tokens("Hi?")
    assert table["minified_json_saving"][2] == tokens(PRETTY) - tokens(COMPACT)
    assert table["rolling_summary_saving"][1] > 0
    assert table["prefix_cached_tokens"] == [0, 0, 0]


def test_savings_only_when_asked_for(tmp_path, capsys):
    import pyarrow.parquet as pq

    records = [request(("user", f"{RULE}\n\n{RULE}"))]
    path, rows = tmp_path / "log.jsonl", tmp_path / "rows.parquet"
    write_jsonl(path, records)
    assert run_report([str(path)], RecountOptions(jobs=1)).document["savings"] is None
    assert main(["report", str(path), "--jobs", "1", "--parquet", str(rows)]) == 0
    assert "savings of token discipline" not in capsys.readouterr().out
    assert pq.read_table(rows).to_pydict()["duplicate_instructions_saving"] == [None]
    assert main(["report", str(path), "--jobs", "1", "--savings", "--parquet", str(rows)]) == 0
    assert "savings of token discipline" in capsys.readouterr().out
    saved = pq.read_table(rows).to_pydict()["duplicate_instructions_saving"]
    assert saved == [tokens(f"{RULE}\n\n{RULE}") - tokens(RULE)]


@pytest.mark.parametrize(
    "module",
    [
        "tokenomix.logs.savings",
        "tokenomix.analytics.histogram",
        "tokenomix.logs.errors",
        "tokenomix.report.terminal",
    ],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_trace_rows_have_no_savings_in_parquet(tmp_path):
    import pyarrow.parquet as pq

    trace, rows = tmp_path / "trace.jsonl", tmp_path / "rows.parquet"
    write_jsonl(
        trace, [{"timestamp": n, "input_length": 100, "output_length": 10} for n in range(3)]
    )
    assert main(["-q", "report", str(trace), "--savings", "--parquet", str(rows)]) == 0
    table = pq.read_table(rows).to_pydict()
    assert table["input_tokens"] == [100, 100, 100]
    for column in ("minified_json_saving", "prefix_cached_tokens", "rolling_summary_saving"):
        assert table[column] == [None, None, None]
