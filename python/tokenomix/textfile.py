"""Reading whole text files as UTF-8 bytes without copying them into a str."""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import sys
from collections.abc import Iterator

from tokenomix import _core
from tokenomix.errors import InputError

# The first bytes of gzip and zstd files.
_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd")


@contextlib.contextmanager
def open_bytes(path: str) -> Iterator[bytes | mmap.mmap]:
    """Yield the bytes of a file (memory-mapped) or of standard input for "-"; a pipe or
    device (/dev/stdin, a shell's <(...)) is read whole."""
    if path == "-":
        yield sys.stdin.buffer.read()
        return
    if os.path.isdir(path):
        raise InputError(path, "a folder, not a file: give the files in it")
    with open(path, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            yield file.read()
            return
        try:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            yield b""
            return
        with mapped:
            yield mapped


def check_utf8(path: str, data: bytes | mmap.mmap) -> None:
    """Raise InputError naming the line and byte offset of the first invalid UTF-8 byte."""
    offset = _core.first_invalid_utf8(data)
    if offset is not None and compressed(data):
        raise InputError(
            path,
            "compressed (gzip or zstd): decompress it first, e.g. zcat FILE | tokenomix count -",
        )
    if offset is not None:
        line = bytes(memoryview(data)[:offset]).count(b"\n") + 1
        raise InputError(
            path,
            f"invalid UTF-8 (byte 0x{data[offset]:02x}); pass --errors replace to count it "
            "as U+FFFD, as decoding with errors='replace' does",
            line=line,
            offset=offset,
        )


def compressed(data: bytes | mmap.mmap) -> bool:
    """Whether `data` starts as a gzip or zstd file does."""
    return bytes(data[:4]).startswith(_COMPRESSED)
