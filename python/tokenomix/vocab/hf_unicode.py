"""The Unicode rules Hugging Face `tokenizers` 0.23 applies outside its split regex.

Normalization. `tokenizers` normalizes (NFC, NFD, NFKC, NFKD) with tables of Unicode 9.0,
while Python's `unicodedata` is of Unicode 13.0 or later. The two agree on every character
Unicode 9.0 had; the characters added since then that take part in normalization (a
combining class, a decomposition, a part in a composition: `NEWER_THAN_UNICODE_9`) are, to
`tokenizers`, unassigned characters. `normalize` swaps each of those for a stand-in from the
private use planes, which every version normalizes as an unassigned character, runs
`unicodedata`, and swaps them back. tests/test_open_models_unicode.py compares the result with
`tokenizers` around every code point.

Added tokens. `single_word`, `lstrip` and `rstrip` look at the neighbouring characters with
the Rust `regex` crate's `\\w` and `\\s`, of Unicode 16.0 (`is_word_character`, `WHITE_SPACE`).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
import warnings

import numpy as np

from tokenomix import _core
from tokenomix.vocab.hf_unicode_data import (
    CHANGED_BY,
    COMBINING_CLASSES,
    NEWER_THAN_UNICODE_9,
    WORD_CHARACTERS,
)

# The White_Space property of PropList.txt, which the `\s` of the Rust regex crate matches;
# unchanged since Unicode 6.3.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# The Unicode version the generated data covers: a newer `unicodedata` may know characters
# that the data does not list.
DATA_VERSION = (16, 0, 0)

_PRIVATE_USE_FIRST = 0xF0000
_PRIVATE_USE_LAST = 0x10FFFD


def _char_class(pairs: tuple[int, ...]) -> re.Pattern[str]:
    spans = (
        f"{re.escape(chr(pairs[i]))}-{re.escape(chr(pairs[i + 1]))}"
        for i in range(0, len(pairs), 2)
    )
    return re.compile("[" + "".join(spans) + "]")


_NEWER = _char_class(NEWER_THAN_UNICODE_9)
# Half-open bounds: a code point is a word character when bisect_right gives an odd index.
_WORD_BOUNDS = tuple(v + (i % 2) for i, v in enumerate(WORD_CHARACTERS))
_RUNTIME_VERSION = tuple(int(p) for p in unicodedata.unidata_version.split("."))
_warned_version = False


def normalize(form: str, text: str) -> str:
    """Return `text` in normalization `form` ("NFC", "NFD", "NFKC", "NFKD") as `tokenizers`
    0.23 computes it, with the tables of Unicode 9.0."""
    # Text that a later version leaves as it is, Unicode 9.0 leaves as it is too: to it the
    # characters assigned since are unassigned ones, which neither move nor compose.
    if text.isascii() or unicodedata.is_normalized(form, text):
        return text
    _warn_if_runtime_is_newer()
    if not _newer_screen().flags([text])[0]:
        return unicodedata.normalize(form, text)
    newer = set(_NEWER.findall(text))
    swap: dict[str, str] = {}
    candidate = _PRIVATE_USE_FIRST
    for c in sorted(newer):
        while chr(candidate) in text:
            candidate += 1
        if candidate > _PRIVATE_USE_LAST:
            raise ValueError("text uses every private use character; cannot normalize it")
        swap[c] = chr(candidate)
        candidate += 1
    there = str.maketrans(swap)
    back = str.maketrans({v: k for k, v in swap.items()})
    return unicodedata.normalize(form, text.translate(there)).translate(back)


def is_normalized(form: str, text: str) -> bool:
    """Whether `normalize(form, text)` is `text` itself."""
    return normalize(form, text) == text


@functools.cache
def _newer_screen() -> _core.TextScreen:
    # Flags text with a character of NEWER_THAN_UNICODE_9, or with lone surrogates (which
    # the regex scan then finds not to be such characters), at native speed.
    table = np.zeros(0x110000, dtype=np.uint8)
    _fill(table, NEWER_THAN_UNICODE_9, _core.TextScreen.MAY_CHANGE)
    return _core.TextScreen([], table.tobytes())


def _fill(table: np.ndarray, pairs: tuple[int, ...], value: int) -> None:
    for first, last in zip(pairs[::2], pairs[1::2], strict=True):
        table[first : last + 1] = value


def screen_classes(forms: tuple[str, ...]) -> bytes:
    """The class table of a native TextScreen for normalizing with `forms` in turn: one byte
    per code point, MAY_CHANGE where some form may change the character whatever its
    neighbours, else its canonical combining class."""
    table = np.zeros(0x110000, dtype=np.uint8)
    triples = COMBINING_CLASSES
    for first, last, ccc in zip(triples[::3], triples[1::3], triples[2::3], strict=True):
        table[first : last + 1] = ccc
    for form in forms:
        _fill(table, CHANGED_BY[form], _core.TextScreen.MAY_CHANGE)
    return table.tobytes()


def is_word_character(c: str) -> bool:
    """Whether `c` is matched by `\\w` in the Rust regex crate (Unicode 16.0)."""
    return bisect.bisect_right(_WORD_BOUNDS, ord(c)) % 2 == 1


def _warn_if_runtime_is_newer() -> None:
    global _warned_version
    if _RUNTIME_VERSION > DATA_VERSION and not _warned_version:
        _warned_version = True
        warnings.warn(
            f"Python's unicodedata is of Unicode {unicodedata.unidata_version}, newer than the "
            f"data tokenomix was built with ({'.'.join(map(str, DATA_VERSION))}); text with "
            "characters assigned since then may normalize differently from tokenizers",
            RuntimeWarning,
            stacklevel=3,
        )
