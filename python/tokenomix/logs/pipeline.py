"""Recounting whole logs: files in order, chunks on threads or worker processes, joins and
turns.

Design notes. The main process reads (and decompresses) files and cuts them into chunks of
whole lines; each chunk is parsed and counted on one core, and results come back in input
order, small (integer columns). The main process does what needs the whole log in order:
joining Batch API responses to their requests, numbering conversation turns, and the
tallies of records read and skipped.

Chunks go to `jobs` threads of this process. Plain chat chunks are parsed by pyarrow and
counted without holding the GIL, so threads run them side by side: on 64 MiB of them,
0.35 s against 0.40 s with one thread parsing while the others counted (2-core EPYC), and
on 512 MiB, 2.9 s against 4.2 s with two worker processes. Walking records in Python holds
the GIL, so a large input not all plain chat records (judged on a megabyte from the head,
the middle and the end of each file) goes to a pool of worker processes instead, one per
BYTES_PER_WORKER of input up to `jobs` (on 256 MiB of short turns with --savings, 6.6 s
with two workers against 10.2 s on threads); smaller inputs stay on threads, since
starting workers (about half a second each) would cost more than it saves. At most
2 x workers chunks are in flight, so memory stays flat however long the log.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tokenomix.errors import InputError
from tokenomix.logs import detect, sources
from tokenomix.logs.batch import MISSING, RequestBatch, Skip
from tokenomix.logs.chat_columns import gather_chat_columns
from tokenomix.logs.components import OUTPUT
from tokenomix.logs.context import ReaderContext, fixed_encoding
from tokenomix.logs.options import FORMATS, RecountOptions
from tokenomix.logs.trace import read_table_trace
from tokenomix.logs.worker import process_chunk
from tokenomix.logs.workers import WorkerPool

#: Input bytes (on disk) per worker process, for logs that are walked: below twice this,
#: the recount stays on threads of this process.
BYTES_PER_WORKER = 256 << 20

#: Skipped records listed one by one (all are counted).
SKIPS_LISTED = 100

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class LogFile:
    """One input file, its format, and the tally of its records."""

    index: int
    path: str
    format: str
    role: str | None  # openai-batch: input/output; trace: jsonl/csv/parquet
    size: int
    document: list[Any] | None = None  # the records of a file that is one JSON document
    records: int = 0
    requests: int = 0
    skipped: int = 0
    joined: int = 0
    blank_lines: int = 0
    lines_seen: int = 0  # lines before the next chunk (its line numbers start after them)

    @property
    def counted(self) -> int:
        """Records that gave requests: read, less skipped and joined into others."""
        return self.records - self.skipped - self.joined


class SkipLog:
    """Every skipped record counted by kind; the first SKIPS_LISTED kept with file and line."""

    def __init__(self) -> None:
        self.count = 0
        self.by_kind: collections.Counter[str] = collections.Counter()
        self.first: list[Skip] = []

    def add(self, skip: Skip) -> None:
        self.count += 1
        self.by_kind[skip.kind] += 1
        if len(self.first) < SKIPS_LISTED:
            self.first.append(skip)


class Recount:
    """The recount of one or more logs, read as a stream of request batches.

    >>> recount = Recount(["requests.jsonl"], RecountOptions())   # doctest: +SKIP
    >>> for batch in recount.batches():                            # doctest: +SKIP
    ...     print(len(batch), batch.input_tokens.sum())

    Raises (on construction):
        FileNotFoundError: a path does not exist or a glob matches nothing.
        ValueError: a file's format cannot be told (name it in the options), or the
            tokenizer file of the options is not supported.
        OSError: the tokenizer file of the options cannot be read.
    """

    def __init__(self, paths: list[str], options: RecountOptions) -> None:
        self.options = options
        fixed_encoding(options)  # a tokenizer file that cannot be loaded fails here, once
        expanded = sources.expand_paths(list(paths))
        if not expanded:
            raise FileNotFoundError("no input files")
        self.files = [_inspect(index, path, options) for index, path in enumerate(expanded)]
        self.skips = SkipLog()
        self._outputs: dict[str, tuple[Any, ...]] = {}
        self._turns: collections.Counter[str] = collections.Counter()
        self._started = False

    @property
    def records(self) -> int:
        """Records read so far, in every file."""
        return sum(file.records for file in self.files)

    def batches(self, progress: Progress | None = None) -> Iterator[RequestBatch]:
        """Yield the recounted requests, batch by batch, in the order of the input.

        A Recount is read once: the tallies of its files grow as it goes.

        Raises:
            InputError: with `strict`, at the first record that cannot be counted; or when
                the input holds no record at all.
            RuntimeError: the batches were read already.
        """
        if self._started:
            raise RuntimeError("a Recount is read once; make a new one to read the logs again")
        self._started = True
        # Batch API responses are read first, so that requests can be joined as they come.
        files = sorted(self.files, key=lambda file: file.role != "output")
        tasks = self._tasks(files, progress)
        size = sum(file.size for file in self.files)
        workers = min(self.options.worker_count(), size // BYTES_PER_WORKER)
        if workers > 1 and all(_columnar(file, self.options) for file in self.files):
            workers = 1  # plain chat logs: threads of this process beat worker processes
        pool = None
        if workers > 1:
            pool = WorkerPool(self.options, workers)
            results = pool.map_ordered(tasks)
        else:
            results = _run_here(tasks, self.options)
        try:
            for result in results:
                if isinstance(result, sources.BadStretch):
                    self._bad_stretch(result)
                    continue
                batch = self._finish(result)
                if batch is not None and len(batch):
                    yield batch
        finally:
            if pool is not None:
                pool.close()
        self._unmatched_outputs()
        if self.records == 0:
            names = ", ".join(file.path for file in self.files)
            raise InputError(names, "the input is empty: no record to count")

    # Reading ------------------------------------------------------------------------------

    def _tasks(self, files: list[LogFile], progress: Progress | None) -> Iterator[Any]:
        total = sum(file.size for file in files) or 1
        done = 0
        for file in files:
            kind = (file.format, file.role if file.role in ("input", "output", "jsonl") else None)
            if file.role in ("csv", "parquet"):
                yield from self._table_batches(file)
            elif file.document is not None:
                for chunk in sources.document_chunks(file.document, file.index):
                    yield chunk, kind
                file.document = None
            else:
                stream, raw = sources.open_stream(file.path)
                with stream, raw:
                    for item in sources.iter_line_chunks(stream, file.index):
                        if progress is not None:
                            progress(done + raw.tell(), total)
                        yield (item, kind) if isinstance(item, sources.LineChunk) else item
            done += file.size
            if progress is not None:
                progress(done, total)

    def _table_batches(self, file: LogFile) -> Iterator[RequestBatch]:
        if file.role == "parquet":
            yield from read_table_trace(
                file.path,
                kind="parquet",
                file_index=file.index,
                options=self.options,
                where=file.path,
            )
            return
        stream, raw = sources.open_stream(file.path)
        with stream, raw:
            yield from read_table_trace(
                stream, kind="csv", file_index=file.index, options=self.options, where=file.path
            )

    # Bookkeeping --------------------------------------------------------------------------

    def _finish(self, batch: RequestBatch) -> RequestBatch | None:
        file = self.files[batch.file_index]
        file.records += batch.records
        file.blank_lines += batch.blank_lines
        offset = file.lines_seen
        file.lines_seen += batch.line_count
        batch.lines += offset
        for skip in batch.skips:
            self._skip(dataclasses.replace(skip, line=skip.line + offset))
        if batch.kind == "batch-output":
            self._keep_outputs(batch)
            return None
        if self._outputs:
            self._join_outputs(batch)
        batch.turns = self._number_turns(batch)
        file.requests += len(batch)
        return batch

    def _skip(self, skip: Skip) -> None:
        self.files[skip.file_index].skipped += 1
        self.skips.add(skip)
        if self.options.strict:
            raise InputError(
                self.files[skip.file_index].path, f"{skip.kind}: {skip.reason}", line=skip.line
            )

    def _bad_stretch(self, stretch: sources.BadStretch) -> None:
        file = self.files[stretch.file_index]
        file.records += 1
        file.lines_seen += 1
        self._skip(Skip(stretch.file_index, file.lines_seen, stretch.kind, stretch.reason))

    def _keep_outputs(self, batch: RequestBatch) -> None:
        for row, custom_id in enumerate(batch.custom_ids):
            if custom_id in self._outputs:
                self._skip(
                    Skip(
                        batch.file_index,
                        int(batch.lines[row]),
                        "duplicate custom_id",
                        f"custom_id {custom_id!r} was answered earlier in the file",
                    )
                )
                continue
            self._outputs[custom_id] = (
                batch.file_index,
                int(batch.lines[row]),
                bool(batch.has_output[row]),
                int(batch.output_tokens[row]),
                batch.usage[row].copy(),
                int(batch.flags[row]),
                int(batch.minify_savings[row, OUTPUT]) if batch.minify_savings is not None else 0,
            )

    def _join_outputs(self, batch: RequestBatch) -> None:
        for row, custom_id in enumerate(batch.custom_ids):
            answer = self._outputs.pop(custom_id, None) if custom_id is not None else None
            if answer is None:
                continue
            file_index, _, has_output, output_tokens, usage, flags, minified = answer
            self.files[file_index].joined += 1
            if has_output:
                batch.has_output[row] = True
                batch.output_tokens[row] = output_tokens
                batch.components[row, OUTPUT] = output_tokens
                if batch.minify_savings is not None:
                    batch.minify_savings[row, OUTPUT] = minified
            if (batch.usage[row] == MISSING).all():
                batch.usage[row] = usage
            batch.flags[row] |= flags

    def _unmatched_outputs(self) -> None:
        outputs, self._outputs = self._outputs, {}
        for custom_id, (file_index, line, *_) in outputs.items():
            self._skip(
                Skip(
                    file_index,
                    line,
                    "unmatched batch output",
                    f"no request in the input files has custom_id {custom_id!r}",
                )
            )

    def _number_turns(self, batch: RequestBatch) -> np.ndarray:
        # A conversation_id numbers turns by order of appearance; without one, a request's
        # turn is the number of user turns it carries (its history is its conversation).
        turns = batch.user_turns.copy()
        for row, conversation in enumerate(batch.conversations):
            if conversation is not None:
                self._turns[conversation] += 1
                turns[row] = self._turns[conversation]
        return turns


def _inspect(index: int, path: str, options: RecountOptions) -> LogFile:
    size = os.path.getsize(path)
    table = detect.table_kind(path)
    if table is not None:
        if options.format not in (None, "trace"):
            raise ValueError(f"{path}: a {table.upper()} file can only be read as a trace")
        return LogFile(index, path, "trace", table, size)
    stream, raw = sources.open_stream(path)
    with stream, raw:
        try:
            head = stream.peek(1 << 20)[: 1 << 20]  # type: ignore[attr-defined]
            first = sources.first_significant_byte(stream)
            if first == b"{" and head.count(b"\n") < detect.SAMPLE_RECORDS:
                # Too few whole lines (a long first line, or the short peek of a compressed
                # file): read lines whole, to tell JSON Lines from one document and the
                # format from whole records.
                head = sources.head_lines(path, 1 << 20)
        except sources.read_errors() as error:
            # Damaged within its first megabyte: the format is told from what decodes before
            # the damage, and reading ends the file there as a skipped "truncated file".
            head = sources.decodable_head(path, 1 << 20)
            if not head.strip():
                raise ValueError(f"{path}: cannot read the compressed data: {error}") from error
            first = head.lstrip(sources.BOM + b" \t\r\n")[:1]
        if head[:2] in (b"\xff\xfe", b"\xfe\xff", b"{\x00", b"\x00{", b"[\x00", b"\x00["):
            raise ValueError(f"{path}: UTF-16 text; logs are read as UTF-8: convert it first")
        head = head.removeprefix(sources.BOM)
        records = detect.sample_records(head)
        document = None
        # One JSON document (an array, or a pretty-printed object): no line of it parses
        # alone, or its one line is an array. Lines that each hold an object, none of which
        # parses (invalid UTF-8, say), are JSON Lines whose lines are all bad.
        bad_lines = not records and detect.lines_of_objects(head)
        if (not records and first in (b"[", b"{") and not bad_lines) or (
            records and isinstance(records[0], list)
        ):
            parsed = sources.read_document(stream, path)
            document = parsed if isinstance(parsed, list) else [parsed]
            records = document[: detect.SAMPLE_RECORDS]
    found = detect.vote(records)
    if options.format is not None:
        role = found[1] if found and found[0] == options.format else None
        if options.format == "openai-batch" and role is None:
            role = "input"
        if options.format == "trace" and role is None:
            role = "jsonl"
        return LogFile(index, path, options.format, role, size, document)
    if found is None:
        if not records and (bad_lines or not head.strip()):
            # Empty, or every line bad: each is read, and skipped with its reason.
            return LogFile(index, path, "openai-chat", None, size)
        raise ValueError(
            f"{path}: cannot tell the log format from its first records; name it with "
            f"--format ({', '.join(FORMATS)})"
        )
    return LogFile(index, path, found[0], found[1], size, document)


def _columnar(file: LogFile, options: RecountOptions) -> bool:
    # Whether a megabyte from the head of a file, and from its middle and end when it is
    # not compressed, are read as columns (logs/chat_columns.py).
    if (file.format, file.role, file.document) != ("openai-chat", None, None):
        return False
    try:
        samples = sources.sample_lines(file.path, 1 << 20)
    except sources.read_errors():
        return False
    context = ReaderContext(options, num_threads=1)
    return all(gather_chat_columns(sample, 0, context) is not None for sample in samples)


def _run_here(tasks: Iterator[Any], options: RecountOptions) -> Iterator[Any]:
    # Chunks are recounted on threads of this process, one core each: pyarrow's JSON reader
    # and the native count release the GIL, so chunks read as columns run side by side, and
    # walked chunks take turns on the GIL while others count. Each thread has a context of
    # its own. Results keep the input's order; at most twice `threads` chunks are held.
    threads = options.worker_count()
    local = threading.local()

    def recount(chunk: sources.LineChunk, kind: tuple[str, str | None]) -> RequestBatch:
        if not hasattr(local, "context"):
            local.context = ReaderContext(options, num_threads=1)
        return process_chunk(chunk, kind, local.context)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
    pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
    try:
        for task in tasks:
            if isinstance(task, tuple):
                pending.append(pool.submit(recount, *task))
            else:
                pending.append(concurrent.futures.Future())
                pending[-1].set_result(task)
            while len(pending) > 2 * threads or (pending and pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)
