"""Trace reading and the `tokenomix kv` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokenomix.cli import main
from tokenomix.cost import capacity, estimate, get_model, in_flight, read_trace
from tokenomix.errors import InputError

AZURE = "traces/azure2023_AzureLLMInferenceTrace_code.csv"
MOONCAKE = "traces/mooncake_fast25_conversation_trace.jsonl"


def test_read_azure_trace(shared_dir):
    trace = read_trace(shared_dir / AZURE)
    lines = (shared_dir / AZURE).read_text().splitlines()
    assert len(trace) == trace.lines == len(lines) - 1 and not trace.skipped
    # First rows: 2023-11-16 18:17:03.9799600,4808,10 and 18:17:04.0319600,3180,8.
    assert list(trace.input_tokens[:2]) == [4808, 3180]
    assert list(trace.output_tokens[:2]) == [10, 8]
    assert trace.arrival_seconds[0] == 0
    assert trace.arrival_seconds[1] == pytest.approx(0.052, abs=1e-6)


def test_read_mooncake_trace_in_milliseconds(shared_dir):
    trace = read_trace(shared_dir / MOONCAKE)
    last = json.loads((shared_dir / MOONCAKE).read_text().splitlines()[-1])
    assert len(trace) == 12_031
    assert trace.input_tokens[-1] == last["input_length"]
    assert trace.arrival_seconds.max() == pytest.approx(last["timestamp"] / 1000)


def test_bad_lines_are_skipped_with_their_reason(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"timestamp": 0, "input_length": 10, "output_length": 2}',
                '{"timestamp": 5, "input_length": -3, "output_length": 2}',
                "not json",
                "",
                '{"timestamp": 7, "input_length": 4.5, "output_length": 2}',
                '{"timestamp": 8, "output_length": 2}',
                "[1, 2]",
                '{"timestamp": 9000, "input_length": 20, "output_length": 0}',
            ]
        )
        + "\n"
    )
    trace = read_trace(path)
    assert list(trace.input_tokens) == [10, 20]
    assert trace.lines == 8
    reasons = dict(trace.skipped)
    assert reasons[2] == "input_length is -3, a negative number of tokens"
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4] == "blank line"
    assert reasons[5] == "input_length is 4.5, not a whole number of tokens"
    assert reasons[6] == "no input_length"
    assert reasons[7] == "a JSON array, not an object"
    assert trace.arrival_seconds[-1] == 9.0


def test_trace_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("when,prompt,answer\n1,2,3\n")
    with pytest.raises(InputError, match=r"t.csv, line 1: no arrival time column"):
        read_trace(path)
    trace = read_trace(path, time_column="when", input_column="prompt", output_column="answer")
    assert (trace.input_tokens[0], trace.output_tokens[0]) == (2, 3)
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,1\n")
    with pytest.raises(
        InputError, match="no usable request in 1 lines; line 2: timestamp 'yesterday' is neither"
    ):
        read_trace(path)
    path.write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_trace(path)
    with pytest.raises(FileNotFoundError):
        read_trace(tmp_path / "missing.csv")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["kv", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_capacity_table(capsys):
    status, out, _ = run(
        capsys,
        "--model",
        "Llama-3.1-70B",
        "--gpu",
        "H100",
        "--tp",
        "4",
        "--context",
        "4096,8192,16384",
    )
    expected = capacity("Llama-3.1-70B", "H100", [4096, 8192, 16384], tensor_parallel=4)
    assert status == 0
    assert "Llama-3.1-70B on 4 x H100-SXM" in out
    for n in expected.concurrent_sequences:
        assert f"{n:,}" in out
    assert f"{expected.max_concurrency[0]:.2f}x" in out
    assert f"{expected.num_blocks:,} blocks" in out


def test_capacity_json_equals_library(capsys):
    status, out, _ = run(
        capsys, "--model", "gpt-oss-120b", "--gpu", "H200", "--json", "--kv-dtype", "fp8"
    )
    document = json.loads(out)
    expected = capacity(
        "gpt-oss-120b", "H200", [1024, 4096, 8192, 16384, 32768, 65536, 131072], kv_dtype="fp8"
    )
    assert status == 0
    assert document["num_blocks"] == expected.num_blocks
    assert [row["concurrent_sequences"] for row in document["contexts"]] == list(
        expected.concurrent_sequences
    )


def test_config_json_model(capsys, tmp_path):
    config = {
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "num_attention_heads": 4,
        "vocab_size": 100,
        "max_position_embeddings": 2048,
        "intermediate_size": 128,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    status, out, _ = run(capsys, "--model", str(path), "--gpu", "L4", "--json")
    assert status == 0
    assert [row["context_tokens"] for row in json.loads(out)["contexts"]] == [1024]


def test_trace_json_equals_library(capsys, shared_dir):
    path = shared_dir / AZURE
    status, out, _ = run(
        capsys,
        "--trace",
        str(path),
        "--model",
        "Llama-3.1-70B",
        "--gpu",
        "H100",
        "--tp",
        "4",
        "--price-input",
        "0.6",
        "--price-output",
        "0.8",
        "--json",
    )
    document = json.loads(out)
    trace = read_trace(path)
    result = estimate(
        trace.input_tokens,
        trace.output_tokens,
        model="Llama-3.1-70B",
        gpu="H100",
        tensor_parallel=4,
        price_per_million_input_tokens=0.6,
        price_per_million_output_tokens=0.8,
    )
    flight = in_flight(trace.arrival_seconds, result.kv_cache_bytes, result.seconds)
    room = capacity("Llama-3.1-70B", "H100", [131072], tensor_parallel=4)
    assert status == 0
    assert document["trace"]["requests"] == len(trace)
    assert document["totals"]["input_tokens"] == int(trace.input_tokens.sum())
    assert document["totals"]["cost_usd"] == pytest.approx(float(result.cost_usd.sum()))
    assert document["percentiles"]["kv_cache_bytes"]["p99"] == float(
        np.percentile(result.kv_cache_bytes, 99, method="inverted_cdf")
    )
    in_flight_doc = document["in_flight"]
    assert in_flight_doc["peak_kv_cache_bytes"] == flight.peak_kv_cache_bytes
    per_replica = 4 * room.kv_cache_memory_bytes
    assert in_flight_doc["gpus_needed_at_peak"] == 4 * max(
        1, -(-flight.peak_kv_cache_bytes // per_replica)
    )


def test_trace_tables_and_skipped_lines(capsys, caplog, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:17:03.5,1000,100\n"
        "2023-11-16 18:17:04.5,-1,100\n"
        "2023-11-16 18:17:05.5,3000,10\n"
    )
    status, out, _ = run(
        capsys, "--trace", str(path), "--model", "Mistral-7B-v0.1", "--gpu", "A100-80GB"
    )
    assert status == 0
    assert "2 of 3 lines (1 skipped)" in out
    assert "GPUs needed at the peak" in out
    assert "line 3 skipped: ContextTokens is -1, a negative number of tokens" in caplog.text


def test_list(capsys):
    status, out, _ = run(capsys, "--list")
    assert status == 0
    for name in ("DeepSeek-V3", "gpt-oss-120b", "B200", "L40S"):
        assert name in out
    assert f"{get_model('DeepSeek-V3').kv_cache_bytes_per_token():,} B" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "llama-3-70b"], "unknown model 'llama-3-70b'; did you mean Llama-3.1-70B"),
        (["--gpu", "H1OO"], "unknown GPU 'H1OO'; did you mean H100"),
        (["--model", "Llama-3.1-405B", "--gpu", "H100"], "does not fit on H100-SXM"),
        (["--context", "4096,abc"], "--context must be whole numbers"),
        (["--tp", "3"], "cannot share evenly"),
        (["--trace", "/nonexistent/trace.csv"], "No such file"),
    ],
)
def test_errors(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 1
    assert message in err


def test_trace_times_are_read_as_the_report_reads_them(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_bytes(
        "\ufefftimestamp,input_tokens,output_tokens\n"  # a byte order mark before the header
        "1700158558000,10,1\n"  # epoch milliseconds
        "1700158559000,10,1\n"
        "2023-11-16T18:15:46.123456789Z,10,1\n".encode()  # nanoseconds, in UTC
    )
    trace = read_trace(path)
    assert trace.skipped == []
    assert trace.arrival_seconds.tolist() == pytest.approx([11.876544, 12.876544, 0.0])


def test_trace_rows_of_the_wrong_width_are_skipped_as_the_report_skips_them(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-01-01 00:00:00,10,1\n2024-01-01 00:00:01,10,1,7\n2024-01-01 00:00:02\n"
    )
    trace = read_trace(path)
    assert trace.skipped == [
        (3, "4 cells where the header has 3"),
        (4, "1 cell where the header has 3"),
    ]
