"""`tokenomix bench`: the race on the user's files or the bundled sample, and bad input."""

from __future__ import annotations

import pytest

from tokenomix.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(["bench", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_races_the_bundled_sample_against_tiktoken(capsys):
    pytest.importorskip("tiktoken")
    status, out, _ = run(capsys, "--only", "tokenomix,tiktoken")
    assert status == 0
    assert "bundled sample" in out
    assert "x tiktoken" in out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "exact" in rows["tokenomix"]
    assert "reference" in rows["tiktoken"]


def test_without_a_reference_parity_is_not_checked(capsys, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("hello world\n" * 100, encoding="utf-8")
    status, out, _ = run(capsys, str(path), "--only", "tokenomix", "--encoding", "cl100k_base")
    assert status == 0
    assert "not checked (no reference installed)" in out
    assert "cl100k_base, 1 thread: 1 text, 1,200 bytes from 1 file" in out


def test_lines_makes_one_text_per_line(capsys, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    status, out, _ = run(capsys, str(path), "--only", "tokenomix", "--lines", "--all-cores")
    assert status == 0
    assert "o200k_base, all" in out and ": 3 texts, 14 bytes" in out


def test_lists_counters_that_are_not_installed(capsys, monkeypatch):
    import tokenomix.race.contestants as contestants

    def missing(source):
        raise contestants.Unavailable("not installed (pip install toktok-rs)")

    monkeypatch.setitem(contestants.BUILDERS, "toktok-rs", missing)
    status, out, _ = run(capsys, "--only", "tokenomix,toktok-rs")
    assert status == 0
    assert "toktok-rs: not installed (pip install toktok-rs)" in out


def test_invalid_utf8_names_the_file_and_line(capsys, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nbad \xff here\n")
    status, _, err = run(capsys, str(path), "--only", "tokenomix")
    assert status == 1
    assert f"{path}, line 2 (byte 9 of the file): invalid UTF-8 (byte 0xff)" in err


def test_empty_files_are_refused(capsys, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    status, _, err = run(capsys, str(path), "--only", "tokenomix")
    assert status == 1
    assert "nothing to count" in err


def test_unknown_counters_are_refused(capsys):
    status, _, err = run(capsys, "--only", "tokenomix,nope")
    assert status == 1
    assert "--only names unknown counters ['nope']" in err


def test_tokenizer_files_are_not_raced(capsys):
    # The other counters read the bundled rank files; a tokenizer file has no race here.
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--tokenizer", "tokenizer.json"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --tokenizer" in capsys.readouterr().err
