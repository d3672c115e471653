"""Settings, vocabularies and contestants shared by the speed suites.

Settings come from the environment, so that a quick run and a full run use the same command:

    TOKENOMIX_BENCH_ROUNDS          rounds per benchmark (fresh text each round)      3
    TOKENOMIX_BENCH_BATCH_KB        text per round in the many-documents shape, KB   512
    TOKENOMIX_BENCH_DOCUMENT_MB     size of the one-document shape, MB                10
    TOKENOMIX_BENCH_DOCUMENT_ROUNDS rounds of the one-document shape                  1
    TOKENOMIX_BENCH_ENCODINGS       comma-separated encodings          o200k_base,cl100k_base
    TOKENOMIX_BENCH_CONTESTANTS     comma-separated contestants                 (all)
    TOKENOMIX_BENCH_SUMMARY         where to write the summary as JSON and Markdown
                                    (.benchmarks/summary.json and .md)
    TOKENOMIX_SHARED                the shared data folder (corpus/, vocab/)    ../shared
"""

from __future__ import annotations

import functools
import os
import pathlib
import time
from collections.abc import Callable

import pytest

from tokenomix.race import VocabSource, build_contestants, contestant_names
from tokenomix.vocab.openai import ENCODINGS

REPO = pathlib.Path(__file__).resolve().parent.parent


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"TOKENOMIX_BENCH_{name}", default)


ROUNDS = int(_setting("ROUNDS", "3"))
BATCH_BYTES = int(float(_setting("BATCH_KB", "512")) * 1000)
DOCUMENT_BYTES = int(float(_setting("DOCUMENT_MB", "10")) * 1_000_000)
DOCUMENT_ROUNDS = int(_setting("DOCUMENT_ROUNDS", "1"))
ENCODING_NAMES = _setting("ENCODINGS", "o200k_base,cl100k_base").split(",")
CONTESTANTS = [
    name for name in _setting("CONTESTANTS", ",".join(contestant_names())).split(",") if name
]
if "tiktoken" not in CONTESTANTS:
    CONTESTANTS.insert(0, "tiktoken")  # the reference every ratio is taken against
SUMMARY_PATH = pathlib.Path(_setting("SUMMARY", str(REPO / ".benchmarks" / "summary.json")))
SHARED = pathlib.Path(os.environ.get("TOKENOMIX_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"


@functools.cache
def vocab_source(encoding: str) -> VocabSource:
    """The shared rank file of `encoding`, with tokenomix's pattern and special tokens."""
    spec = ENCODINGS[encoding]
    path = SHARED / "vocab" / "openai" / f"{spec.rank_file.name}.tiktoken"
    return VocabSource(encoding, path, spec.pat_str, spec.special_tokens)


@functools.cache
def contestants(encoding: str):
    """The contestants built for `encoding`, and why the others could not be."""
    from racing import SKIPPED

    built, skipped = build_contestants(vocab_source(encoding), CONTESTANTS)
    for name, reason in skipped.items():
        SKIPPED.setdefault(name, reason)
    return built, skipped


@functools.cache
def reference(encoding: str):
    """A tiktoken instance that computes the expected counts and is never timed."""
    tiktoken = pytest.importorskip("tiktoken", reason="tiktoken is the reference of every race")
    source = vocab_source(encoding)
    return tiktoken.Encoding(
        encoding,
        pat_str=source.pat_str,
        mergeable_ranks=source.ranks,
        special_tokens=source.special_tokens,
    )


def contestant_or_skip(encoding: str, name: str):
    built, skipped = contestants(encoding)
    if name not in built:
        pytest.skip(f"{name}: {skipped[name]}")
    return built[name]


def best_of(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    """Run `work` `runs` times; return its fastest time in seconds and its last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result
