"""One race: every contestant counts the same fresh slices, timed per round, parity checked.

A group is one (encoding, threads, shape, input kind). Its slices are made once, and tiktoken's
counts for them are computed before any contestant runs, on a tiktoken instance of its own
(tiktoken keeps no cache). Each contestant then counts slice i in round i of a
pytest-benchmark pedantic run, so all contestants do exactly the same work and none sees a
slice twice. Ratios against tiktoken are total time over the same slices.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest

from tokenomix.race import Contestant
from tokenomix.race.timing import WARM_UP

REFERENCE = "tiktoken"
OURS = ("tokenomix", "tokenomix count")


@dataclasses.dataclass
class Slice:
    texts: list[str]
    expected: list[int]
    bytes: int


@dataclasses.dataclass
class Group:
    key: str
    encoding: str
    mode: str  # "single", "parallel" or "document_parallel"
    shape: str  # "docs", "document" or "worst"
    kind: str
    slices: list[Slice]


@dataclasses.dataclass
class Record:
    """One contestant's result in one group."""

    group: str
    encoding: str
    mode: str
    shape: str
    kind: str
    contestant: str
    call: str
    status: str  # "exact", "inexact", "failed" or "skipped"
    note: str = ""
    seconds: list[float] = dataclasses.field(default_factory=list)
    bytes: int = 0
    tokens: int = 0
    cpu_seconds: float = 0.0
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.total_seconds if self.seconds else 0.0


RESULTS: dict[str, dict[str, Record]] = {}
SKIPPED: dict[str, str] = {}  # contestant -> why it could not run at all


def reference_count(reference, text: str) -> int:
    """tiktoken's count of `text`; split with the `regex` module where tiktoken's engine fails.

    tiktoken's own regex engine overflows its stack on a megabyte of spaces with the o200k
    pattern; `_encode_only_native_bpe` is tiktoken's documented slow path that splits with
    the `regex` module and merges with tiktoken's BPE.
    """
    try:
        return len(reference.encode_ordinary(text))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pyo3's PanicException derives from BaseException
        return len(reference._encode_only_native_bpe(text))


def make_slice(reference, texts: list[str]) -> Slice:
    expected = [reference_count(reference, t) for t in texts]
    return Slice(texts, expected, sum(len(t.encode("utf-8")) for t in texts))


def record(group: Group, name: str, call: str, status: str, note: str = "", **fields) -> Record:
    entry = Record(
        group.key,
        group.encoding,
        group.mode,
        group.shape,
        group.kind,
        name,
        call,
        status,
        note,
        **fields,
    )
    RESULTS.setdefault(group.key, {})[name] = entry
    return entry


def race(benchmark, group: Group, contestant: Contestant, mode: str) -> Record:
    """Time `contestant` over the group's slices, one slice per round; check every count."""
    counter = contestant.counter(mode)
    call = contestant.call(mode)
    longest = max(len(t) for s in group.slices for t in s.texts)
    if contestant.max_chars is not None and longest > contestant.max_chars:
        note = f"refuses texts over {contestant.max_chars:,} characters"
        record(group, contestant.name, call, "skipped", note)
        pytest.skip(f"{contestant.name} {note}")
    counter(WARM_UP)

    feed = iter(group.slices)
    counts: list = []
    seconds: list[float] = []
    cpu: list[float] = []

    def setup():
        return (next(feed).texts,), {}

    def target(texts):
        cpu_start, start = time.process_time(), time.perf_counter()
        result = counter(texts)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        counts.append(result)

    benchmark.group = group.key
    try:
        benchmark.pedantic(target, setup=setup, rounds=len(group.slices), iterations=1)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # a peer's panic is a result, reported as such
        benchmark.has_error = True  # pytest-benchmark flags only Exception, not pyo3's panics
        note = f"raised {type(error).__name__}: {str(error).splitlines()[0][:120]}"
        record(group, contestant.name, call, "failed", note)
        if contestant.name in OURS:
            raise
        pytest.xfail(f"{contestant.name} {note}")

    total_bytes = sum(s.bytes for s in group.slices)
    tokens = sum(sum(s.expected) for s in group.slices)
    wrong = _mismatches(group, counts)
    status = "inexact" if wrong else "exact"
    note = _describe(wrong, group) if wrong else ""
    entry = record(
        group,
        contestant.name,
        call,
        status,
        note,
        seconds=seconds,
        bytes=total_bytes,
        tokens=tokens,
        cpu_seconds=sum(cpu),
    )
    _extra_info(benchmark, entry)
    _judge(contestant, entry)
    return entry


def _mismatches(group: Group, counts: list) -> list[tuple[int, int, int, int]]:
    """(round, text, expected, got) for every count that differs from tiktoken's."""
    wrong = []
    for round_index, (piece, got) in enumerate(zip(group.slices, counts, strict=True)):
        for text_index, (want, have) in enumerate(zip(piece.expected, list(got), strict=True)):
            if int(have) != want:
                wrong.append((round_index, text_index, want, int(have)))
    return wrong


def _describe(wrong: list, group: Group) -> str:
    total = sum(len(s.texts) for s in group.slices)
    r, t, want, have = wrong[0]
    return (
        f"{len(wrong)} of {total} texts differ from tiktoken "
        f"(first: round {r} text {t}, {have} tokens instead of {want})"
    )


def _extra_info(benchmark, entry: Record) -> None:
    info = benchmark.extra_info
    info["contestant"] = entry.contestant
    info["call"] = entry.call
    info["status"] = entry.status
    info["bytes"] = entry.bytes
    info["tokens"] = entry.tokens
    info["mb_per_s"] = round(entry.mb_per_s, 3)
    info["tokens_per_s"] = round(entry.tokens / entry.total_seconds)
    info["cores_used"] = round(entry.cpu_seconds / entry.total_seconds, 2)
    reference = RESULTS.get(entry.group, {}).get(REFERENCE)
    if reference is not None and reference.seconds and entry.contestant != REFERENCE:
        info["ratio_vs_tiktoken"] = round(reference.total_seconds / entry.total_seconds, 3)


def _judge(contestant: Contestant, entry: Record) -> None:
    """Fail on any wrong count, except a peer's known inexactness, which is reported."""
    if entry.status == "exact":
        return
    if contestant.known_inexact and contestant.name not in OURS:
        pytest.xfail(
            f"{contestant.name} is known to be inexact ({contestant.known_inexact}): {entry.note}"
        )
    pytest.fail(f"{contestant.name} counts differ from tiktoken: {entry.note}", pytrace=False)


def cached_group(builder: Callable[[], Group], key: str, _cache: dict = {}) -> Group:  # noqa: B006
    """Build a group once; keep only the latest, since tests run group by group."""
    if key not in _cache:
        _cache.clear()
        _cache[key] = builder()
    return _cache[key]
