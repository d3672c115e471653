"""`tokenomix kv`: KV-cache capacity of a GPU, or the cost of a request trace."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from typing import Any

from rich.table import Table

from tokenomix import cost
from tokenomix.cli.console import stdout_console
from tokenomix.cost.capacity import DEFAULT_GPU_MEMORY_UTILIZATION, DEFAULT_OVERHEAD_BYTES
from tokenomix.cost.gpu import GIB

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Llama-3.1-8B"
DEFAULT_GPU = "H100-SXM"
DEFAULT_CONTEXTS = (1024, 4096, 8192, 16384, 32768, 65536, 131072)
SKIPPED_SHOWN = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kv",
        help="KV-cache capacity of a GPU, or what a request trace costs",
        description="Print how many sequences of each context length fit in the KV cache of "
        "a GPU under vLLM's rules; with --trace, estimate every request of a trace (FLOPs, "
        "KV cache, roofline time, dollars) and the KV memory in flight over time.",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME",
        help=f"model preset or path to a config.json (default {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--gpu", default=DEFAULT_GPU, metavar="NAME", help=f"GPU preset (default {DEFAULT_GPU})"
    )
    parser.add_argument(
        "--tp",
        type=int,
        default=1,
        metavar="N",
        help="tensor-parallel GPUs per model replica (default 1)",
    )
    parser.add_argument(
        "--context",
        metavar="N,N,...",
        help="context lengths of the capacity table (default powers of two "
        "from 1024 up to the model's context)",
    )
    parser.add_argument(
        "--kv-dtype", metavar="DTYPE", help="KV-cache data type, e.g. fp8 (default the model's)"
    )
    parser.add_argument(
        "--weight-dtype",
        metavar="DTYPE",
        help="data type of the weight matrices (default the checkpoint's)",
    )
    parser.add_argument(
        "--gpu-memory-utilization",
        type=float,
        default=DEFAULT_GPU_MEMORY_UTILIZATION,
        metavar="F",
        help=f"vLLM's memory fraction (default {DEFAULT_GPU_MEMORY_UTILIZATION})",
    )
    parser.add_argument(
        "--overhead-gib",
        type=float,
        default=DEFAULT_OVERHEAD_BYTES / GIB,
        metavar="GIB",
        help="activation peak and non-PyTorch memory per GPU "
        f"(default {DEFAULT_OVERHEAD_BYTES / GIB:g})",
    )
    parser.add_argument(
        "--block-size",
        type=int,
        default=16,
        metavar="N",
        help="tokens per KV-cache block (default 16)",
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="CSV or JSON Lines trace (gzip or zstd too) with arrival times and token counts",
    )
    for column, holds in (
        ("time", "arrival time"),
        ("input", "input tokens"),
        ("output", "output tokens"),
    ):
        parser.add_argument(
            f"--{column}-column",
            metavar="NAME",
            help=f"trace column of the {holds} (default: detected)",
        )
    parser.add_argument(
        "--price-input", type=float, metavar="USD", help="dollars per million input tokens"
    )
    parser.add_argument(
        "--price-cached-input",
        type=float,
        metavar="USD",
        help="dollars per million cached input tokens (default the input price)",
    )
    parser.add_argument(
        "--price-output", type=float, metavar="USD", help="dollars per million output tokens"
    )
    parser.add_argument(
        "--decode-batch-size",
        type=float,
        default=1,
        metavar="B",
        help="sequences decoded together, sharing weight reads (default 1)",
    )
    parser.add_argument(
        "--compute-efficiency",
        type=float,
        default=1.0,
        metavar="F",
        help="fraction of peak FLOP/s achieved (default 1)",
    )
    parser.add_argument(
        "--bandwidth-efficiency",
        type=float,
        default=1.0,
        metavar="F",
        help="fraction of peak memory bandwidth achieved (default 1)",
    )
    parser.add_argument("--list", action="store_true", help="list the model and GPU presets")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args)
    model = _model(args.model)
    common = {
        "tensor_parallel": args.tp,
        "kv_dtype": args.kv_dtype,
        "weight_dtype": args.weight_dtype,
    }
    if args.trace:
        return _trace(args, model, common)
    contexts = _contexts(args.context, model.max_context)
    result = _capacity(args, model, contexts, common)
    if args.json:
        _print_json(_capacity_document(result))
        return 0
    stdout_console().print(_capacity_table(result, args.kv_dtype or model.dtype))
    return 0


def _model(name: str) -> cost.ModelSpec:
    if name.endswith(".json"):
        return cost.ModelSpec.from_config(name)
    return cost.get_model(name)


def _contexts(text: str | None, max_context: int) -> list[int]:
    if text is None:
        return [n for n in DEFAULT_CONTEXTS if n <= max_context] or [max_context]
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--context must be whole numbers separated by commas, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise ValueError(f"--context needs positive lengths, got {text!r}")
    for n in values:
        if n > max_context:
            logger.warning("context %d is beyond the model's %d tokens", n, max_context)
    return values


def _capacity(
    args: argparse.Namespace, model: cost.ModelSpec, contexts: list[int], common: dict[str, Any]
) -> cost.Capacity:
    return cost.capacity(
        model,
        args.gpu,
        contexts,
        gpu_memory_utilization=args.gpu_memory_utilization,
        overhead_bytes=args.overhead_gib * GIB,
        block_size=args.block_size,
        **common,
    )


def _capacity_table(c: cost.Capacity, kv_dtype: str) -> Table:
    gpus = f"{c.tensor_parallel} x {c.gpu.name}" if c.tensor_parallel > 1 else c.gpu.name
    per_token = c.model.kv_cache_bytes_per_token(
        kv_dtype=kv_dtype, tensor_parallel=c.tensor_parallel
    )
    table = Table(
        title=f"KV-cache capacity: {c.model.name} on {gpus} (vLLM rules)",
        title_justify="left",
        caption=(
            f"per GPU: {_gib(c.gpu_memory_bytes)} total, weights {_gib(c.weight_bytes_per_gpu)}, "
            f"KV cache {_gib(c.kv_cache_memory_bytes)} = {c.num_blocks:,} blocks of "
            f"{c.block_size} tokens ({c.kv_cache_tokens:,} tokens); KV per token "
            f"{per_token:,} B ({kv_dtype}, whole group)"
        ),
        caption_justify="left",
    )
    for column in (
        "context tokens",
        "KV per sequence (all GPUs)",
        "blocks / sequence",
        "concurrent sequences",
        "max concurrency",
    ):
        table.add_column(column, justify="right")
    for i, n in enumerate(c.context_lengths):
        table.add_row(
            f"{int(n):,}",
            _gib(per_token * _kv_tokens(c.model, int(n))),
            f"{int(c.blocks_per_sequence[i]):,}",
            f"{int(c.concurrent_sequences[i]):,}",
            f"{c.max_concurrency[i]:.2f}x",
        )
    return table


def _kv_tokens(model: cost.ModelSpec, n: int) -> float:
    """Tokens' worth of KV a sequence of n tokens holds, sliding layers capped at the window."""
    layers = model.num_layers
    sliding = model.num_sliding_layers
    return (n * (layers - sliding) + min(n, model.sliding_window or n) * sliding) / layers


