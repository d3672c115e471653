"""`tokenomix demo`: the report of the sample log shipped with the package."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.resources

from tokenomix.cli.report import add_report_options, options_from_args, report_command

SAMPLE = "sample_requests.jsonl.gz"

# The sample log pastes retrieved documents into user messages inside <document> tags.
SAMPLE_CONTEXT_PATTERN = r"(?s)<document\b.*?</document>"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="report on the sample log shipped with tokenomix",
        description="Run `tokenomix report` on a small sample log built from public "
        f"conversations, tool calls and documents, with --context-pattern "
        f"'{SAMPLE_CONTEXT_PATTERN}' and --savings.",
    )
    add_report_options(parser, logs=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resource = importlib.resources.files("tokenomix.report").joinpath("data", SAMPLE)
    with importlib.resources.as_file(resource) as path:
        options = dataclasses.replace(
            options_from_args(args), context_pattern=SAMPLE_CONTEXT_PATTERN
        )
        args.savings = True  # the sample shows every part of the report
        return report_command([str(path)], options, args)
