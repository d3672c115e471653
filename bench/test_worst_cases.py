"""Worst cases: a megabyte of one letter, of spaces, of digits, of base64, against a megabyte
of prose, on one thread.

A long run of one character is a single piece for the merge loop, so a merge loop that is
quadratic in the piece length shows here. Before a peer is raced on these, a child process
tries it on a megabyte of each case (`worst_probe.py`): a peer that takes longer than
TOKENOMIX_BENCH_WORST_LIMIT_S seconds (default 10; quadratic ones take hours) or that kills
its process on a case is skipped on that case, with what was measured.
"""

from __future__ import annotations

import functools
import os

import pytest
from bench_setup import (
    CONTESTANTS,
    CORPUS,
    ENCODING_NAMES,
    ROUNDS,
    contestant_or_skip,
    reference,
    vocab_source,
)
from fresh_text import MEGABYTE, WORST_CASES, FreshText, load_units, worst_case
from racing import OURS, Group, cached_group, make_slice, race, record
from worst_probe import run_probe

LIMIT_SECONDS = float(os.environ.get("TOKENOMIX_BENCH_WORST_LIMIT_S", "10"))
CASES = ("prose", *WORST_CASES)


def _group(encoding: str, case: str) -> Group:
    key = f"{encoding} single worst {case}"

    def build() -> Group:
        ref = reference(encoding)
        if case == "prose":
            stream = FreshText(load_units(CORPUS, "prose"), key)
            texts = [[stream.take(MEGABYTE)] for _ in range(ROUNDS)]
        else:
            texts = [[worst_case(case, key, i)] for i in range(ROUNDS)]
        return Group(key, encoding, "single", "worst", case, [make_slice(ref, t) for t in texts])

    return cached_group(build, key)


@functools.cache
def _probe(encoding: str, name: str) -> dict[str, dict]:
    rank_file = vocab_source(encoding).rank_path
    return run_probe(encoding, name, rank_file, LIMIT_SECONDS, list(WORST_CASES))


@pytest.mark.parametrize(
    ("encoding", "case", "name"),
    [
        pytest.param(e, c, n, id=f"{e}-{c}-{n}")
        for e in ENCODING_NAMES
        for c in CASES
        for n in CONTESTANTS
    ],
)
def test_worst_case(benchmark, encoding, case, name):
    contestant = contestant_or_skip(encoding, name)
    group = _group(encoding, case)
    too_long = contestant.max_chars is not None and contestant.max_chars < MEGABYTE
    if case != "prose" and name not in OURS and not too_long:
        probe = _probe(encoding, name).get(case, {"status": "crashed", "note": "probe failed"})
        if probe["status"] in ("too slow", "crashed"):
            note = f"{probe['status']}: {probe['note']}"
            record(group, name, contestant.call("single"), "skipped", note)
            pytest.skip(f"{name} on {case}: {note}")
    race(benchmark, group, contestant, "single")
