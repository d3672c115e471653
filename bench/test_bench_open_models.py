"""Speed of counting with open-model tokenizer files, against the bundled encodings, against
the same vocabulary read as a tiktoken rank file, and against the reference tokenizers, in the
same process, parity asserted.

The bar: `count_batch` with a tokenizer.json model runs within 20% of the bundled encoding of
its split-pattern family on the same texts (at least 1/1.2 of its speed), and faster than
Hugging Face `tokenizers` itself (`encode_batch_fast`, its fastest way to count). Held for
every file: Llama 3, GPT-2, and Qwen2.5, whose file normalizes (NFC; the engine normalizes
the texts that need it, about a tenth of the bytes here) and whose larger vocabulary alone
counts a little slower than cl100k's. Rank files (Meta's Llama 3, Mistral's Tekken) are
raced against tiktoken and recorded. Every contestant runs on every core; the contestants of one
test run in turns, round after round, and each keeps its best round, so that a machine
shared with other work slows them alike.

Workloads, cut from the shared corpus (prose, code, Markdown, CSV logs, eight languages):
- `documents`: pieces of 1k to 8k characters, 4 MiB in all;
- `short`: pieces of 10 to 300 characters, like chat turns, 1 MiB in all.

Settings (environment): TOKENOMIX_SHARED (the data folder), TOKENOMIX_BENCH_OPEN_MB (size of
the documents workload, default 4), TOKENOMIX_BENCH_ROUNDS (rounds per contestant, default 9).
Run: PYTHONPATH=python pytest bench/test_bench_open_models.py -o testpaths=bench
"""

from __future__ import annotations

import functools
import os
import pathlib
import random
import time

import pytest
from bench_setup import best_of

import tokenomix

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("TOKENOMIX_SHARED", REPO.parent / "shared"))
VOCAB = SHARED / "vocab"
DOCUMENT_BYTES = int(float(os.environ.get("TOKENOMIX_BENCH_OPEN_MB", "4")) * 2**20)
ROUNDS = int(os.environ.get("TOKENOMIX_BENCH_ROUNDS", "9"))
SPEED_BAR = 1 / 1.2

CORPUS = [
    "prose/botchan_en.txt",
    "prose/taylorswift_wikipedia_en.txt",
    "markdown/llama.cpp_docs_MIT.md",
    "code/python_tiktoken_MIT.py",
    "code/rust_tiktoken_MIT.rs",
    "code/cpp_llama.cpp-vocab_MIT.cpp",
    "multilingual/udhr_de.txt",
    "multilingual/udhr_ar.txt",
    "multilingual/udhr_hi.txt",
    "multilingual/udhr_ja.txt",
    "multilingual/udhr_ru.txt",
    "multilingual/udhr_zh_hans.txt",
    "multilingual/udhr_fa.txt",
    "multilingual/udhr_ko.txt",
    "csv/loghub_Apache_2k_structured.csv",
]

# tokenizer.json -> the bundled encoding of its split-pattern family
HF_MODELS = {"llama3_1": "cl100k_base", "qwen2_5": "cl100k_base", "gpt2": "r50k_base"}


@functools.cache
def corpus() -> str:
    return "\n".join((SHARED / "corpus" / n).read_text(encoding="utf-8") for n in CORPUS)


