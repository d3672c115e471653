"""The tokenomix command line: one module per subcommand, each with a `register` function."""

from __future__ import annotations

import argparse
import importlib
import logging
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
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tokenomix.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="tokenomix: %(message)s")
    try:
        return args.run(args)
    except (TokenomixError, OSError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"tokenomix: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
