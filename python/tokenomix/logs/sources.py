"""Opening logs: globs, gzip and zstd, and cutting streams into chunks of whole lines.

Nothing holds a whole file: a stream is read in blocks and handed on as chunks of whole
lines (about CHUNK_BYTES each), so memory stays flat however long the log. A line longer
than MAX_LINE_BYTES is skipped, read through without being kept. A file holding a single
JSON document (an array of records, or one pretty-printed object) is the exception: it is
parsed whole, up to MAX_DOCUMENT_BYTES.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import orjson

CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 128 << 20
MAX_DOCUMENT_BYTES = 64 << 20
BOM = b"\xef\xbb\xbf"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclasses.dataclass(frozen=True)
class LineChunk:
    """Whole lines of one file. Line numbers are counted where the lines are parsed, not
    here: the reader only looks for the last newline of each block."""

    file_index: int
    data: bytes


@dataclasses.dataclass(frozen=True)
class BadStretch:
    """One line of a file that holds no readable record: a huge line, a truncated end."""

    file_index: int
    kind: str
    reason: str


def expand_paths(patterns: list[str]) -> list[str]:
    """Expand glob patterns, keeping the order given (matches of one pattern sorted); a file
    named twice (by two patterns, or a link) is read once, where it comes first.

    Raises:
        FileNotFoundError: a path does not exist or a pattern matches nothing.
        ValueError: a path is standard input, a pipe, a device or a folder: logs are read
            from files, whose size splits the work and measures progress.
    """
    paths: list[str] = []
    for pattern in patterns:
        if os.path.exists(pattern) or not glob.has_magic(pattern):
            if pattern == "-":
                raise ValueError("-: logs are read from files, not standard input; save it first")
            if not os.path.exists(pattern):
                raise FileNotFoundError(f"{pattern}: no such file")
            if os.path.isdir(pattern):
                raise ValueError(f"{pattern}: a folder; give its logs, e.g. '{pattern}/*.jsonl'")
            if not os.path.isfile(pattern):
                raise ValueError(
                    f"{pattern}: not a regular file (a pipe or device); logs are read from "
                    "files: save it to one first"
                )
            paths.append(pattern)
            continue
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise FileNotFoundError(f"{pattern}: no file matches this pattern")
        paths += [match for match in matches if os.path.isfile(match)]
    unique: dict[str, str] = {}
    for path in paths:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def compression_of(path: str) -> str | None:
    """Return "gzip", "zstd" or None, from the first bytes of the file."""
    with open(path, "rb") as file:
        magic = file.read(4)
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    if magic.startswith(_ZSTD_MAGIC):
        return "zstd"
    return None


def open_stream(path: str) -> tuple[BinaryIO, BinaryIO]:
    """Open a log for reading, decompressed; return (stream, the raw file underneath).

    The raw file's position tells how far through the file reading has come.
    """
    raw = open(path, "rb")
    compression = compression_of(path)
    if compression == "gzip":
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")
    elif compression == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        stream = io.BufferedReader(reader, buffer_size=1 << 20)
    else:
        stream = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
    return stream, raw


def read_errors() -> tuple[type[BaseException], ...]:
    """Return the exceptions a truncated or corrupt compressed stream raises."""
    errors: list[type[BaseException]] = [EOFError, gzip.BadGzipFile, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


def head_lines(path: str, size: int) -> bytes:
    """Return the first lines of a log, decompressed, each whole (up to MAX_LINE_BYTES):
    `size` bytes of them or more, when the log holds as many."""
    stream, raw = open_stream(path)
    with stream, raw:
        lines: list[bytes] = []
        total = 0
        while total < size and (line := stream.readline(MAX_LINE_BYTES)):
            lines.append(line)
            total += len(line)
        return b"".join(lines)


def sample_lines(path: str, size: int) -> list[bytes]:
    """Return whole lines from the head of a log and, when it is not compressed, from its
    middle and its end: about `size` bytes of each."""
    samples = [head_lines(path, size).removeprefix(BOM)]
    length = os.path.getsize(path)
    if compression_of(path) is not None or length <= 3 * size:
        return samples
    with open(path, "rb") as file:
        for start in (length // 2, length - size):
            file.seek(start - 1)  # from the line that starts after the window's first newline
            window = file.read(size + 1)
            whole = window[window.find(b"\n") + 1 : window.rfind(b"\n") + 1]
            if whole:
                samples.append(whole)
    return samples


def decodable_head(path: str, size: int) -> bytes:
    """Return up to `size` bytes of a log, decompressed, as far as they decode."""
    stream, raw = open_stream(path)
    with stream, raw:
        return _read_block(stream, size, read_errors())[0]


def iter_line_chunks(
    stream: BinaryIO,
    file_index: int,
    *,
    chunk_bytes: int | None = None,
    max_line_bytes: int | None = None,
) -> Iterator[LineChunk | BadStretch]:
    """Yield chunks of whole lines, and a BadStretch for each line too long to keep.

    A read error (a truncated or corrupt compressed file) ends the file with a BadStretch.
    The sizes default to CHUNK_BYTES and MAX_LINE_BYTES.
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    max_line_bytes = max_line_bytes or MAX_LINE_BYTES
    pending = b""  # the start of a line whose end is not read yet
    errors = read_errors()
    at_start = True
    while True:
        block, error = _read_block(stream, chunk_bytes, errors)
        if at_start:  # a byte order mark before the first line is no part of it
            block, at_start = block.removeprefix(BOM), False
        if not block and error is None:
            break
        cut = block.rfind(b"\n")
        if cut == -1:
            pending += block
            if len(pending) > max_line_bytes:
                size, pending = _skip_line(stream, len(pending))
                yield BadStretch(
                    file_index,
                    "line too long",
                    f"a line of {size:,} bytes or more; the limit is {max_line_bytes:,}",
                )
        else:
            data = block if cut == len(block) - 1 else block[: cut + 1]
            yield LineChunk(file_index, pending + data if pending else data)
            pending = block[cut + 1 :]
        if error is not None:
            # The rest of the file, from the line being read, is lost.
            yield BadStretch(file_index, "truncated file", f"cannot read on: {error}")
            return
    if pending:
        yield LineChunk(file_index, pending)