def _capacity_document(c: cost.Capacity) -> dict[str, Any]:
    return {
        "model": c.model.name,
        "gpu": c.gpu.name,
        "tensor_parallel": c.tensor_parallel,
        "gpu_memory_bytes": c.gpu_memory_bytes,
        "weight_bytes_per_gpu": c.weight_bytes_per_gpu,
        "kv_cache_memory_bytes": c.kv_cache_memory_bytes,
        "num_blocks": c.num_blocks,
        "block_size": c.block_size,
        "kv_cache_tokens": c.kv_cache_tokens,
        "contexts": [
            {
                "context_tokens": int(n),
                "blocks_per_sequence": int(c.blocks_per_sequence[i]),
                "concurrent_sequences": int(c.concurrent_sequences[i]),
                "max_concurrency": float(c.max_concurrency[i]),
            }
            for i, n in enumerate(c.context_lengths)
        ],
    }


def _trace(args: argparse.Namespace, model: cost.ModelSpec, common: dict[str, Any]) -> int:
    trace = cost.read_trace(
        args.trace,
        time_column=args.time_column,
        input_column=args.input_column,
        output_column=args.output_column,
    )
    for line, reason in trace.skipped[:SKIPPED_SHOWN]:
        logger.warning("%s, line %d skipped: %s", trace.path, line, reason)
    if len(trace.skipped) > SKIPPED_SHOWN:
        logger.warning("%s: %d more lines skipped", trace.path, len(trace.skipped) - SKIPPED_SHOWN)
    result = cost.estimate(
        trace.input_tokens,
        trace.output_tokens,
        model=model,
        gpu=args.gpu,
        price_per_million_input_tokens=args.price_input,
        price_per_million_cached_input_tokens=args.price_cached_input,
        price_per_million_output_tokens=args.price_output,
        decode_batch_size=args.decode_batch_size,
        compute_efficiency=args.compute_efficiency,
        bandwidth_efficiency=args.bandwidth_efficiency,
        **common,
    )
    flight = cost.in_flight(trace.arrival_seconds, result.kv_cache_bytes, result.seconds)
    room = _capacity(args, model, [model.max_context], common)
    per_replica = room.kv_cache_memory_bytes * args.tp
    document = _trace_document(trace, result, flight, per_replica, args.tp)
    if args.json:
        _print_json(document)
        return 0
    console = stdout_console()
    for table in _trace_tables(document):
        console.print(table)
    return 0


