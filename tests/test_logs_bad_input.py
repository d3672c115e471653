"""Bad input: every record is counted or listed as skipped, with file, line and reason."""

from __future__ import annotations

import gzip
import json

import pytest
from logs_helpers import recount, tokens, write_lines

from tokenomix.errors import InputError
from tokenomix.logs import Recount, RecountOptions

GOOD = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def skipped(run):
    return [(skip.line, skip.kind) for skip in run.skips.first]


def test_each_bad_record_is_skipped_and_listed(tmp_path):
    path = tmp_path / "log.jsonl"
    lines = [
        json.dumps(GOOD).encode(),
        b'{"model": "gpt-4o", "messages": [',  # cut short
        b"\xff\xfe not utf-8",  # invalid UTF-8
        b"[1, 2, 3]",  # not an object
        b'{"model": "gpt-4o", "messages": "hi"}',  # wrong shape
        b'{"model": "gpt-4o", "messages": [{"content": "no role"}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user"}]}',  # no content
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": 42}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "image_url",'
        b' "image_url": {"url": "data:image/png;base64,bm90IGFuIGltYWdl"}}]}]}',
        b"",
        b"   ",
        json.dumps(GOOD).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows, run = recount(str(path))
    assert [r["line"] for r in rows] == [1, 12]
    assert skipped(run) == [
        (2, "not JSON"),
        (3, "invalid UTF-8"),
        (4, "wrong shape"),
        (5, "wrong shape"),
        (6, "wrong shape"),
        (7, "message without content"),
        (8, "wrong shape"),
        (9, "unreadable image"),
    ]
    file = run.files[0]
    assert (file.records, file.requests, file.skipped, file.blank_lines) == (10, 2, 8, 2)
    assert file.requests + file.skipped == file.records
    assert "message 1 (user) has no content" in run.skips.first[5].reason
    assert "image header not readable" in run.skips.first[7].reason


def test_strict_stops_at_the_first_bad_record(tmp_path):
    path = write_lines(tmp_path / "log.jsonl", [GOOD, "{oops", GOOD])
    with pytest.raises(InputError) as error:
        list(Recount([path], RecountOptions(strict=True, jobs=1)).batches())
    assert error.value.line == 2
    assert error.value.path == path
    assert "not JSON" in str(error.value)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_input_is_an_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match="the input is empty"):
        list(Recount([str(path)], RecountOptions(jobs=1)).batches())


def test_lone_surrogates_are_counted_as_replacement_characters(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"model": "gpt-4o", "messages": [{"role": "user", '
        '"content": "cut \\ud83d here \\ud83d\\udc4d"}]}\n'
    )
    rows, run = recount(str(path))
    assert run.skips.count == 0
    assert rows[0]["user"] == tokens("cut \ufffd here \U0001f44d")


def test_windows_line_ends(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(((json.dumps(GOOD) + "\r\n") * 3).encode())
    rows, run = recount(str(path))
    assert len(rows) == 3 and run.skips.count == 0


def test_a_byte_order_mark_before_the_first_line_is_ignored(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ((json.dumps(GOOD) + "\n") * 3).encode())
    rows, run = recount(str(path))
    assert [r["line"] for r in rows] == [1, 2, 3] and run.skips.count == 0
    assert rows[0]["user"] == tokens("Hello")


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff", b""])
@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
def test_utf16_is_refused_by_name(tmp_path, bom, order):
    path = tmp_path / "log.jsonl"
    path.write_bytes(bom + (json.dumps(GOOD) + "\n").encode(order))
    with pytest.raises(ValueError, match="UTF-16 text; logs are read as UTF-8"):
        recount(str(path))


def test_a_file_named_twice_is_read_once(tmp_path):
    path = write_lines(tmp_path / "log.jsonl", [GOOD, GOOD])
    (tmp_path / "link.jsonl").symlink_to(path)
    rows, run = recount([path, str(tmp_path / "*.jsonl"), str(tmp_path / "link.jsonl")])
    assert len(run.files) == 1 and len(rows) == 2


def test_a_byte_order_mark_alone_is_an_empty_input(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(InputError, match="the input is empty"):
        recount(str(path))


def test_a_line_that_is_json_but_not_an_object_names_its_type(tmp_path):
    path = write_lines(tmp_path / "log.jsonl", [GOOD, "null", '"text"', "[1]", "7", GOOD])
    rows, run = recount(path)
    assert [r["line"] for r in rows] == [1, 6]
    assert [skip.reason for skip in run.skips.first] == [
        f"the line holds a JSON {name}, not an object"
        for name in ("null", "string", "array", "number")
    ]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("named", [False, True])
def test_a_first_line_longer_than_the_sampled_head(tmp_path, suffix, named):
    # The format is told from the first megabyte (the first kilobytes of a compressed
    # file); a first record longer than that is read whole, and the file as JSON Lines.
    long = {"model": "gpt-4o", "messages": [{"role": "user", "content": "word " * 300_000}]}
    data = ("\n".join(json.dumps(r) for r in [long, GOOD]) + "\n").encode()
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(gzip.compress(data) if suffix else data)
    rows, run = recount(str(path), format="openai-chat" if named else None)
    assert [r["line"] for r in rows] == [1, 2] and run.skips.count == 0
    assert rows[0]["user"] == tokens("word " * 300_000)


def test_overlong_lines_are_skipped_without_being_kept(tmp_path, monkeypatch):
    import tokenomix.logs.sources as sources

    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(sources, "CHUNK_BYTES", 4_096)
    huge = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 50_000}]}
    path = write_lines(tmp_path / "log.jsonl", [GOOD, huge, GOOD, GOOD])
    rows, run = recount(path)
    assert [r["line"] for r in rows] == [1, 3, 4]
    assert skipped(run) == [(2, "line too long")]


def test_a_truncated_gzip_file_keeps_what_it_holds(tmp_path):
    data = gzip.compress(("\n".join([json.dumps(GOOD)] * 2000) + "\n").encode())
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    rows, run = recount(str(path))
    assert rows
    assert run.skips.first[-1].kind == "truncated file"
    file = run.files[0]
    assert file.records == file.requests + file.skipped


def test_a_document_too_large_to_read_whole(tmp_path, monkeypatch):
    import tokenomix.logs.sources as sources

    monkeypatch.setattr(sources, "MAX_DOCUMENT_BYTES", 1000)
    path = tmp_path / "conversations.json"
    path.write_text(
        json.dumps(
            [
                {
                    "conversations": [
                        {"from": "human", "value": "x" * 100},
                        {"from": "gpt", "value": "y"},
                    ]
                }
            ]
            * 20,
            indent=1,
        )
    )
    with pytest.raises(ValueError, match="JSON Lines"):
        Recount([str(path)], RecountOptions())


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        RecountOptions(context_pattern="(")
    with pytest.raises(ValueError, match="unknown log format"):
        RecountOptions(format="csv")
    with pytest.raises(ValueError, match="jobs"):
        RecountOptions(jobs=0)


def test_a_recount_is_read_once(tmp_path):
    recount = Recount([write_lines(tmp_path / "log.jsonl", [GOOD])], RecountOptions(jobs=1))
    assert len(list(recount.batches())) == 1
    with pytest.raises(RuntimeError, match="read once"):
        list(recount.batches())
