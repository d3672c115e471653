"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from tokenomix.encoding import Encoding
from tokenomix.models import encoding_for_model
from tokenomix.registry import get_encoding, list_encoding_names


def add_encoding_options(parser: argparse.ArgumentParser, *, default: str | None) -> None:
    """Add --encoding and --model, mutually exclusive."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--encoding",
        metavar="NAME",
        help=f"encoding to count with ({', '.join(list_encoding_names())})"
        + (f"; default {default}" if default else ""),
    )
    group.add_argument("--model", metavar="NAME", help="count with the encoding of this model")


def encoding_from_args(args: argparse.Namespace, *, default: str) -> Encoding:
    """Return the encoding named by --encoding or --model, else `default`."""
    if args.model:
        return encoding_for_model(args.model)
    return get_encoding(args.encoding or default)