def _trace_document(
    trace: cost.Trace,
    result: cost.CostEstimate,
    flight: cost.InFlight,
    kv_per_replica: int,
    tp: int,
) -> dict[str, Any]:
    summary = result.summary()
    replicas = math.ceil(flight.peak_kv_cache_bytes / kv_per_replica)
    return {
        "trace": {
            "path": trace.path,
            "lines": trace.lines,
            "requests": len(trace),
            "skipped": len(trace.skipped),
            "span_seconds": float(trace.arrival_seconds.max()),
        },
        **summary,
        "in_flight": {
            "peak_kv_cache_bytes": flight.peak_kv_cache_bytes,
            "p99_kv_cache_bytes": flight.percentile(99),
            "peak_time_seconds": flight.peak_time,
            "peak_requests": flight.peak_requests,
            "p99_requests": flight.percentile(99, of="requests"),
            "kv_cache_bytes_per_replica": kv_per_replica,
            "gpus_needed_at_peak": max(replicas, 1) * tp,
        },
    }


def _trace_tables(d: dict[str, Any]) -> list[Table]:
    t = d["trace"]
    overview = Table(
        title=f"{t['path']}: {d['model']} on {d['tensor_parallel']} x {d['gpu']}",
        title_justify="left",
    )
    totals = d["totals"]
    overview.add_column("")
    overview.add_column("value", justify="right")
    rows = [
        ("requests", f"{t['requests']:,} of {t['lines']:,} lines ({t['skipped']:,} skipped)"),
        ("span", f"{t['span_seconds']:,.1f} s"),
        ("input tokens", f"{totals['input_tokens']:,}"),
        ("output tokens", f"{totals['output_tokens']:,}"),
        ("prefill FLOPs", f"{totals['prefill_flops']:.3e}"),
        ("decode FLOPs", f"{totals['decode_flops']:.3e}"),
        ("mean bytes per decode step", _gib(d["mean_decode_bytes_per_step"])),
    ]
    if totals["cost_usd"] is not None:
        rows.append(("cost", f"${totals['cost_usd']:,.4f}"))
    for row in rows:
        overview.add_row(*row)

    spread = Table(title="per request (nearest-rank percentiles)", title_justify="left")
    spread.add_column("")
    for column in ("mean", "P50", "P95", "P99", "max"):
        spread.add_column(column, justify="right")
    formats = {
        "input_tokens": "{:,.0f}",
        "output_tokens": "{:,.0f}",
        "kv_cache_bytes": None,
        "prefill_seconds": "{:.4f} s",
        "decode_seconds": "{:.3f} s",
        "cost_usd": "${:.6f}",
    }
    for name, values in d["percentiles"].items():
        fmt = formats[name]
        cells = [values[k] for k in ("mean", "p50", "p95", "p99", "max")]
        spread.add_row(
            name.replace("_", " "), *(_gib(v) if fmt is None else fmt.format(v) for v in cells)
        )

    f = d["in_flight"]
    flight = Table(
        title="in flight (each request holds its final KV cache until done)", title_justify="left"
    )
    flight.add_column("")
    flight.add_column("value", justify="right")
    flight.add_row(
        "peak KV cache", f"{_gib(f['peak_kv_cache_bytes'])} at {f['peak_time_seconds']:,.1f} s"
    )
    flight.add_row("P99 KV cache (over time)", _gib(f["p99_kv_cache_bytes"]))
    flight.add_row("peak / P99 requests", f"{f['peak_requests']:,} / {f['p99_requests']:,.0f}")
    flight.add_row("KV cache per replica", _gib(f["kv_cache_bytes_per_replica"]))
    flight.add_row("GPUs needed at the peak", f"{f['gpus_needed_at_peak']:,}")
    return [overview, spread, flight]


def _list(args: argparse.Namespace) -> int:
    models = {name: cost.get_model(name) for name in cost.list_models()}
    gpus = {name: cost.get_gpu(name) for name in cost.list_gpus()}
    if args.json:
        _print_json({"models": list(models), "gpus": list(gpus)})
        return 0
    table = Table(title="model presets", title_justify="left")
    for column in ("name", "attention", "layers", "parameters", "active", "KV per token"):
        table.add_column(column, justify="left" if column in ("name", "attention") else "right")
    for name, m in models.items():
        table.add_row(
            name,
            m.attention,
            str(m.num_layers),
            f"{m.num_parameters / 1e9:.2f}B",
            f"{m.active_parameters / 1e9:.2f}B",
            f"{m.kv_cache_bytes_per_token():,} B",
        )
    gpu_table = Table(title="GPU presets", title_justify="left")
    for column in ("name", "memory", "bandwidth", "BF16 dense", "FP8 dense"):
        gpu_table.add_column(column, justify="left" if column == "name" else "right")
    for name, g in gpus.items():
        fp8 = g.fp8_flops_per_second
        gpu_table.add_row(
            name,
            _gib(g.memory_bytes),
            f"{g.memory_bandwidth_bytes_per_second / 1e12:.2f} TB/s",
            f"{g.bf16_flops_per_second / 1e12:,.0f} TFLOP/s",
            "-" if fp8 is None else f"{fp8 / 1e12:,.0f} TFLOP/s",
        )
    console = stdout_console()
    console.print(table)
    console.print(gpu_table)
    return 0


def _gib(n: float) -> str:
    if abs(n) >= GIB:
        return f"{n / GIB:,.2f} GiB"
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):,.1f} MiB"
    return f"{n:,.0f} B"


def _print_json(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
