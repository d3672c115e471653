"""What per-thread caches cost two threads, without the noise of timing them.

Each thread of `count_batch` keeps its own piece caches, so two threads each meet a piece
for the first time. This script counts fresh 1-8 KB documents on one thread, handing the
64 KB tasks either all to one encoder or in turn to two encoders of the same vocabulary
(each with caches of its own, as two threads have). Run it under callgrind and compare the
instructions and cache misses of the two ways:

    valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no \\
        '--toggle-collect=tokenomix::bpe::Encoder::count*' \\
        python bench/split_cache_probe.py o200k_base one|two [WARM_UP_MB]
"""

from __future__ import annotations

import sys

from bench_setup import CORPUS
from fresh_text import KINDS, FreshText, load_units

from tokenomix import registry

TASK_BYTES = 64 * 1024  # the thread pool's task size (csrc/batch/batch.hpp)


def main(encoding: str, ways: str, warm_up_mb: int = 4) -> None:
    first = registry._load(encoding)
    encoders = [first, registry._load(encoding)] if ways == "two" else [first]
    streams = [FreshText(load_units(CORPUS, kind), f"split cache {kind}") for kind in KINDS]

    def documents(size: int) -> list[str]:
        share = size // len(streams)
        return [text for s in streams for text in s.documents(share, smallest=1000, largest=8000)]

    def count(texts: list[str]) -> None:
        tasks: list[list[str]] = [[]]
        size = 0
        for text in texts:
            tasks[-1].append(text)
            size += len(text)
            if size >= TASK_BYTES:
                tasks.append([])
                size = 0
        for turn, task in enumerate(tasks):
            encoders[turn % len(encoders)].count_batch(task, num_threads=1)

    count(documents(warm_up_mb * 1_000_000))
    count(documents(2_000_000))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:]))
