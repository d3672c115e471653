"""The bar: on a log the code has not seen, every figure of the JSON report equals an
independent computation with tiktoken and NumPy (tests/report_reference.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from log_factory import chat_log, write_jsonl

from tokenomix.logs import RecountOptions
from tokenomix.report import run_report

from report_reference import expected_document, recount_record

BAD_LINES = {
    3: '{"model": "gpt-4o", "messages": [',
    7: "not json at all",
    11: '{"model": "gpt-4o", "messages": [{"role": "user"}]}',
}


def assert_same(actual, expected, where="document"):
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key!r}"
            assert_same(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)} items"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert isinstance(actual, float) and math.isclose(actual, expected, rel_tol=1e-12), (
            f"{where}: {actual!r} != {expected!r}"
        )
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_figure_equals_an_independent_recount(tmp_path, seed):
    records = chat_log(seed, 60)
    path = tmp_path / f"log-{seed}.jsonl"
    write_jsonl(path, records, BAD_LINES)

    report = run_report([str(path)], RecountOptions(jobs=1)).document

    expected = expected_document([recount_record(record) for record in records])
    assert_same(report, expected)
    assert report["records"] == {
        "read": len(records) + 3,
        "counted": len(records),
        "skipped": 3,
        "joined": 0,
        "blank_lines": 0,
    }
    assert report["skipped"]["by_kind"] == {"message without content": 1, "not JSON": 2}
    assert [s["line"] for s in report["skipped"]["first"]] == [4, 8, 12]


def test_context_pattern_and_assumed_image_size(tmp_path):
    records = chat_log(7, 80)
    pattern = r"(?s)the.{0,40}?and"
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records)
    options = RecountOptions(jobs=1, context_pattern=pattern, image_size=(1200, 900))

    report = run_report([str(path)], options).document

    expected = expected_document(
        [recount_record(r, context_pattern=pattern, image_size=(1200, 900)) for r in records]
    )
    assert_same(report, expected)
    assert report["components"]["context"]["sum"] > 0


@pytest.mark.parametrize("jobs", [2, 3])
def test_worker_processes_give_the_same_report(tmp_path, monkeypatch, jobs):
    import tokenomix.logs.pipeline as pipeline
    import tokenomix.logs.sources as sources

    records = chat_log(11, 300)
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records, BAD_LINES)
    alone = run_report([str(path)], RecountOptions(jobs=1)).document
    monkeypatch.setattr(pipeline, "BYTES_PER_WORKER", 1)
    monkeypatch.setattr(sources, "CHUNK_BYTES", 64 << 10)  # many chunks, several per worker

    pooled = run_report([str(path)], RecountOptions(jobs=jobs)).document

    assert pooled == alone


@pytest.mark.parametrize("jobs", [2, 3])
def test_threads_give_the_same_report(tmp_path, monkeypatch, jobs):
    # Small chunks recounted side by side on threads of this process, plain ones read as
    # columns and the others walked, give the figures of one thread reading one chunk.
    import tokenomix.logs.sources as sources

    plain = [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": f"question {i} " * i}]}
        for i in range(400)
    ]
    path = tmp_path / "log.jsonl"
    write_jsonl(path, plain + chat_log(11, 300) + plain, BAD_LINES)
    alone = run_report([str(path)], RecountOptions(jobs=1)).document
    monkeypatch.setattr(sources, "CHUNK_BYTES", 16 << 10)

    threaded = run_report([str(path)], RecountOptions(jobs=jobs)).document

    assert threaded == alone


def test_plain_chat_logs_stay_in_this_process_whatever_their_size(tmp_path, monkeypatch):
    # Read as columns, they are recounted faster on threads than by worker processes.
    import tokenomix.logs.pipeline as pipeline

    plain = [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": f"question {i} " * i}]}
        for i in range(300)
    ]
    path = tmp_path / "log.jsonl"
    write_jsonl(path, plain, {})
    alone = run_report([str(path)], RecountOptions(jobs=1)).document
    monkeypatch.setattr(pipeline, "BYTES_PER_WORKER", 1)

    def no_pool(*args):
        raise AssertionError("worker processes started for a plain chat log")

    monkeypatch.setattr(pipeline, "WorkerPool", no_pool)
    assert run_report([str(path)], RecountOptions(jobs=2)).document == alone
    with pytest.raises(AssertionError, match="worker processes started"):
        run_report([str(path)], RecountOptions(jobs=2, savings=True))


def test_a_log_that_turns_to_tools_after_its_head_goes_to_worker_processes(tmp_path):
    import tokenomix.logs.pipeline as pipeline
    import tokenomix.logs.sources as sources

    plain = {"model": "gpt-4o", "messages": [{"role": "user", "content": "plain " * 50}]}
    tools = {**plain, "tools": [{"type": "function", "function": {"name": "f"}}]}
    path = tmp_path / "log.jsonl"
    write_jsonl(path, [plain] * 4000 + [tools] * 8000, {})
    file = pipeline.LogFile(0, str(path), "openai-chat", None, path.stat().st_size)
    options = RecountOptions()
    samples = sources.sample_lines(str(path), 1 << 20)  # 4 MiB: head, middle and end
    assert [b"tools" in sample for sample in samples] == [False, True, True]
    assert all(sample.endswith(b"}\n") and sample[:1] == b"{" for sample in samples)
    assert pipeline._columnar(file, options) is False
    assert len(sources.sample_lines(str(path), 2 << 20)) == 1  # under 3 x 2 MiB: the head


@pytest.mark.parametrize("processes", [True, False])
def test_strict_stops_the_workers(tmp_path, monkeypatch, processes):
    # The error reaches the caller and the workers, some with results nobody reads, end.
    import tokenomix.logs.pipeline as pipeline
    import tokenomix.logs.sources as sources
    from tokenomix.errors import InputError
    from tokenomix.logs import Recount

    records = chat_log(13, 400)
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records, {2: "{broken"})
    if processes:
        monkeypatch.setattr(pipeline, "BYTES_PER_WORKER", 1)
    monkeypatch.setattr(sources, "CHUNK_BYTES", 16 << 10)
    recount = Recount([str(path)], RecountOptions(jobs=2, strict=True))
    with pytest.raises(InputError, match="line 3"):
        list(recount.batches())


def test_workers_leave_ctrl_c_to_their_parent():
    # Ctrl-C reaches every process of the group; the parent stops the workers, which must
    # neither die of it on their own nor print a traceback.
    import signal

    from tokenomix.logs.sources import LineChunk
    from tokenomix.logs.workers import WorkerPool

    line = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}\n'
    task = (LineChunk(0, line), ("openai-chat", None))
    pool = WorkerPool(RecountOptions(), 1)
    try:
        first = next(pool.map_ordered(iter([task])))  # the worker is set up
        pool._processes[0].send_signal(signal.SIGINT)
        second = next(pool.map_ordered(iter([task])))
        assert list(second.input_tokens) == list(first.input_tokens) == [8]
    finally:
        pool.close()
