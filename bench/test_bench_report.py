"""Speed and memory of the log report: recounting an OpenAI chat log against counting its
text alone with count_batch, in the same process, parity asserted.

The bar: the recount runs at least at half the speed of `Encoding.count_batch` on every
string it counts, on every core; a 2 GB log stays under 1 GB of peak memory (main and
worker processes together). Logs are generated from the shared corpus:

- `replayed`: conversations as applications send them, every request replaying its system
  prompt and history (what most chat logs hold);
- `unique`: no string ever repeats, the worst case for long prompts;
- `short`: one-shot requests of a short system prompt and turns of 10 to 120 characters,
  none repeated. Recorded, not held to the bar: parsing so many small strings (pyarrow's
  native reader) costs about two thirds of counting them, so the recount sits just under
  half of count_batch's speed on two cores (BENCHMARKS.md).

Settings (environment): TOKENOMIX_SHARED (the data folder), TOKENOMIX_BENCH_LOG_MB (size
of the speed logs, default 64), TOKENOMIX_BENCH_MEMORY_GB (size of the memory log, default
2; 0 skips the memory run).
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import sys
import threading
import time

import pytest
from bench_setup import best_of

import tokenomix
from tokenomix.logs import RecountOptions
from tokenomix.report import run_report
from tokenomix.report.savings import SavingsOptions

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("TOKENOMIX_SHARED", REPO.parent / "shared"))
LOG_BYTES = int(float(os.environ.get("TOKENOMIX_BENCH_LOG_MB", "64")) * 2**20)
MEMORY_BYTES = int(float(os.environ.get("TOKENOMIX_BENCH_MEMORY_GB", "2")) * 2**30)
SPEED_BAR = 0.5
MEMORY_BAR = 2**30
MODEL = "gpt-4o"


# Logs -------------------------------------------------------------------------------------


def corpus() -> str:
    names = [
        "prose/botchan_en.txt",
        "prose/taylorswift_wikipedia_en.txt",
        "markdown/llama.cpp_docs_MIT.md",
        "markdown/mooncake_docs_Apache-2.0.md",
        "code/python_tiktoken_MIT.py",
        "code/rust_tiktoken_MIT.rs",
        "multilingual/udhr_de.txt",
        "multilingual/udhr_ar.txt",
    ]
    return "\n".join((SHARED / "corpus" / name).read_text(encoding="utf-8") for name in names)


class Snippets:
    """Pieces of the corpus; with `unique`, each one is made distinct from all others."""

    def __init__(self, seed: int, unique: bool) -> None:
        self.text = corpus()
        self.rng = random.Random(seed)
        self.unique = unique
        self.serial = 0

    def __call__(self, low: int, high: int) -> str:
        size = self.rng.randint(low, high)
        start = self.rng.randrange(0, len(self.text) - size)
        piece = self.text[start : start + size]
        if self.unique:
            self.serial += 1
            piece = f"{self.serial} {piece}"
        return piece


def short_log(path: pathlib.Path, size: int) -> list[str]:
    """Write a log of short one-shot conversations; return every string counted."""
    snippet = Snippets(11, unique=True)
    texts: list[str] = []
    written = 0
    with open(path, "w", encoding="utf-8") as file:
        while written < size:
            messages = [{"role": "system", "content": "You are a helpful assistant."}]
            for _ in range(snippet.rng.randint(1, 6)):
                messages.append({"role": "user", "content": snippet(10, 120)})
                messages.append({"role": "assistant", "content": snippet(10, 120)})
            line = json.dumps({"model": MODEL, "messages": messages}, ensure_ascii=False) + "\n"
            file.write(line)
            written += len(line.encode("utf-8"))
            for message in messages[:-1]:
                texts += [message["role"], message["content"]]
            texts.append(messages[-1]["content"])
    return texts


def chat_log(path: pathlib.Path, size: int, *, unique: bool) -> list[str]:
    """Write a chat log of about `size` bytes; return every string the recount counts."""
    snippet = Snippets(7, unique)
    rng = snippet.rng
    apps = [snippet(2_000, 12_000) for _ in range(8)]  # long system prompts, shared
    texts: list[str] = []
    written = 0
    live: list[list[dict[str, str]]] = []
    with open(path, "w", encoding="utf-8") as file:
        while written < size:
            if not live or rng.random() < 0.3:
                system = snippet(2_000, 12_000) if unique else rng.choice(apps)
                live.append([{"role": "system", "content": system}])
            messages = rng.choice(live)  # conversations interleave, as in production
            messages.append({"role": "user", "content": snippet(20, 1_500)})
            answer = snippet(20, 2_000)
            record = {
                "model": MODEL,
                "messages": list(messages),
                "response": {"choices": [{"message": {"role": "assistant", "content": answer}}]},
            }
            line = json.dumps(record, ensure_ascii=False) + "\n"
            file.write(line)
            written += len(line.encode("utf-8"))
            for message in messages:
                texts += [message["role"], message["content"]]
            texts.append(answer)
            messages.append({"role": "assistant", "content": answer})
            if len(messages) > 12 or unique:
                live.remove(messages)
    return texts


def framing(path: pathlib.Path) -> int:
    """Framing tokens of the log: 3 per input message, 3 to prime each reply (roles are
    texts); without a response, the final assistant message is the output."""
    total = 0
    with open(path, encoding="utf-8") as file:
        for line in file:
            record = json.loads(line)
            inputs = len(record["messages"]) - ("response" not in record)
            total += 3 * inputs + 3
    return total


# The bar per log; None: measured and recorded, not held to it (see the module docstring).
BARS = {"replayed": SPEED_BAR, "unique": SPEED_BAR, "short": None}


@pytest.fixture(scope="module", params=list(BARS))
def log(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / f"{request.param}.jsonl"
    if request.param == "short":
        texts = short_log(path, LOG_BYTES // 4)
    else:
        texts = chat_log(path, LOG_BYTES, unique=request.param == "unique")
    return request.param, path, texts, framing(path)


# Speed ------------------------------------------------------------------------------------


def test_recount_against_count_batch(benchmark, log):
    kind, path, texts, framing_tokens = log
    encoding = tokenomix.encoding_for_model(MODEL)
    count_seconds, counts = best_of(3, lambda: encoding.count_batch(texts))

    benchmark.group = f"report: recount a chat log ({kind})"
    document = benchmark.pedantic(
        lambda: run_report([str(path)], RecountOptions()).document, rounds=3, iterations=1
    )

    recounted = document["input_tokens"]["sum"] + document["output_tokens"]["sum"]
    assert recounted == int(counts.sum()) + framing_tokens  # parity: the same tokens
    ratio = count_seconds / benchmark.stats.stats.min
    megabytes = path.stat().st_size / 2**20
    benchmark.extra_info.update(
        {
            "log": kind,
            "log_mb": round(megabytes, 1),
            "strings": len(texts),
            "count_batch_s": round(count_seconds, 3),
            "recount_s": round(benchmark.stats.stats.min, 3),
            "recount_mb_per_s": round(megabytes / benchmark.stats.stats.min, 1),
            "ratio_to_count_batch": round(ratio, 3),
            "cores": os.cpu_count(),
        }
    )
    bar = BARS[kind]
    if bar is not None:
        assert ratio >= bar, (
            f"recounting runs at {ratio:.0%} of count_batch's speed on the same text; the bar "
            f"is {bar:.0%}"
        )


def test_savings_cost_against_the_plain_recount(benchmark, log):
    """Recorded, not held to a bar: what --savings adds to a recount of the same log."""
    kind, path, _, _ = log
    plain_seconds, plain = best_of(3, lambda: run_report([str(path)], RecountOptions()).document)
    benchmark.group = f"report: --savings against the plain recount ({kind})"
    document = benchmark.pedantic(
        lambda: run_report([str(path)], RecountOptions(), savings=SavingsOptions()).document,
        rounds=3,
        iterations=1,
    )
    assert document["input_tokens"] == plain["input_tokens"]  # the same recount underneath
    assert document["savings"] is not None and plain["savings"] is None
    benchmark.extra_info.update(
        {
            "log": kind,
            "plain_s": round(plain_seconds, 3),
            "savings_s": round(benchmark.stats.stats.min, 3),
            "savings_over_plain": round(benchmark.stats.stats.min / plain_seconds, 2),
        }
    )


# Memory -----------------------------------------------------------------------------------


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
            except OSError:
                continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            status = (pathlib.Path("/proc") / str(current) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@pytest.mark.skipif(
    MEMORY_BYTES == 0 or not pathlib.Path("/proc/self/status").exists(),
    reason="TOKENOMIX_BENCH_MEMORY_GB=0, or no /proc to read memory from",
)
def test_memory_stays_flat_on_a_large_log(benchmark, tmp_path):
    block = tmp_path / "block.jsonl"
    chat_log(block, 64 * 2**20, unique=False)
    data = block.read_bytes()
    path = tmp_path / "large.jsonl"
    with open(path, "wb") as file:
        for _ in range(max(1, -(-MEMORY_BYTES // len(data)))):
            file.write(data)
    block.unlink()
    out = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    peak = [0]

    def run() -> float:
        process = subprocess.Popen(
            [sys.executable, "-m", "tokenomix", "--quiet", "report", str(path), "--json", str(out)],
            env=env,
        )
        sampler = threading.Thread(target=_sample, args=(process, peak), daemon=True)
        start = time.perf_counter()
        sampler.start()
        assert process.wait() == 0
        sampler.join()
        return time.perf_counter() - start

    benchmark.group = "report: memory"
    benchmark.pedantic(run, rounds=1, iterations=1)
    document = json.loads(out.read_text())
    gigabytes = path.stat().st_size / 2**30
    benchmark.extra_info.update(
        {
            "log_gb": round(gigabytes, 2),
            "peak_rss_mb": peak[0] >> 20,
            "requests": document["requests"],
        }
    )
    assert document["skipped"]["count"] == 0
    assert peak[0] < MEMORY_BAR, f"peak RSS {peak[0] >> 20} MiB on a {gigabytes:.1f} GB log"


def _sample(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], tree_rss(process.pid))
        time.sleep(0.05)