def _read_block(
    stream: BinaryIO, size: int, errors: tuple[type[BaseException], ...]
) -> tuple[bytes, BaseException | None]:
    # read1 returns what one underlying read gives: a truncated compressed stream then
    # loses only its last piece, not a whole block.
    read = getattr(stream, "read1", stream.read)
    pieces = []
    total = 0
    while total < size:
        try:
            piece = read(size - total)
        except errors as error:
            return b"".join(pieces), error
        if not piece:
            break
        pieces.append(piece)
        total += len(piece)
    return b"".join(pieces), None


def _skip_line(stream: BinaryIO, size: int) -> tuple[int, bytes]:
    # Read through the rest of an over-long line without keeping it.
    while True:
        block = stream.read(1 << 20)
        if not block:
            return size, b""
        newline = block.find(b"\n")
        if newline != -1:
            return size + newline, block[newline + 1 :]
        size += len(block)


def first_significant_byte(stream: BinaryIO) -> bytes:
    """Return the first byte that is not whitespace (or a BOM), without consuming it."""
    head = stream.peek(4096)[:4096]  # type: ignore[attr-defined]
    text = head.lstrip(BOM + b" \t\r\n")
    return text[:1]


def read_document(stream: BinaryIO, path: str) -> object:
    """Parse a file that holds one JSON document (an array of records or one object).

    Raises:
        ValueError: the document is larger than MAX_DOCUMENT_BYTES, is not JSON, or its
            compressed data cannot be read.
    """
    try:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    except read_errors() as error:
        raise ValueError(f"{path}: cannot read the compressed data: {error}") from error
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(
            f"{path}: a single JSON document over {MAX_DOCUMENT_BYTES >> 20} MiB is not read "
            "whole; convert it to JSON Lines, one record a line (e.g. jq -c '.[]')"
        )
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON Lines, nor one JSON document: {error}") from error


def document_chunks(records: list[object], file_index: int) -> Iterator[LineChunk]:
    """Re-serialize the records of a JSON array as lines; record k is line k."""
    lines: list[bytes] = []
    size = 0
    for record in records:
        lines.append(orjson.dumps(record))
        size += len(lines[-1])
        if size >= CHUNK_BYTES:
            yield LineChunk(file_index, b"\n".join(lines) + b"\n")
            lines, size = [], 0
    if lines:
        yield LineChunk(file_index, b"\n".join(lines) + b"\n")
