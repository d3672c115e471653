"""A pool of worker processes that recount chunks, results returned in submission order.

Design notes. multiprocessing's "spawn" and "forkserver" start methods run the caller's
main module again in every worker, which breaks any script (or `python -m` entry point)
without an `if __name__ == "__main__":` guard; "fork" copies a process that may hold
threads (the native counting pool, a progress display). So workers are plain
subprocesses running `serve()`, fed through their stdin and answering on their stdout with
length-prefixed pickles. Each worker reads its stdin on a thread of its own, so the parent's
writes never wait on a worker busy writing a result: the parent blocks only on reading the
oldest result, which the worker produces without the parent's help. Deadlock-free.
"""

from __future__ import annotations

import collections
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

_HEADER = struct.Struct("<Q")
_DEPTH = 2  # chunks in flight per worker: one at work, one waiting


def _send(stream: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class WorkerPool:
    """Worker processes, each set up once with the recount options."""

    def __init__(self, options: Any, workers: int) -> None:
        command = [
            sys.executable,
            "-c",
            f"import sys; sys.path[:0] = {sys.path!r}; "
            "from tokenomix.logs.workers import serve; serve()",
        ]
        # One hash seed for all workers: the prefix keys of requests (logs/batch.py) are
        # Python hashes, compared across chunks recounted by different workers.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        self._processes = [
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            for _ in range(workers)
        ]
        for process in self._processes:
            _send(process.stdin, options)  # type: ignore[arg-type]
        self._in_flight = 0

    def map_ordered(self, tasks: Iterator[Any]) -> Iterator[Any]:
        """Send each (chunk, kind) task to a worker, pass other items through; yield the
        results and items in the order of `tasks`."""
        workers = len(self._processes)
        in_flight = [0] * workers
        pending: collections.deque[tuple[bool, Any]] = collections.deque()
        turn = 0
        for task in tasks:
            if not isinstance(task, tuple):
                pending.append((False, task))
                continue
            worker = turn % workers
            turn += 1
            while in_flight[worker] >= _DEPTH:
                yield self._next(pending, in_flight)
            _send(self._processes[worker].stdin, task)  # type: ignore[arg-type]
            in_flight[worker] += 1
            self._in_flight += 1
            pending.append((True, worker))
        while pending:
            yield self._next(pending, in_flight)

    def _next(self, pending: collections.deque[tuple[bool, Any]], in_flight: list[int]) -> Any:
        is_task, value = pending.popleft()
        if not is_task:
            return value
        process = self._processes[value]
        try:
            ok, result = _receive(process.stdout)  # type: ignore[arg-type]
        except EOFError:
            code = process.wait()
            raise RuntimeError(
                f"a recount worker process stopped unexpectedly (exit {code})"
            ) from None
        in_flight[value] -= 1
        self._in_flight -= 1
        if not ok:
            raise result
        return result

    def close(self) -> None:
        """Stop the workers (closing their input ends them) and wait for them.

        Workers with results nobody will read (the caller stopped early, on an error) are
        killed: they could be blocked writing to a pipe that is no longer read.
        """
        if self._in_flight:
            for process in self._processes:
                process.kill()
        for process in self._processes:
            try:
                process.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()  # type: ignore[union-attr]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve() -> None:
    """Run a worker: read the options, then recount chunks until stdin closes."""
    from tokenomix.logs.worker import init_worker, run_in_worker

    # Ctrl-C reaches the whole process group: the parent stops the workers (closing their
    # input, or killing them), so a worker does not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but results may reach the parent's pipe
    init_worker(_receive(stdin))
    tasks: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_read_tasks, args=(stdin, tasks), daemon=True).start()
    while (task := tasks.get()) is not None:
        try:
            reply = (True, run_in_worker(*task))
        except Exception as error:
            reply = (False, error)
        _send(stdout, reply)
    os._exit(0)  # skip interpreter teardown: the reader thread may still be blocked


def _read_tasks(stdin: BinaryIO, tasks: queue.Queue[Any]) -> None:
    while True:
        try:
            tasks.put(_receive(stdin))
        except EOFError:
            tasks.put(None)
            return
