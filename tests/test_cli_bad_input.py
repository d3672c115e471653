"""Inputs a new user tries by accident: damaged compressed logs, garbage traces, pipes,
closed pipes, tokenizer files of the wrong kind. Each gets one line naming the file, or a
documented behaviour; never a traceback."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
import zstandard
from log_factory import chat_log, write_jsonl

from tokenomix.cli import main

from conftest import SHARED


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "requests.jsonl"
    write_jsonl(path, chat_log(5, 200))
    return path


def error_of(capsys, *arguments) -> str:
    assert main(["-q", *arguments]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tokenomix: error: ") and "Traceback" not in err
    return err


def run_cli(*arguments, data: bytes | None = None, stdout=subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-m", "tokenomix", *arguments],
        input=data,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )


def test_a_log_cut_short_keeps_the_records_before_the_cut(log, tmp_path, capsys):
    whole = gzip.compress(log.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 3])
    assert main(["report", str(cut), "--jobs", "1", "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert 0 < document["requests"] < 200
    assert document["skipped"]["by_kind"] == {"truncated file": 1}


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_damage_at_the_start_of_a_compressed_log_names_the_file(log, tmp_path, capsys, suffix):
    data = log.read_bytes()
    packed = bytearray(gzip.compress(data) if suffix == ".gz" else zstandard.compress(data))
    packed[20:50] = b"x" * 30
    damaged = tmp_path / f"damaged.jsonl{suffix}"
    damaged.write_bytes(bytes(packed))
    assert f"damaged.jsonl{suffix}: cannot read the compressed data" in error_of(
        capsys, "report", str(damaged)
    )


def test_garbage_traces_name_the_file(tmp_path, capsys):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 20)
    assert "garbage.csv: cannot read this CSV trace" in error_of(capsys, "report", str(garbage))
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"not parquet at all" * 10)
    assert "fake.parquet: cannot read this PARQUET trace" in error_of(capsys, "report", str(fake))
    assert "garbage.csv: not UTF-8 text" in error_of(
        capsys, "kv", "--trace", str(garbage), "--model", "Llama-3.1-8B", "--gpu", "H100"
    )


def test_kv_reads_a_compressed_trace(tmp_path, capsys):
    rows = "TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:00,1000,50\n"
    plain, packed = tmp_path / "trace.csv", tmp_path / "trace.csv.gz"
    plain.write_text(rows)
    packed.write_bytes(gzip.compress(rows.encode()))
    outputs = []
    for path in (plain, packed):
        arguments = ["kv", "--trace", str(path), "--model", "Llama-3.1-8B", "--gpu", "H100"]
        assert main([*arguments, "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["requests"] == outputs[1]["requests"] == 1


def test_logs_come_from_files(log, capsys):
    assert "-: logs are read from files" in error_of(capsys, "report", "-")
    assert "a folder; give its logs" in error_of(capsys, "report", str(log.parent))
    piped = run_cli("report", "/dev/stdin", data=log.read_bytes())
    assert piped.returncode == 1
    assert b"/dev/stdin: not a regular file" in piped.stderr


def test_count_reads_a_pipe_given_as_a_path():
    counted = run_cli("count", "--json", "/dev/stdin", data=b"hello world\n")
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["total"]["tokens"] == 3


def test_a_closed_pipe_ends_quietly(tmp_path):
    text = tmp_path / "lines.txt"
    text.write_text("one line\n" * 200_000)
    with subprocess.Popen(
        [sys.executable, "-m", "tokenomix", "count", "--lines", str(text)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read()
        assert process.wait(timeout=120) == 128 + 13  # as if killed by SIGPIPE
    assert err == b""


def test_serving_and_parquet_values_refused(log, capsys):
    serve = ["report", str(log), "--serve", "Llama-3.1-8B", "--gpu", "H100"]
    assert "tensor_parallel must be at least 1, got 0" in error_of(capsys, *serve, "--tp", "0")
    assert "--parquet needs a file name" in error_of(capsys, "report", str(log), "--parquet", "-")


def test_tokenizer_files_of_another_kind(tmp_path, capsys):
    sentencepiece = SHARED / "vocab" / "spm" / "llama2_tokenizer.model"
    text = tmp_path / "a.txt"
    text.write_text("hello")
    for path in (sentencepiece, text):
        if path.exists():
            err = error_of(capsys, "count", str(text), "--tokenizer", str(path))
            assert "not a tokenizer file tokenomix reads" in err


def test_the_report_lists_a_few_skips_and_says_how_many_more(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(f"not json {n}\n" for n in range(12)) + json.dumps(chat_log(1, 1)[0]))
    assert main(["report", str(path), "--jobs", "1", "--format", "openai-chat"]) == 0
    out = capsys.readouterr().out
    assert "skipped 12 records" in out and "and 7 more (--json lists the first 12)" in out


def test_count_says_a_compressed_file_is_compressed(tmp_path, capsys):
    packed = tmp_path / "notes.txt.gz"
    packed.write_bytes(gzip.compress(b"hello world\n"))
    assert "notes.txt.gz: compressed (gzip or zstd)" in error_of(capsys, "count", str(packed))


def test_piped_tables_keep_long_names_and_numbers_whole(tmp_path, capsys, monkeypatch):
    # Piped output has no width; rich's default of 80 columns would cut this name.
    monkeypatch.chdir(tmp_path)
    name = "a_file_name_long_enough_to_overflow_eighty_columns_of_a_table_" + "x" * 20
    (tmp_path / name).write_text("hello world\n" * 1000)
    assert main(["count", name, name]) == 0
    out = capsys.readouterr().out
    assert name in out and "6,000" in out


def test_kv_points_parquet_traces_to_the_report(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "trace.parquet"
    pq.write_table(pa.table({"input_length": [10], "output_length": [5]}), path)
    arguments = ["kv", "--trace", str(path), "--model", "Llama-3.1-8B", "--gpu", "H100"]
    assert "trace.parquet: a Parquet trace: tokenomix report reads those" in error_of(
        capsys, *arguments
    )


def test_count_and_bench_name_folders_and_compressed_files(tmp_path, capsys):
    folder = tmp_path / "logs"
    folder.mkdir()
    packed = tmp_path / "text.txt.gz"
    packed.write_bytes(gzip.compress(b"hello world\n"))
    for command in ("count", "bench"):
        assert "logs: a folder, not a file" in error_of(capsys, command, str(folder))
        assert "text.txt.gz: compressed (gzip or zstd)" in error_of(capsys, command, str(packed))
