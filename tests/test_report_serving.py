"""The report's serving estimate: the cost estimator over the recounted requests, against a
plain computation with tokenomix.cost on the same per-request counts."""

from __future__ import annotations

import datetime
import json
import math

import numpy as np
import pytest
from log_factory import chat_log, write_jsonl

from tokenomix import cost
from tokenomix.cli import main
from tokenomix.logs import RecountOptions
from tokenomix.report import run_report
from tokenomix.report.serving import ServingPlan

from report_reference import recount_record

START = datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.timezone.utc)
MODEL, GPU, TP = "Llama-3.1-70B", "H100", 4


def timed_log(seed: int, n: int) -> list[dict]:
    # Requests a second apart (a few without a timestamp), so that they overlap in flight.
    records = chat_log(seed, n)
    for index, record in enumerate(records):
        record.pop("timestamp", None)
        if index % 7 != 3:
            moment = START + datetime.timedelta(seconds=index * 0.8)
            record["timestamp"] = moment.isoformat().replace("+00:00", "Z")
    return records


def expected_arrays(records: list[dict]) -> dict[str, np.ndarray]:
    rows = [recount_record(record) for record in records]
    inputs = np.array([r["input"] for r in rows], dtype=np.int64)
    outputs = np.array([r["output"] or 0 for r in rows], dtype=np.int64)
    cached = np.array(
        [
            min(r["usage"][1], r["input"]) if r["usage"] and r["usage"][1] is not None else 0
            for r in rows
        ],
        dtype=np.int64,
    )
    arrivals = np.array(
        [
            datetime.datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00")).timestamp()
            if "timestamp" in rec
            else math.nan
            for rec in records
        ]
    )
    return {"input": inputs, "output": outputs, "cached": cached, "arrival": arrivals}


def nearest_rank(values: np.ndarray, q: float) -> int:
    return int(np.percentile(values, q, method="inverted_cdf"))


def test_serving_section_equals_a_plain_computation(tmp_path):
    records = timed_log(5, 60)
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records, {4: "not json"})
    plan = ServingPlan.create(MODEL, GPU, tensor_parallel=TP, kv_dtype="fp8")

    serving = run_report([str(path)], RecountOptions(jobs=1), serving=plan).document["serving"]

    e = expected_arrays(records)
    result = cost.estimate(
        e["input"],
        e["output"],
        cached_tokens=e["cached"],
        model=MODEL,
        gpu=GPU,
        tensor_parallel=TP,
        kv_dtype="fp8",
    )
    assert serving["model"] == MODEL and serving["gpu"] == "H100-SXM"
    assert serving["tensor_parallel"] == TP and serving["kv_dtype"] == "fp8"
    assert serving["requests"] == len(records)
    assert serving["requests_without_output"] == sum(
        recount_record(r)["output"] is None for r in records
    )
    totals = serving["totals"]
    assert totals["input_tokens"] == int(e["input"].sum())
    assert totals["cached_input_tokens"] == int(e["cached"].sum()) > 0
    assert totals["output_tokens"] == int(e["output"].sum())
    for name in ("prefill_flops", "decode_flops", "prefill_seconds", "decode_seconds"):
        assert totals[name] == pytest.approx(float(getattr(result, name).sum()), rel=1e-12)

    kv = result.kv_cache_bytes
    assert serving["kv_cache_bytes"]["sum"] == int(kv.sum())
    for q in (50, 95, 99):
        assert serving["kv_cache_bytes"][f"p{q}"] == nearest_rank(kv, q)
    assert serving["kv_cache_bytes"]["max"] == int(kv.max())

    context = e["input"] + e["output"]
    lengths = [nearest_rank(context, 50), nearest_rank(context, 95)]
    room = cost.capacity(MODEL, GPU, lengths, tensor_parallel=TP, kv_dtype="fp8")
    at = serving["capacity"]["at"]
    assert [a["context_tokens"] for a in at] == lengths
    assert [a["concurrent_sequences"] for a in at] == room.concurrent_sequences.tolist()
    assert serving["capacity"]["kv_cache_memory_bytes_per_gpu"] == room.kv_cache_memory_bytes

    dated = ~np.isnan(e["arrival"])
    curve = cost.in_flight(e["arrival"][dated], kv[dated], result.seconds[dated])
    flight = serving["in_flight"]
    assert flight["requests"] == int(dated.sum())
    assert flight["peak_kv_cache_bytes"] == curve.peak_kv_cache_bytes
    assert flight["peak_requests"] == curve.peak_requests > 1  # the requests do overlap
    assert flight["p99_kv_cache_bytes"] == round(curve.percentile(99))
    per_replica = room.kv_cache_memory_bytes * TP
    assert flight["kv_cache_bytes_per_replica"] == per_replica
    assert flight["gpus_needed_at_peak"] == TP * max(
        1, math.ceil(curve.peak_kv_cache_bytes / per_replica)
    )


