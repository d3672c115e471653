"""The report and demo commands: terminal summary, JSON, Parquet, errors and exit status."""

from __future__ import annotations

import json

import pytest
from log_factory import chat_log, write_jsonl

from tokenomix.cli import main

from report_reference import bundled_prices, dollars, recount_record

COMPONENTS = ("system", "tools", "context", "history", "user", "images", "overhead", "output")


@pytest.fixture
def log(tmp_path):
    records = chat_log(3, 40)
    path = tmp_path / "requests.jsonl"
    write_jsonl(path, records, {5: "{broken"})
    return path, records


def test_report_writes_json_parquet_and_a_summary(log, tmp_path, capsys):
    import pyarrow.parquet as pq

    path, records = log
    json_path, parquet_path = tmp_path / "report.json", tmp_path / "requests.parquet"
    status = main(
        [
            "report",
            str(path),
            "--json",
            str(json_path),
            "--parquet",
            str(parquet_path),
            "--jobs",
            "1",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "40 requests from 41 records" in out and "1 skipped" in out
    assert f"{path}:6: not JSON" in out
    document = json.loads(json_path.read_text())
    assert document["schema"] == "tokenomix.report/1"
    assert document["requests"] == 40 and document["skipped"]["count"] == 1

    table = pq.read_table(parquet_path).to_pylist()
    assert len(table) == 40
    for row, record in zip(table, records, strict=True):
        expected = recount_record(record)
        assert row["file"] == str(path)
        assert [row[c] for c in COMPONENTS[:-1]] == [
            expected["components"][c] for c in COMPONENTS[:-1]
        ]
        assert row["input_tokens"] == expected["input"]
        assert row["output_tokens"] == expected["output"]
        assert row["model"] == expected["model"]
        usage = expected["usage"] or (None,) * 5
        assert (
            row["usage_prompt_tokens"],
            row["usage_cached_tokens"],
            row["usage_completion_tokens"],
        ) == (usage[0], usage[1], usage[3])
        assert row["approximate"] == bool(expected["flags"])
        assert_costs(row, expected)
    assert [row["line"] for row in table] == [n for n in range(1, 42) if n != 6]


def assert_costs(row, expected):
    entry = bundled_prices().get(expected["model"])
    if entry is None:
        assert row["recount_usd"] is None and row["billed_usd"] is None
        return
    output = expected["output"] or 0
    assert row["recount_usd"] == pytest.approx(
        dollars(entry, prompt=expected["input"], output=output), rel=1e-12
    )
    usage = expected["usage"]
    if usage is None:
        assert row["billed_usd"] is None
    else:
        billed = dollars(
            entry,
            prompt=usage[0] or 0,
            cached=usage[1] or 0,
            output=usage[3] or 0,
            reasoning=usage[4] or 0,
        )
        assert row["billed_usd"] == pytest.approx(billed, rel=1e-12)


def test_compact_numbers_in_the_summary():
    from tokenomix.report.terminal import _compact

    assert [_compact(v) for v in (None, 999, 12_345, 266_049, 4_581_893, 7_250_000_000)] == [
        "-",
        "999",
        "12,345",
        "266.0k",
        "4.58M",
        "7.25G",
    ]


def test_json_to_standard_output(log, capsys):
    path, _ = log
    assert main(["report", str(path), "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["records"]["read"] == 41


def test_strict_exits_non_zero_naming_file_and_line(log, capsys):
    path, _ = log
    assert main(["report", str(path), "--strict"]) == 1
    assert f"{path}, line 6: not JSON" in capsys.readouterr().err


def test_empty_input_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert main(["report", str(path)]) == 1
    assert "the input is empty" in capsys.readouterr().err


def test_no_countable_record_is_an_error(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"messages": [{"role": "user"}]}\n' * 3)
    assert main(["report", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "no request could be counted: all 3 records were skipped" in err
    assert "tokens per request" not in out  # no table of zeros


@pytest.mark.parametrize("arguments", [[], ["--format", "openai-chat"]])
def test_lines_that_all_fail_to_decode_are_skipped_one_by_one(tmp_path, capsys, arguments):
    path = tmp_path / "latin1.jsonl"
    line = '{"model": "gpt-4o", "messages": [{"role": "user", "content": "caf\xe9"}]}\n'
    path.write_bytes(line.encode("latin-1") * 2)
    assert main(["report", str(path), *arguments]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line 1: no request could be counted: all 2 records were skipped" in err
    bad_byte = line.index("\xe9")
    assert f"invalid UTF-8 at byte {bad_byte} of the line" in err


def test_missing_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_own_prices(log, tmp_path, capsys):
    path, _ = log
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "date": "2030-01-01",
                "source": "contract",
                "prices": {"gpt-4o": {"input": 1.0, "output": 1.0}},
            }
        )
    )
    assert main(["report", str(path), "--prices", str(prices), "--json", "-"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost["prices"] == {"date": "2030-01-01", "source": "contract"}
    assert "gpt-4o-mini" in cost["unpriced_models"]


@pytest.mark.parametrize(
    "arguments", [["--image-size", "big"], ["--model", "a", "--encoding", "b"], ["--format", "xml"]]
)
def test_bad_arguments(log, arguments, capsys):
    path, _ = log
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(path), *arguments])
    assert exit_.value.code == 2


def test_demo_reports_the_bundled_sample(capsys):
    assert main(["demo", "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["requests"] == 321
    assert document["skipped"]["by_kind"] == {"message without content": 1, "not JSON": 1}
    assert document["components"]["context"]["sum"] > 0
    assert document["components"]["tools"]["sum"] > 0
    assert document["components"]["images"]["sum"] > 0
    assert document["images"]["unmeasured"] == 1
    assert len(document["days"]) == 14
    assert document["options"]["context_pattern"]


def test_demo_summary(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "321 requests" in out and "system prompt and input by day" in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_goes_before_or_after_the_command(log, capsys, where):
    path = str(log[0])
    arguments = ["-q", "report", path] if where == "before" else ["report", path, "-q"]
    assert main(arguments) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["report", path]) == 0
    assert "requests from" in capsys.readouterr().out


def test_a_trace_shows_no_component_rows_and_how_to_price_it(tmp_path, capsys):
    path = tmp_path / "trace.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,100,20\n")
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(no text to split into components)" in out
    assert "│ system" not in out and "│ input " in out
    assert "│ total " in out  # every row has an output
    assert "--model M counts and prices every request as model M" in out


def test_totals_say_they_cover_requests_with_an_output(log, capsys):
    records = log[1]
    assert 0 < sum("response" in r for r in records) < len(records)
    assert main(["report", str(log[0])]) == 0
    assert "total (requests with output)" in capsys.readouterr().out


def test_requests_without_a_timestamp_are_said_to_be_left_out_of_the_days(tmp_path, capsys):
    path = tmp_path / "trace.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1,2\nNov 16 2023,3,4\n"
    )
    assert main(["report", str(path)]) == 0
    assert "1 request without a usable timestamp, left out of the table by day" in (
        capsys.readouterr().out
    )
