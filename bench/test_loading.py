"""Loading an encoding: time and peak memory, tokenomix against tiktoken.

Both load from a rank file on disk and check its sha256, as their `get_encoding` does on first
use: tokenomix from the gzip file bundled in the package, tiktoken from the shared plain rank
file (as if from its download cache). The time is measured in this process over several loads;
peak memory is measured in a fresh interpreter per library, as the growth of the resident set's
high-water mark (VmHWM) over the resident set after importing the library.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from bench_setup import CONTESTANTS, ENCODING_NAMES, ROUNDS, vocab_source
from racing import Group, record

LOADERS = {
    "tokenomix": (
        "import tokenomix.registry as r",
        "r._load({name!r})",
        "tokenomix.registry._load(name) (what get_encoding does on first use)",
    ),
    "tiktoken": (
        "import tiktoken; from tiktoken.load import load_tiktoken_bpe; "
        "from tokenomix.vocab.openai import ENCODINGS; s = ENCODINGS[{name!r}]",
        "tiktoken.Encoding({name!r}, pat_str=s.pat_str, special_tokens=s.special_tokens, "
        "mergeable_ranks=load_tiktoken_bpe({path!r}, expected_hash=s.rank_file.sha256))",
        "tiktoken.Encoding(name, pat_str, load_tiktoken_bpe(path, expected_hash), specials)",
    ),
}

PROBE = """
import json, time
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
{imports}
before = status("VmRSS:")
start = time.perf_counter()
encoding = {load}
seconds = time.perf_counter() - start
print(json.dumps({{"peak_bytes": status("VmHWM:") - before, "seconds": seconds}}))
"""


def _probe(name: str, encoding: str) -> dict:
    imports, load, _ = LOADERS[name]
    path = str(vocab_source(encoding).rank_path)
    script = PROBE.format(
        imports=imports.format(name=encoding), load=load.format(name=encoding, path=path)
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        pytest.param(e, n, id=f"{e}-{n}")
        for e in ENCODING_NAMES
        for n in LOADERS
        if n in CONTESTANTS
    ],
)
def test_load(benchmark, encoding, name):
    if name == "tiktoken":
        pytest.importorskip("tiktoken")
    imports, load, call = LOADERS[name]
    path = str(vocab_source(encoding).rank_path)
    namespace: dict = {}
    exec(imports.format(name=encoding), namespace)
    loader = compile(load.format(name=encoding, path=path), "<load>", "eval")
    seconds: list[float] = []

    def target():
        start = time.perf_counter()
        eval(loader, namespace)
        seconds.append(time.perf_counter() - start)

    benchmark.group = f"{encoding} load"
    benchmark.pedantic(target, rounds=ROUNDS, iterations=1)
    memory = _probe(name, encoding)
    group = Group(f"{encoding} load", encoding, "single", "load", "load", [])
    entry = record(group, name, call, "exact", seconds=seconds, extra=memory)
    benchmark.extra_info.update(
        call=call,
        peak_bytes=memory["peak_bytes"],
        fresh_process_seconds=round(memory["seconds"], 4),
        median_seconds=round(sorted(entry.seconds)[len(seconds) // 2], 4),
    )