def test_no_timestamps_no_in_flight_and_no_serving_without_the_option(tmp_path):
    records = chat_log(2, 20)
    for record in records:
        record.pop("timestamp", None)
    path = tmp_path / "log.jsonl"
    write_jsonl(path, records)
    plan = ServingPlan.create("Llama-3.1-8B", "A100-80GB")

    with_plan = run_report([str(path)], RecountOptions(jobs=1), serving=plan).document
    without = run_report([str(path)], RecountOptions(jobs=1)).document

    assert with_plan["serving"]["in_flight"] is None
    assert with_plan["serving"]["requests"] == 20
    assert without["serving"] is None
    del with_plan["serving"], without["serving"]
    assert with_plan == without  # the rest of the report does not change


def test_parquet_rows_carry_each_requests_estimate(tmp_path):
    import pyarrow.parquet as pq

    records = timed_log(9, 30)
    path, rows = tmp_path / "log.jsonl", tmp_path / "rows.parquet"
    write_jsonl(path, records)
    status = main(
        [
            "-q",
            "report",
            str(path),
            "--jobs",
            "1",
            "--parquet",
            str(rows),
            "--serve",
            "Qwen2.5-7B",
            "--gpu",
            "L40S",
            "--kv-dtype",
            "fp8",
        ]
    )
    assert status == 0
    table = pq.read_table(rows).to_pydict()
    e = expected_arrays(records)
    result = cost.estimate(
        e["input"],
        e["output"],
        cached_tokens=e["cached"],
        model="Qwen2.5-7B",
        gpu="L40S",
        kv_dtype="fp8",
    )
    assert table["kv_cache_bytes"] == result.kv_cache_bytes.tolist()
    for name in ("prefill_flops", "decode_flops", "prefill_seconds", "decode_seconds"):
        np.testing.assert_allclose(table[name], getattr(result, name), rtol=1e-12)

    plain = tmp_path / "plain.parquet"
    assert main(["-q", "report", str(path), "--jobs", "1", "--parquet", str(plain)]) == 0
    assert set(pq.read_table(plain).column("kv_cache_bytes").to_pylist()) == {None}


def test_cli_summary_and_json(tmp_path, capsys):
    records = timed_log(3, 25)
    path, out = tmp_path / "log.jsonl", tmp_path / "report.json"
    write_jsonl(path, records)
    status = main(
        [
            "report",
            str(path),
            "--jobs",
            "1",
            "--json",
            str(out),
            "--serve",
            MODEL,
            "--gpu",
            GPU,
            "--tp",
            str(TP),
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert f"serving on {MODEL}, {TP} x H100-SXM" in text
    assert "GPUs needed at the peak" in text
    document = json.loads(out.read_text())
    assert document["schema"] == "tokenomix.report/1"
    assert document["serving"]["in_flight"]["gpus_needed_at_peak"] % TP == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--gpu", "H100"], "--gpu only applies with --serve"),
        (["--serve", "Llama-3.1-8B"], "--serve needs --gpu"),
        (
            ["--serve", "llama-3.1-7b", "--gpu", "H100"],
            "unknown model 'llama-3.1-7b'; did you mean",
        ),
        (["--serve", "Llama-3.1-405B", "--gpu", "L4"], "does not fit on L4"),
        (["--serve", "Llama-3.1-8B", "--gpu", "H100", "--kv-dtype", "fp9"], "unknown data type"),
    ],
)
def test_bad_serving_options_stop_before_reading(tmp_path, capsys, arguments, message):
    path = tmp_path / "empty.jsonl"  # an error of its own, but the options fail first
    path.write_text("")
    assert main(["report", str(path), *arguments]) == 1
    assert message in capsys.readouterr().err
