"""The tokenomix command line: one module per subcommand, each with a `register` function."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from tokenomix import __version__
from tokenomix.errors import TokenomixError

# Subcommand modules, in the order `--help` lists them.
COMMANDS = ["count", "kv", "report", "demo", "bench"]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tokenomix",
        description="Exact, fast token counts, and what the tokens of LLM traffic cost.",
    )
    parser.add_argument("--version", action="version", version=f"tokenomix {__version__}")
    quiet = "errors only: no summary, warnings or progress"
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tokenomix.cli.{name}").register(subparsers)
    for command in subparsers.choices.values():  # -q after the command too
        command.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=quiet
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.ERROR if args.quiet else logging.WARNING, format="tokenomix: %(message)s"
    )
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (`tokenomix count --lines big.log | head`): stop quietly, as
        # a program killed by SIGPIPE does, and keep Python from reporting the flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (TokenomixError, OSError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"tokenomix: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
