"""`tokenomix count`: per-file and total figures, JSON, stdin, bad input."""

import io
import json
import subprocess
import sys

import pytest

import tokenomix
from tokenomix.cli import main

from conftest import SHARED, reference_encoding

PROSE = SHARED / "corpus" / "prose" / "botchan_en.txt"
CODE = SHARED / "corpus" / "code" / "rust_tiktoken_MIT.rs"


def run_json(capsys, *args):
    assert main(["count", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_counts_files_and_total(capsys):
    doc = run_json(capsys, str(PROSE), str(CODE), "--encoding", "cl100k_base")
    ref = reference_encoding("cl100k_base")
    expected = [len(ref.encode_ordinary(p.read_bytes().decode())) for p in (PROSE, CODE)]
    assert [f["tokens"] for f in doc["files"]] == expected
    assert doc["total"]["tokens"] == sum(expected)
    assert doc["files"][0]["bytes"] == PROSE.stat().st_size
    assert doc["files"][0]["characters"] == len(PROSE.read_bytes().decode())
    assert doc["encoding"] == "cl100k_base"


def test_large_file_counted_in_parallel_chunks_is_exact(tmp_path, capsys):
    logs = sorted((SHARED / "corpus" / "logs").glob("*.log"))
    text = "".join(p.read_bytes().decode() for p in logs)
    path = tmp_path / "big.log"
    path.write_text(text)
    for name in ["r50k_base", "cl100k_base", "o200k_base"]:
        doc = run_json(capsys, str(path), "--encoding", name, "--jobs", "2")
        assert doc["total"]["tokens"] == len(reference_encoding(name).encode_ordinary(text))


def test_model_option_and_default_encoding(capsys):
    assert run_json(capsys, str(PROSE), "--model", "gpt-4")["encoding"] == "cl100k_base"
    assert run_json(capsys, str(PROSE))["encoding"] == "o200k_base"


def test_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("héllo wörld".encode())))
    doc = run_json(capsys, "-")
    tokens = len(reference_encoding("o200k_base").encode_ordinary("héllo wörld"))
    assert doc["files"][0] == {"path": "-", "tokens": tokens, "bytes": 13, "characters": 11}


def test_empty_file(tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    doc = run_json(capsys, str(tmp_path / "empty.txt"))
    assert doc["total"] == {"tokens": 0, "bytes": 0, "characters": 0}


def test_invalid_utf8_names_file_line_and_offset(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nstill fine\nbad \xc3\x28 here\n")
    assert main(["count", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line 3 (byte 20 of the file): invalid UTF-8" in err
    assert "--errors replace" in err


@pytest.mark.parametrize("data", [b"ab\xffcd\n", b"\xed\xa0\x80x", b"\xf0\x9f\x91", b"ok\xc0\xaf"])
def test_errors_replace_counts_like_decoded_text(tmp_path, capsys, data):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    doc = run_json(capsys, str(path), "--errors", "replace")
    text = data.decode("utf-8", "replace")
    assert doc["files"][0]["tokens"] == len(reference_encoding("o200k_base").encode_ordinary(text))
    assert doc["files"][0]["characters"] == len(text)


def test_table_output(capsys):
    assert main(["count", str(PROSE), str(CODE)]) == 0
    out = capsys.readouterr().out
    tokens = tokenomix.get_encoding("o200k_base").count(PROSE.read_bytes().decode())
    assert "total" in out and f"{tokens:,}" in out


def test_errors_are_messages_not_tracebacks(tmp_path):
    for args, message in [
        (["count", str(tmp_path / "missing.txt")], "No such file"),
        (["count", str(PROSE), "--encoding", "nope"], "unknown encoding 'nope'"),
        (["count", str(PROSE), "--model", "nope"], "no known encoding for model 'nope'"),
        (["count", str(PROSE), "--jobs", "0"], "--jobs must be at least 1"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "tokenomix", *args], capture_output=True, text=True
        )
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_lines_counts_every_line_like_tiktoken(tmp_path, capsys):
    log = SHARED / "corpus" / "logs" / "Apache_2k.log"
    data = log.read_bytes()[:60000] + b"crlf line\r\n\r\nlast line without newline"
    path = tmp_path / "x.log"
    path.write_bytes(data)
    assert main(["count", "--lines", str(path), "--encoding", "cl100k_base"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = data.decode().split("\n")
    expected = [line.removesuffix("\r") for line in lines]
    ref = reference_encoding("cl100k_base")
    assert [r["line"] for r in records] == list(range(1, len(expected) + 1))
    assert [r["tokens"] for r in records] == [len(ref.encode_ordinary(t)) for t in expected]
    assert [r["bytes"] for r in records] == [len(t.encode()) for t in expected]
    assert {r["path"] for r in records} == {str(path)}


def test_lines_as_csv_and_with_replacement(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nbad \xff byte\n")
    assert main(["count", "--lines", "--csv", "--errors", "replace", str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    ref = reference_encoding("o200k_base")
    assert rows[0] == "path,line,tokens,bytes"
    tokens = len(ref.encode_ordinary("bad \ufffd byte"))
    assert rows[2] == f"{path},2,{tokens},10"
    assert main(["count", "--csv", str(path)]) == 1
    assert "--csv goes with --lines" in capsys.readouterr().err
