"""`tokenomix count`: tokens, bytes and characters of files, or of each of their lines."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from collections.abc import Iterator

from rich.table import Table

from tokenomix import _core
from tokenomix.cli.console import stdout_console
from tokenomix.cli.options import add_encoding_options, encoding_from_args
from tokenomix.encoding import Encoding
from tokenomix.hf_encoding import HfEncoding
from tokenomix.textfile import check_utf8, open_bytes

DEFAULT_ENCODING = "o200k_base"


@dataclasses.dataclass
class FileCount:
    path: str
    tokens: int
    bytes: int
    characters: int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "count",
        help="count the tokens of files",
        description="Count the tokens, bytes and characters of each file and in total.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a text file, or - for stdin")
    add_encoding_options(parser, default=DEFAULT_ENCODING)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument(
        "--lines",
        action="store_true",
        help="print one JSON record per line of input (path, line, tokens, bytes) instead of "
        "per-file figures, for recounting logs; line terminators are not counted",
    )
    parser.add_argument("--csv", action="store_true", help="with --lines, print CSV instead")
    parser.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="invalid UTF-8: stop with an error (strict, the default), or count each bad "
        "sequence as U+FFFD (replace)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="threads to use (default: all cores)"
    )
    parser.set_defaults(run=run)


def _utf8_data(path: str, data, errors: str):
    """The bytes to count: the file itself, or its decoding with U+FFFD re-encoded."""
    if errors == "replace" and _core.first_invalid_utf8(data) is not None:
        return bytes(data).decode("utf-8", errors="replace").encode("utf-8")
    check_utf8(path, data)
    return data


def _needs_text(encoding: Encoding) -> bool:
    # A tokenizer.json with a normalizer, added tokens that match in ordinary text or a
    # pre-tokenizer the engine cannot run counts str, not the file's bytes in place.
    return isinstance(encoding, HfEncoding) and not encoding._reads_raw_text


def _count_data(encoding: Encoding, data, jobs: int | None) -> int:
    if not _needs_text(encoding):
        return _core.count_buffer(encoding._core, data, jobs)
    text = bytes(data).decode("utf-8")
    ready = encoding._text_for_core(text)
    if ready is None:
        return encoding.count(text)
    return _core.count_buffer(encoding._core, ready.encode("utf-8"), jobs)


def count_file(encoding: Encoding, path: str, *, errors: str, jobs: int | None) -> FileCount:
    """Count one file (or stdin for "-")."""
    with open_bytes(path) as raw:
        data = _utf8_data(path, raw, errors)
        tokens = _count_data(encoding, data, jobs)
        return FileCount(path, tokens, len(raw), _core.count_code_points(data))


def count_lines(
    encoding: Encoding, path: str, *, errors: str, jobs: int | None
) -> Iterator[tuple[int, int, int]]:
    """Yield (line number, tokens, bytes in the file) for every line of a file."""
    with open_bytes(path) as raw:
        data = _utf8_data(path, raw, errors)
        counts, starts, sizes = _core.count_lines(encoding._core, data, jobs)
        if _needs_text(encoding):
            lines = [bytes(data[a : a + n]).decode() for a, n in zip(starts, sizes, strict=True)]
            counts = encoding.count_batch(lines, num_threads=jobs)
        if data is not raw:  # repaired: take the sizes of the lines as they are in the file
            sizes = _core.count_lines(encoding._core, raw, jobs)[2]
    for number, (tokens, size) in enumerate(
        zip(counts.tolist(), sizes.tolist(), strict=True), start=1
    ):
        yield number, tokens, size


def write_lines(encoding: Encoding, args: argparse.Namespace) -> None:
    out = sys.stdout
    if args.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["path", "line", "tokens", "bytes"])
    for path in args.paths:
        rows = count_lines(encoding, path, errors=args.errors, jobs=args.jobs)
        if args.csv:
            writer.writerows((path, *row) for row in rows)
            continue
        quoted = json.dumps(path)
        out.writelines(
            f'{{"path": {quoted}, "line": {n}, "tokens": {t}, "bytes": {b}}}\n' for n, t, b in rows
        )


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if args.csv and not args.lines:
        raise ValueError("--csv goes with --lines")
    encoding = encoding_from_args(args, default=DEFAULT_ENCODING)
    if args.lines:
        write_lines(encoding, args)
        return 0
    counts = [count_file(encoding, p, errors=args.errors, jobs=args.jobs) for p in args.paths]
    total = FileCount(
        "total",
        sum(c.tokens for c in counts),
        sum(c.bytes for c in counts),
        sum(c.characters for c in counts),
    )
    if args.json:
        document = {
            "encoding": encoding.name,
            "files": [dataclasses.asdict(c) for c in counts],
            "total": {k: v for k, v in dataclasses.asdict(total).items() if k != "path"},
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    table = Table(title=f"tokens ({encoding.name})", title_justify="left")
    table.add_column("file")
    for column in ("tokens", "bytes", "characters"):
        table.add_column(column, justify="right")
    for c in [*counts, total] if len(counts) > 1 else counts:
        table.add_row(c.path, f"{c.tokens:,}", f"{c.bytes:,}", f"{c.characters:,}")
    stdout_console().print(table)
    return 0
