"""Timing one contestant over a list of texts, once, with its counts kept for parity checks."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from tokenomix.race.contestants import Contestant

# Counted once before timing, so that lazy setup (tables, thread pools) is not timed. Callers
# must not time this text.
WARM_UP = ['Warm up: 12 tokens, \u00e9t\u00e9 \U0001f600, {"json": [1, 2]}\n']


@dataclasses.dataclass
class Timing:
    """What one contestant did with the texts: its counts and time, or why it has none."""

    name: str
    call: str
    seconds: float | None = None
    counts: list[int] | None = None
    problem: str | None = None


def time_counts(contestant: Contestant, mode: str, texts: Sequence[str]) -> Timing:
    """Warm `contestant` up, then time one call that counts every text."""
    call = contestant.call(mode)
    if contestant.max_chars is not None and max(map(len, texts), default=0) > contestant.max_chars:
        return Timing(
            contestant.name, call, problem=f"refuses texts over {contestant.max_chars:,} characters"
        )
    counter = contestant.counter(mode)
    try:
        counter(WARM_UP)
        start = time.perf_counter()
        counts = counter(texts)
        seconds = time.perf_counter() - start
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # pyo3 panics derive from BaseException
        first_line = (str(error).splitlines() or [""])[0][:160]
        return Timing(contestant.name, call, problem=f"{type(error).__name__}: {first_line}")
    return Timing(contestant.name, call, seconds, [int(c) for c in counts])
