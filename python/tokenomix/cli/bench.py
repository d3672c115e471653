"""`tokenomix bench`: race tokenomix against the other installed counters on your own files."""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import pathlib
import sys
import tempfile
from collections.abc import Iterator

from rich.console import Console
from rich.table import Table

from tokenomix.cli.console import stdout_console
from tokenomix.cli.options import add_encoding_options, encoding_from_args
from tokenomix.errors import InputError
from tokenomix.race import Contestant, VocabSource, build_contestants, contestant_names
from tokenomix.race.contestants import cores
from tokenomix.race.timing import Timing, time_counts
from tokenomix.textfile import compressed, open_bytes
from tokenomix.vocab.openai import ENCODINGS

DEFAULT_ENCODING = "o200k_base"
# The counters whose counts the others are checked against, in order of preference.
REFERENCES = ("tiktoken", "tokenizers")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="race the installed token counters on files",
        description="Count the same files with tokenomix and with every other exact counter "
        "that is installed (tiktoken, tokenizers, fastokens, toktok-rs, ...), once each, and "
        "print MB/s, tokens/s, the ratio to each installed reference and whether the counts "
        "equal the reference's. Counters that are not installed are listed as such.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="FILE",
        help="UTF-8 text files (default: a bundled 90 KB sample of prose, six languages and JSON)",
    )
    # The peers read the bundled rank files; tokenizer files are raced in bench/.
    add_encoding_options(parser, default=DEFAULT_ENCODING, files=False)
    parser.add_argument(
        "--lines", action="store_true", help="count each line as its own text, as in request logs"
    )
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="use each counter's multi-threaded batch call (default: one thread each)",
    )
    parser.add_argument(
        "--only", metavar="NAMES", help="comma-separated counters to race (default: all)"
    )
    parser.set_defaults(run=run)


def read_texts(paths: list[str], *, lines: bool) -> tuple[list[str], list[str]]:
    """Return the texts to count and the names of the files they came from."""
    if paths:
        named = [(path, _read_utf8(pathlib.Path(path))) for path in paths]
    else:
        sample = importlib.resources.files("tokenomix.race") / "sample"
        named = [
            (f"sample/{item.name}", item.read_text(encoding="utf-8"))
            for item in sorted(sample.iterdir(), key=lambda item: item.name)
            if item.name.endswith((".txt", ".json")) and not item.name.startswith("LICENSE")
        ]
    texts = [t for _, text in named for t in (text.splitlines(keepends=True) if lines else [text])]
    return texts, [name for name, _ in named]


def _read_utf8(path: pathlib.Path) -> str:
    with open_bytes(str(path)) as raw:
        data = bytes(raw)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if compressed(data):
            raise InputError(str(path), "compressed (gzip or zstd): decompress it first") from None
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            str(path),
            f"invalid UTF-8 (byte 0x{data[error.start]:02x}); only UTF-8 text can be raced",
            line=line,
            offset=error.start,
        ) from error


@contextlib.contextmanager
def bundled_source(name: str) -> Iterator[VocabSource]:
    """The bundled rank file of `name`, written to a temporary folder for the peers to read."""
    spec = ENCODINGS[name]
    with tempfile.TemporaryDirectory(prefix="tokenomix-bench-") as folder:
        path = pathlib.Path(folder) / f"{spec.rank_file.name}.tiktoken"
        path.write_bytes(spec.rank_file.read())
        yield VocabSource(name, path, spec.pat_str, spec.special_tokens)


def race(contestants: dict[str, Contestant], texts: list[str], mode: str) -> list[Timing]:
    """Time every contestant once over the texts, references first."""
    order = [n for n in REFERENCES if n in contestants]
    order += [n for n in contestants if n not in order]
    timings = []
    for name in order:
        contestant = contestants[name]
        if not contestant.supports(mode):
            timings.append(Timing(name, "", problem="no multi-threaded call"))
            continue
        timings.append(time_counts(contestant, mode, texts))
    return timings


def parity(timing: Timing, reference: Timing | None) -> str:
    """Say whether the counts equal the reference's."""
    if timing.counts is None:
        return ""
    if reference is None:
        return "not checked (no reference installed)"
    if timing is reference:
        return "reference"
    wrong = sum(a != b for a, b in zip(timing.counts, reference.counts, strict=True))
    return "exact" if not wrong else f"differs on {wrong} of {len(timing.counts)} texts"


def render(timings: list[Timing], texts: list[str]) -> Table:
    size = sum(len(t.encode("utf-8")) for t in texts)
    done = [t for t in timings if t.counts is not None]
    references = [t for n in REFERENCES for t in done if t.name == n]
    reference = references[0] if references else None
    tokens = sum(reference.counts) if reference else None
    table = Table()
    for column in ("counter", "counts", "seconds", "MB/s", "tokens/s"):
        table.add_column(column, justify="left" if column in ("counter", "counts") else "right")
    for ref in references:
        table.add_column(f"x {ref.name}", justify="right")
    for t in sorted(done, key=lambda t: t.seconds):
        per_second = (tokens if tokens is not None else sum(t.counts)) / t.seconds
        ratios = [f"{ref.seconds / t.seconds:.2f}x" for ref in references]
        table.add_row(
            t.name,
            parity(t, reference),
            f"{t.seconds:.4f}",
            f"{size / 1e6 / t.seconds:.1f}",
            f"{per_second:,.0f}",
            *ratios,
        )
    return table


def run(args: argparse.Namespace) -> int:
    name = encoding_from_args(args, default=DEFAULT_ENCODING).name
    names = args.only.split(",") if args.only else contestant_names()
    unknown = sorted(set(names) - set(contestant_names()))
    if unknown:
        raise ValueError(f"--only names unknown counters {unknown}; known: {contestant_names()}")
    if "tokenomix" not in names:
        names.insert(0, "tokenomix")
    texts, sources = read_texts(args.paths, lines=args.lines)
    if not any(texts):
        raise ValueError("nothing to count: the files are empty")
    mode = "parallel" if args.all_cores else "single"
    err = Console(stderr=True)
    with bundled_source(name) as source:
        with err.status("loading the counters") if err.is_terminal else contextlib.nullcontext():
            contestants, unavailable = build_contestants(source, names)
        timings = race(contestants, texts, mode)
    size = sum(len(t.encode("utf-8")) for t in texts)
    threads = f"all {cores()} cores" if args.all_cores else "1 thread"
    title = (
        f"{name}, {threads}: {len(texts):,} text{'s' * (len(texts) != 1)}, {size:,} bytes from "
        f"{len(sources)} file{'s' * (len(sources) > 1)}"
        + ("" if args.paths else " (bundled sample)")
    )
    # A table wider than the 80 columns rich assumes for a pipe stays readable in a file.
    console = stdout_console()
    console.print(title, markup=False, highlight=False)
    console.print(render(timings, texts))
    for timing in timings:
        if timing.problem:
            console.print(f"{timing.name}: did not finish: {timing.problem}")
    for other, reason in unavailable.items():
        console.print(f"{other}: {reason}", markup=False, highlight=False)
    if size < 1_000_000:
        print(
            "note: under a megabyte of text, timings are noisy; pass larger files", file=sys.stderr
        )
    return 0
