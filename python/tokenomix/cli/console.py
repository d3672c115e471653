"""The console the subcommands print their tables to."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output has no width; rich would assume 80 columns and cut the numbers of wide tables.
PIPED_WIDTH = 160


def stdout_console() -> Console:
    """Return a console on standard output: as wide as the terminal, or PIPED_WIDTH."""
    return Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)