@functools.cache
def workload(kind: str) -> list[str]:
    text = corpus()
    rng = random.Random(5)
    low, high, total = (
        (1_000, 8_000, DOCUMENT_BYTES) if kind == "documents" else (10, 300, DOCUMENT_BYTES // 4)
    )
    texts, size = [], 0
    while size < total:
        length = rng.randint(low, high)
        start = rng.randrange(0, len(text) - length)
        texts.append(text[start : start + length])
        size += len(texts[-1].encode())
    return texts


def best_in_turns(contestants: dict[str, object], rounds: int = ROUNDS) -> dict[str, float]:
    """The best time of each contestant, all running in turns, round after round."""
    best = dict.fromkeys(contestants, float("inf"))
    for _ in range(rounds):
        for name, work in contestants.items():
            start = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def megabytes(texts: list[str]) -> float:
    return sum(len(t.encode()) for t in texts) / 2**20


@pytest.fixture(scope="module", params=["documents", "short"])
def texts(request):
    return request.param, workload(request.param)


@functools.cache
def same_vocabulary(name: str) -> tokenomix.Encoding:
    """The vocabulary of a tokenizer.json as an encoding read from a tiktoken rank file, the
    code path of the bundled encodings (Qwen2.5's ranks are its ids; Llama 3's rank file is
    Meta's; GPT-2's is r50k_base)."""
    import base64
    import json
    import tempfile

    from tokenomix.vocab.hf_components import byte_level_decoding

    if name == "llama3_1":
        return tokenomix.Encoding.from_file(VOCAB / "llama" / "llama3_tokenizer.model")
    if name == "gpt2":
        return tokenomix.get_encoding("r50k_base")
    vocab = json.loads((VOCAB / "hf" / f"{name}.tokenizer.json").read_text())["model"]["vocab"]
    to_bytes = byte_level_decoding()
    lines = [
        base64.b64encode(k.translate(to_bytes).encode("latin-1")).decode() + f" {v}"
        for k, v in vocab.items()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".tiktoken", delete=False) as file:
        file.write("\n".join(lines))
    return tokenomix.Encoding.from_file(file.name, pattern="qwen2", special_tokens={})


@pytest.mark.parametrize("name", list(HF_MODELS))
def test_tokenizer_json(benchmark, texts, name):
    from tokenizers import Tokenizer

    kind, batch = texts
    family = HF_MODELS[name]
    path = VOCAB / "hf" / f"{name}.tokenizer.json"
    ours = tokenomix.Encoding.from_file(path)
    reference = Tokenizer.from_file(str(path))
    reference.encode_special_tokens = True  # count: special-token text is text

    def reference_counts():
        return [len(e.ids) for e in reference.encode_batch_fast(batch, add_special_tokens=False)]

    reference_seconds, expected = best_of(2, reference_counts)
    assert ours.count_batch(batch).tolist() == expected
    best = best_in_turns(
        {
            "ours": lambda: ours.count_batch(batch),
            "bundled": lambda: tokenomix.get_encoding(family).count_batch(batch),
            "same vocabulary": lambda: same_vocabulary(name).count_batch(batch),
        }
    )
    benchmark.group = f"open models: count_batch ({kind})"
    benchmark.pedantic(lambda: ours.count_batch(batch), rounds=3, iterations=1)

    size = megabytes(batch)
    info = benchmark.extra_info
    info["MiB"] = round(size, 2)
    info["MiB_per_second"] = round(size / best["ours"], 1)
    info[f"{family}_MiB_per_second"] = round(size / best["bundled"], 1)
    info["rank_file_MiB_per_second"] = round(size / best["same vocabulary"], 1)
    info["tokenizers_MiB_per_second"] = round(size / reference_seconds, 1)
    info["ratio_to_bundled"] = round(best["bundled"] / best["ours"], 3)
    info["ratio_to_rank_file"] = round(best["same vocabulary"] / best["ours"], 3)
    info["times_tokenizers"] = round(reference_seconds / best["ours"], 1)
    assert best["ours"] < reference_seconds, info
    assert info["ratio_to_bundled"] >= SPEED_BAR, info


RANK_FILES = {
    "llama3 rank file": (VOCAB / "llama" / "llama3_tokenizer.model", "cl100k_base"),
    "tekken": (VOCAB / "mistral" / "tekken_240718.json.gz", "o200k_base"),
}


def tiktoken_reference(name: str):
    import base64
    import gzip
    import json

    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    from tokenomix.vocab.rank_file import SPLIT_PATTERNS

    path, _ = RANK_FILES[name]
    if name == "tekken":
        document = json.loads(gzip.decompress(path.read_bytes()))
        config = document["config"]
        size = config["default_vocab_size"] - config["default_num_special_tokens"]
        ranks = {base64.b64decode(t["token_bytes"]): t["rank"] for t in document["vocab"][:size]}
        return tiktoken.Encoding(
            name, pat_str=config["pattern"], mergeable_ranks=ranks, special_tokens={}
        )
    ranks = load_tiktoken_bpe(str(path))
    return tiktoken.Encoding(
        name, pat_str=SPLIT_PATTERNS["llama3"], mergeable_ranks=ranks, special_tokens={}
    )


@pytest.mark.parametrize("name", list(RANK_FILES))
def test_rank_file(benchmark, texts, name):
    kind, batch = texts
    path, family = RANK_FILES[name]
    ours = tokenomix.Encoding.from_file(path)
    reference = tiktoken_reference(name)
    reference_seconds, expected = best_of(
        2, lambda: [len(ids) for ids in reference.encode_ordinary_batch(batch)]
    )
    assert ours.count_batch(batch).tolist() == expected
    best = best_in_turns(
        {
            "ours": lambda: ours.count_batch(batch),
            "bundled": lambda: tokenomix.get_encoding(family).count_batch(batch),
        }
    )
    benchmark.group = f"open models: count_batch ({kind})"
    benchmark.pedantic(lambda: ours.count_batch(batch), rounds=3, iterations=1)
    size = megabytes(batch)
    info = benchmark.extra_info
    info["MiB_per_second"] = round(size / best["ours"], 1)
    info[f"{family}_MiB_per_second"] = round(size / best["bundled"], 1)
    info["tiktoken_MiB_per_second"] = round(size / reference_seconds, 1)
    info["ratio_to_bundled"] = round(best["bundled"] / best["ours"], 3)
    info["times_tiktoken"] = round(reference_seconds / best["ours"], 1)
