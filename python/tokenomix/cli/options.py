"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from tokenomix.encoding import Encoding
from tokenomix.models import encoding_for_model
from tokenomix.registry import get_encoding, list_encoding_names


def add_encoding_options(
    parser: argparse.ArgumentParser, *, default: str | None, files: bool = True
) -> None:
    """Add --encoding, --model and (with `files`) --tokenizer, mutually exclusive, and
    --tokenizer-model."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--encoding",
        metavar="NAME",
        help=f"encoding to count with ({', '.join(list_encoding_names())})"
        + (f"; default {default}" if default else ""),
    )
    group.add_argument("--model", metavar="NAME", help="count with the encoding of this model")
    if not files:
        return
    group.add_argument(
        "--tokenizer",
        metavar="PATH",
        help="count with a tokenizer file: a Hugging Face tokenizer.json (byte-level BPE), a "
        "Mistral Tekken file or a tiktoken rank file, gzip-compressed or not",
    )
    parser.add_argument(
        "--tokenizer-model",
        metavar="NAME",
        help="with --tokenizer, for a rank file: the open model whose split pattern and special "
        "tokens to use (e.g. meta-llama/Llama-3.1-8B, Qwen/Qwen2.5-7B)",
    )


def encoding_from_args(args: argparse.Namespace, *, default: str) -> Encoding:
    """Return the encoding named by --encoding, --model or --tokenizer, else `default`."""
    tokenizer, tokenizer_model = (
        getattr(args, "tokenizer", None),
        getattr(args, "tokenizer_model", None),
    )
    if tokenizer_model and not tokenizer:
        raise ValueError("--tokenizer-model goes with --tokenizer")
    if tokenizer:
        return Encoding.from_file(tokenizer, model=tokenizer_model)
    if args.model:
        return encoding_for_model(args.model)
    return get_encoding(args.encoding or default)
