"""Text of each input kind that no contestant has seen earlier in the run.

Several counters cache what they counted (fastokens keeps whole inputs, others keep pieces),
so timing the same text twice flatters them. Every benchmark round therefore gets text that
was never handed out before in the process: the corpus of a kind is cut into units (lines, or
JSON documents), the units are drawn in a random order seeded by the benchmark's name, and
each text is the next stretch of that stream cut to the size asked for. When the stream runs
out it is reshuffled. A registry of the hashes of every text handed out turns a repeat into an
error instead of a flattering number. Pieces and lines do repeat across texts, as they do in
real traffic: a cache of pieces earns its speed honestly.

The corpus is read in place from the shared data folder; nothing is copied into the repo.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import pathlib
import random
import string

# Input kinds: the files of each, relative to the corpus folder.
KINDS: dict[str, tuple[str, ...]] = {
    "prose": ("prose/*.txt",),
    "code": ("code/*",),
    "json_pretty": ("json/*/*.json",),
    "json_minified": ("json/*/*.json",),
    "logs": ("logs/*.log",),
    "csv": ("csv/*.csv",),
    "markdown": ("markdown/*.md",),
    "multilingual": ("multilingual/udhr_*.txt",),
    "emoji": ("multilingual/emoji_*.tsv",),
}

# Worst cases: one megabyte of text that stresses the pre-tokenizer or the merge loop.
WORST_CASES = ("one_character", "spaces", "digits", "base64")
MEGABYTE = 1_000_000


class RepeatedText(RuntimeError):
    """A text was handed out twice: the benchmark would time text already seen."""


_handed_out: dict[bytes, str] = {}


def _register(text: str, owner: str) -> str:
    """Record that `owner` hands out `text`; raise if another owner already did."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    previous = _handed_out.setdefault(digest, owner)
    if previous != owner:
        raise RepeatedText(f"text of {len(text)} characters handed out by {previous} and {owner}")
    return text


@functools.cache
def load_units(corpus: pathlib.Path, kind: str) -> tuple[str, ...]:
    """Return the units of one kind: JSON documents for the JSON kinds, else lines."""
    paths = sorted(p for pattern in KINDS[kind] for p in corpus.glob(pattern) if p.is_file())
    if not paths:
        raise FileNotFoundError(f"no {kind} files under {corpus} ({', '.join(KINDS[kind])})")
    if kind.startswith("json"):
        return tuple(_json_units(paths, pretty=kind == "json_pretty"))
    units = []
    for path in paths:
        units.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line)
    return tuple(units)


def _json_units(paths: list[pathlib.Path], *, pretty: bool) -> list[str]:
    units = []
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        for value in document if isinstance(document, list) else [document]:
            if pretty:
                units.append(json.dumps(value, indent=2, ensure_ascii=False))
            else:
                units.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return units


@dataclasses.dataclass
class FreshText:
    """A never-repeating stream of one kind's units, in an order seeded by `owner`."""

    units: tuple[str, ...]
    owner: str

    def __post_init__(self) -> None:
        self._rng = random.Random(self.owner)
        self._buffer = ""

    def take(self, characters: int) -> str:
        """Return the next `characters` characters of the stream."""
        while len(self._buffer) < characters:
            order = list(self.units)
            self._rng.shuffle(order)
            self._buffer += "\n" + "\n".join(order)
        text, self._buffer = self._buffer[:characters], self._buffer[characters:]
        return _register(text, self.owner)

    def documents(self, total_bytes: int, *, smallest: int, largest: int) -> list[str]:
        """Return documents of `smallest`..`largest` characters, about `total_bytes` in all."""
        documents, size = [], 0
        while size < total_bytes:
            documents.append(self.take(self._rng.randint(smallest, largest)))
            size += len(documents[-1].encode("utf-8"))
        return documents


def worst_case(case: str, owner: str, round_index: int) -> str:
    """Return a megabyte of one worst case, different for every owner and round.

    `one_character` draws a letter (a run of one letter is a single piece to merge) and
    `spaces` a length between 1.0 and 1.1 MB; `digits` and `base64` are random.
    """
    rng = random.Random(f"{owner}/{round_index}")
    if case == "one_character":
        letter = string.ascii_letters[rng.randrange(len(string.ascii_letters))]
        text = letter * (MEGABYTE + rng.randrange(MEGABYTE // 10))
    elif case == "spaces":
        text = " " * (MEGABYTE + rng.randrange(MEGABYTE // 10))
    elif case == "digits":
        text = "".join(rng.choices(string.digits, k=MEGABYTE))
    elif case == "base64":
        text = base64.b64encode(rng.randbytes(MEGABYTE * 3 // 4)).decode("ascii")
    else:
        raise ValueError(f"unknown worst case {case!r}; expected one of {WORST_CASES}")
    return _register(text, f"{owner}/{round_index}")
