"""Counting speed per input kind and shape, one thread and all cores, against tiktoken.

Shapes: many documents of 1-8 KB (the shape of request logs), and one long document (the
shape of a file). Each (encoding, threads, shape, kind) is one pytest-benchmark group; tiktoken
runs first in each group and every other contestant's ratio is taken against it.
"""

from __future__ import annotations

import pytest
from bench_setup import (
    BATCH_BYTES,
    CONTESTANTS,
    CORPUS,
    DOCUMENT_BYTES,
    DOCUMENT_ROUNDS,
    ENCODING_NAMES,
    ROUNDS,
    contestant_or_skip,
    reference,
)
from fresh_text import KINDS, FreshText, load_units
from racing import REFERENCE, Group, cached_group, make_slice, race, record

SMALLEST, LARGEST = 1000, 8000  # characters per document in the many-documents shape

UNSUPPORTED = {
    "single": "no call that counts ordinary text",
    "parallel": "no multi-threaded call that counts ordinary text",
    "document_parallel": "no way to spread one text over threads",
}

SHAPES = {
    # shape: (modes, rounds, text per round)
    "docs": (("single", "parallel"), ROUNDS, BATCH_BYTES),
    "document": (("single", "document_parallel"), DOCUMENT_ROUNDS, DOCUMENT_BYTES),
}


def _cases():
    for shape, (modes, _, _) in SHAPES.items():
        for encoding in ENCODING_NAMES:
            for mode in modes:
                for kind in KINDS:
                    for name in CONTESTANTS:
                        if name == "tokenomix count" and mode != "single":
                            continue
                        yield pytest.param(
                            shape,
                            encoding,
                            mode,
                            kind,
                            name,
                            id=f"{shape}-{encoding}-{mode}-{kind}-{name}",
                        )


def _group(shape: str, encoding: str, mode: str, kind: str) -> Group:
    key = f"{encoding} {mode} {shape} {kind}"

    def build() -> Group:
        _, rounds, size = SHAPES[shape]
        stream = FreshText(load_units(CORPUS, kind), key)
        ref = reference(encoding)
        slices = []
        for _ in range(rounds):
            if shape == "docs":
                texts = stream.documents(size, smallest=SMALLEST, largest=LARGEST)
            else:
                texts = [stream.take(size)]
            slices.append(make_slice(ref, texts))
        return Group(key, encoding, mode, shape, kind, slices)

    return cached_group(build, key)


@pytest.mark.parametrize(("shape", "encoding", "mode", "kind", "name"), list(_cases()))
def test_count(benchmark, shape, encoding, mode, kind, name):
    contestant = contestant_or_skip(encoding, name)
    group = _group(shape, encoding, mode, kind)
    if not contestant.supports(mode):
        if name != REFERENCE:
            reason = UNSUPPORTED[mode]
            record(group, name, "", "skipped", reason)
            pytest.skip(f"{name}: {reason}")
        mode = "single"  # tiktoken counts one text on one thread: the ratios' baseline
    race(benchmark, group, contestant, mode)
