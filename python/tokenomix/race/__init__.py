"""Racing tokenomix against other exact token counters on the same text.

`contestants` builds every counter that is installed, offline, from the same rank file, and
says how each one is called; `bench/` (pytest-benchmark) and `tokenomix bench` both race them.
"""

from tokenomix.race.contestants import (
    Contestant,
    Unavailable,
    VocabSource,
    build_contestants,
    contestant_names,
)

__all__ = ["Contestant", "Unavailable", "VocabSource", "build_contestants", "contestant_names"]
