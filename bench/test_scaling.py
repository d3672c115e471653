"""Scaling of tokenomix's `count_batch` from one thread to two (and to every core).

Each thread count gets its own fresh slices of the same mix: 1-8 KB documents drawn in turn
from every input kind, four times the many-documents round size per round. On a shared
machine the second core is rarely idle; `cores_used` in each result's extra info says how
much CPU time the run actually got per second of wall time.
"""

from __future__ import annotations

import pytest
from bench_setup import (
    BATCH_BYTES,
    CORPUS,
    ENCODING_NAMES,
    ROUNDS,
    best_of,
    contestant_or_skip,
    reference,
)
from fresh_text import KINDS, FreshText, load_units
from racing import Group, cached_group, make_slice, race

from tokenomix.race import Contestant
from tokenomix.race.contestants import cores
from tokenomix.registry import get_encoding

THREADS = sorted({1, 2, cores()})


def _group(encoding: str, threads: int) -> Group:
    key = f"{encoding} threads={threads} scaling mixed"

    def build() -> Group:
        streams = [FreshText(load_units(CORPUS, kind), f"{key} {kind}") for kind in KINDS]
        ref = reference(encoding)
        slices = []
        for _ in range(ROUNDS):
            texts = []
            for stream in streams:
                texts += stream.documents(
                    4 * BATCH_BYTES // len(streams), smallest=1000, largest=8000
                )
            slices.append(make_slice(ref, texts))
        return Group(key, encoding, f"threads={threads}", "scaling", "mixed", slices)

    return cached_group(build, key)


@pytest.mark.parametrize(
    ("encoding", "threads"),
    [pytest.param(e, t, id=f"{e}-threads={t}") for e in ENCODING_NAMES for t in THREADS],
)
def test_scaling(benchmark, encoding, threads):
    contestant_or_skip(encoding, "tokenomix")
    encoding_object = get_encoding(encoding)
    call = f"enc.count_batch(texts, num_threads={threads})"
    counted = Contestant(
        "tokenomix",
        "tokenomix",
        {"single": (call, lambda texts: encoding_object.count_batch(texts, num_threads=threads))},
    )
    race(benchmark, _group(encoding, threads), counted, "single")


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_scaling_on_text_seen_before(benchmark, encoding):
    """1 against 2 threads on the same documents counted again, every thread's piece cache
    warm: the engine's own scaling, without the cost of each thread meeting a piece first."""
    contestant_or_skip(encoding, "tokenomix")
    enc = get_encoding(encoding)
    streams = [
        FreshText(load_units(CORPUS, kind), f"{encoding} warm scaling {kind}") for kind in KINDS
    ]
    texts = [
        text
        for stream in streams
        for text in stream.documents(4 * BATCH_BYTES // len(streams), smallest=1000, largest=8000)
    ]
    expected = [len(ids) for ids in reference(encoding).encode_ordinary_batch(texts)]
    seconds = {}
    for threads in (1, 2):
        assert enc.count_batch(texts, num_threads=threads).tolist() == expected  # and warm up
        seconds[threads], _ = best_of(5, lambda t=threads: enc.count_batch(texts, num_threads=t))
    benchmark.group = f"scaling on text seen before ({encoding})"
    benchmark.pedantic(lambda: enc.count_batch(texts, num_threads=2), rounds=1, iterations=1)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    benchmark.extra_info.update(
        {
            "mb": round(megabytes, 1),
            "seconds_1_thread": round(seconds[1], 4),
            "seconds_2_threads": round(seconds[2], 4),
            "scaling_1_to_2": round(seconds[1] / seconds[2], 2),
        }
    )
    print(f"\n{encoding}: 1 -> 2 threads on text seen before: {seconds[1] / seconds[2]:.2f}x")
