"""Try one contestant on the worst cases in a child process, before racing it on them.

Some counters are quadratic on long runs (an hour for a megabyte) and some abort the whole
process on them (a native stack overflow), which would end the benchmark session. The child
counts a megabyte of each case, one case after the other, and prints a JSON line when it
starts a case and when it is done. The parent kills it when a case runs past the time limit,
or learns from its death which case killed it, and starts a new child for the cases left.
A case is raced only if a megabyte of it took at most the limit here.

Run as: python worst_probe.py ENCODING CONTESTANT RANK_FILE CASE...
"""

from __future__ import annotations

import json
import pathlib
import queue
import subprocess
import sys
import threading
import time

from fresh_text import worst_case

from tokenomix.race import VocabSource, build_contestants
from tokenomix.vocab.openai import ENCODINGS

HERE = pathlib.Path(__file__).resolve().parent
BUILD_SECONDS = 120  # building a contestant (tokenizer.json for two of them) takes seconds


def main(argv: list[str]) -> None:
    encoding, name, rank_file, *cases = argv
    spec = ENCODINGS[encoding]
    source = VocabSource(encoding, pathlib.Path(rank_file), spec.pat_str, spec.special_tokens)
    built, _ = build_contestants(source, [name])
    count = built[name].counter("single")
    count(["warm up"])
    for case in cases:
        text = worst_case(case, f"{encoding} probe", 0)
        print(json.dumps({"case": case, "status": "started"}), flush=True)
        start = time.perf_counter()
        try:
            count([text])
            result = {"case": case, "status": "ok", "seconds": time.perf_counter() - start}
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # pyo3 panics included; the race reports them
            result = {"case": case, "status": "failed", "note": f"{type(error).__name__}"}
        print(json.dumps(result), flush=True)


def _lines(process: subprocess.Popen) -> queue.Queue:
    """A queue of the child's output lines, None at the end."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        try:
            for line in process.stdout:
                lines.put(line)
        except (ValueError, OSError):  # the pipe was closed after the child was killed
            pass
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def run_probe(
    encoding: str, name: str, rank_file: pathlib.Path, limit: float, cases: list[str]
) -> dict[str, dict]:
    """Probe every case; return, per case, its status ("ok", "failed", "too slow",
    "crashed") and a note saying what was measured."""
    results: dict[str, dict] = {}
    remaining = list(cases)
    while remaining:
        command = [sys.executable, str(HERE / "worst_probe.py"), encoding, name, str(rank_file)]
        with subprocess.Popen(
            [*command, *remaining], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        ) as process:
            _follow(process, _lines(process), limit, results)
        left = [c for c in remaining if c not in results]
        if left == remaining:  # the child died before its first case
            for case in left:
                results[case] = {"status": "crashed", "note": "the probe could not start"}
            break
        remaining = left
    for entry in results.values():
        if entry["status"] == "ok" and entry["seconds"] > limit:
            entry["status"] = "too slow"
        if "seconds" in entry:
            entry["note"] = f"a megabyte took {entry['seconds']:.1f} s in a trial run"
    return results


def _follow(process, lines: queue.Queue, limit: float, results: dict[str, dict]) -> None:
    """Read the child's reports until it ends or a case runs past `limit`."""
    case, deadline = None, time.monotonic() + BUILD_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            process.wait()
            if case is not None:
                note = f"a megabyte took over {limit:.0f} s"
                results[case] = {"status": "too slow", "note": note}
            return
        if line is None:
            status = process.wait()
            if case is not None:
                results[case] = {
                    "status": "crashed",
                    "note": f"a megabyte killed the process (exit status {status})",
                }
            return
        entry = json.loads(line)
        if entry["status"] == "started":
            case, deadline = entry["case"], time.monotonic() + limit
        else:
            results[entry.pop("case")], case = entry, None
            deadline = time.monotonic() + BUILD_SECONDS


if __name__ == "__main__":
    main(sys.argv[1:])
