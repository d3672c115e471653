"""`tokenomix report`: recount request logs into a tokenomics report."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from tokenomix.cli.console import stdout_console
from tokenomix.errors import InputError
from tokenomix.logs.options import FORMATS, RecountOptions, parse_image_size
from tokenomix.registry import list_encoding_names


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="recount request logs into a tokenomics report",
        description="Recount the tokens of every request of LLM request logs, split them by "
        "source (system, tools, context, history, user, images, overhead, output), and report "
        "percentiles, models, days, turns, billed usage and cost.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="LOG",
        help="log files or glob patterns (.gz and .zst are read as such)",
    )
    add_report_options(parser)
    parser.set_defaults(run=run)


def add_report_options(parser: argparse.ArgumentParser, *, logs: bool = True) -> None:
    """Add the options of a report (`logs=False` leaves out those about reading logs)."""
    if logs:
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="the log format (default: told from each file's content)",
        )
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--model",
            metavar="M",
            help="count every request as this model (encoding, rules, price)",
        )
        group.add_argument(
            "--encoding",
            metavar="E",
            help=f"count all text with this encoding ({', '.join(list_encoding_names())})",
        )
        group.add_argument(
            "--tokenizer",
            metavar="PATH",
            help="count all text with a tokenizer file: a Hugging Face tokenizer.json "
            "(byte-level BPE), a Mistral Tekken file or a tiktoken rank file",
        )
        parser.add_argument(
            "--tokenizer-model",
            metavar="NAME",
            help="with --tokenizer, for a rank file: the open model whose split pattern and "
            "special tokens to use (e.g. meta-llama/Llama-3.1-8B)",
        )
        parser.add_argument(
            "--context-pattern",
            metavar="RE",
            help="regular expression: matching text of system, user and history "
            "messages counts as context (retrieved documents)",
        )
        parser.add_argument(
            "--image-size",
            metavar="WxH",
            type=_image_size,
            help="size assumed for images given by URL (default: not measured)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="stop with an error at the first record that cannot be counted",
        )
        for name, what in (
            ("input", "input tokens"),
            ("output", "output tokens"),
            ("timestamp", "timestamps"),
            ("model", "model names"),
        ):
            parser.add_argument(
                f"--{name}-column",
                metavar="NAME",
                help=f"trace column of {what} (default: the Azure/Mooncake names)",
            )
    parser.add_argument(
        "--json", metavar="FILE", help="write the JSON report to FILE (- for standard output)"
    )
    parser.add_argument("--parquet", metavar="FILE", help="write one row per request to FILE")
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help="price table (this package's format or LiteLLM's JSON) instead of the bundled one",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="parallel workers: threads, or processes for walked logs over 512 MiB "
        "(default: all cores)",
    )
    savings = parser.add_argument_group(
        "savings of token discipline",
        "measured with --savings (or any option below); the changed text is recounted, so "
        "the run takes longer (docs/report.md, Savings)",
    )
    savings.add_argument(
        "--savings",
        action="store_true",
        help="measure the savings of minified JSON, trimmed repeats, rolling summaries, "
        "an output cap and prefix caching",
    )
    savings.add_argument(
        "--summary-keep-turns",
        type=int,
        metavar="N",
        help="rolling summaries keep the last N turns before the current one (default 4)",
    )
    savings.add_argument(
        "--summary-tokens",
        type=int,
        metavar="K",
        help="tokens of the summary that replaces older turns (default 500)",
    )
    savings.add_argument(
        "--output-cap",
        metavar="N|pNN",
        help="output limit: tokens, or a percentile of the log's outputs (default p95)",
    )
    savings.add_argument(
        "--cache-min-tokens",
        type=int,
        metavar="N",
        help="shortest prefix a prompt cache serves (default 1024, OpenAI's)",
    )
    savings.add_argument(
        "--cache-ttl",
        type=float,
        metavar="SECONDS",
        help="how long a prefix stays cached after its last use (default 300)",
    )
    serving = parser.add_argument_group(
        "serving estimate",
        "estimate serving every request on one model and GPU (tokenomix kv's estimator)",
    )
    serving.add_argument(
        "--serve",
        metavar="MODEL",
        help="model preset (tokenomix kv --list) or path to a Hugging Face config.json",
    )
    serving.add_argument("--gpu", metavar="GPU", help="GPU preset (needs --serve)")
    serving.add_argument(
        "--tp", type=int, metavar="N", help="tensor-parallel GPUs per replica (default 1)"
    )
    serving.add_argument(
        "--kv-dtype", metavar="DTYPE", help="KV-cache data type, e.g. fp8 (default the model's)"
    )


def _image_size(text: str) -> tuple[int, int]:
    try:
        return parse_image_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def options_from_args(args: argparse.Namespace) -> RecountOptions:
    """Return the recount options the command line asks for."""
    return RecountOptions(
        format=getattr(args, "format", None),
        model=getattr(args, "model", None),
        encoding=getattr(args, "encoding", None),
        tokenizer=getattr(args, "tokenizer", None),
        tokenizer_model=getattr(args, "tokenizer_model", None),
        context_pattern=getattr(args, "context_pattern", None),
        image_size=getattr(args, "image_size", None),
        strict=getattr(args, "strict", False),
        jobs=args.jobs,
        input_column=getattr(args, "input_column", None),
        output_column=getattr(args, "output_column", None),
        timestamp_column=getattr(args, "timestamp_column", None),
        model_column=getattr(args, "model_column", None),
        **_given(args, summary_keep_turns="summary_keep_turns"),
    )


# The savings options of the command line, by their SavingsOptions field.
_SAVINGS_FIELDS = {
    "summary_tokens": "summary_tokens",
    "output_cap": "output_cap",
    "cache_min_tokens": "cache_min_tokens",
    "cache_ttl_seconds": "cache_ttl",
}


def _given(args: argparse.Namespace, **fields: str) -> dict[str, Any]:
    # The fields whose option was given, so that the dataclass defaults stay the only ones.
    return {
        field: getattr(args, name)
        for field, name in fields.items()
        if getattr(args, name, None) is not None
    }


def savings_from_args(args: argparse.Namespace) -> Any:
    """Return the SavingsOptions the command line asks for, or None without --savings or
    any savings option."""
    from tokenomix.report.savings import SavingsOptions

    given = _given(args, **_SAVINGS_FIELDS)
    if not (args.savings or given or args.summary_keep_turns is not None):
        return None
    return SavingsOptions(**given)


def serving_from_args(args: argparse.Namespace) -> Any:
    """Return the ServingPlan that --serve and --gpu ask for, or None.

    Raises:
        ValueError: serving options without --serve and --gpu.
        KeyError: an unknown model or GPU (with close matches).
    """
    if args.serve is None:
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("gpu", "tp", "kv_dtype")
            if getattr(args, name) is not None
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(f"{' and '.join(given)} only {verb} with --serve MODEL --gpu GPU")
        return None
    if args.gpu is None:
        raise ValueError("--serve needs --gpu GPU (tokenomix kv --list names the presets)")
    from tokenomix.report.serving import ServingPlan

    return ServingPlan.create(
        args.serve,
        args.gpu,
        tensor_parallel=1 if args.tp is None else args.tp,
        kv_dtype=args.kv_dtype,
    )


def run(args: argparse.Namespace) -> int:
    return report_command(args.paths, options_from_args(args), args)


def report_command(paths: list[str], options: RecountOptions, args: argparse.Namespace) -> int:
    """Run a report and print it as the arguments say; return the exit status."""
    from tokenomix.pricing import default_prices, load_prices
    from tokenomix.report import run_report
    from tokenomix.report.terminal import render

    if args.parquet == "-":
        raise ValueError("--parquet needs a file name: Parquet is not written to standard output")
    prices = load_prices(args.prices) if args.prices else default_prices()
    serving = serving_from_args(args)
    savings = savings_from_args(args)
    quiet = getattr(args, "quiet", False)
    with _progress(enabled=not quiet) as progress:
        report = run_report(
            paths,
            options,
            prices=prices,
            parquet_path=args.parquet,
            progress=progress,
            serving=serving,
            savings=savings,
        )
    document = report.document
    if args.json == "-":
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        if args.json:
            with open(args.json, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.write("\n")
        if not quiet and document["requests"]:  # no table of zeros before the error below
            render(document, stdout_console())
    if document["requests"] == 0:
        first = document["skipped"]["first"][0]
        raise InputError(
            first["file"],
            f"no request could be counted: all "
            f"{document['records']['read']:,} records were skipped; the first: "
            f"{first['kind']}: {first['reason']}",
            line=first["line"],
        )
    return 0


@contextlib.contextmanager
def _progress(*, enabled: bool) -> Iterator[Any]:
    # A bar on standard error, only when it is a terminal (never in pipes or logs).
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("recounting", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
