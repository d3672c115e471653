"""Generate the Unicode data that Hugging Face `tokenizers` 0.23 uses outside its split regex.

Two facts of `tokenizers` 0.23.3, measured here:

- Its NFC, NFD, NFKC and NFKD normalizers come from the crate unicode-normalization-alignments
  0.1.12, whose tables are those of Unicode 9.0. The characters assigned since are, to it,
  unassigned: combining class 0, no decomposition, no composition. `NEWER_THAN_UNICODE_9`
  lists every character that has a combining class, a decomposition, or a part in a
  canonical composition in Unicode 16.0 and that `tokenizers` normalizes as an unassigned
  character. Every other character keeps the class, decomposition and compositions it had in
  9.0 (the stability policy of Unicode), so the data of 16.0 less those characters is the
  data of 9.0: csrc/screen/normalize_data.inc, which the engine normalizes with.
- Its `single_word` rule for added tokens asks the Rust `regex` crate whether a neighbour is a
  word character (`\\w`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation,
  Join_Control), with the tables of Unicode 16.0. `WORD_CHARACTERS` lists them.

The first list and the second go to python/tokenomix/vocab/hf_unicode_data.py.
tests/test_open_models_unicode.py checks that both files match this script's output and
compares the engine's normalization with `tokenizers` around every character it moves.

Regenerate from the repository root, under Python 3.11:

    pip install 'unicodedata2==16.0.0' regex 'tokenizers==0.23.3'
    python tools/gen_hf_unicode.py
"""

from __future__ import annotations

import argparse
import pathlib

import regex
import unicodedata2
from tokenizers import normalizers

REPO = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = REPO / "python" / "tokenomix" / "vocab" / "hf_unicode_data.py"
CPP_OUTPUT = REPO / "csrc" / "screen" / "normalize_data.inc"
COMBINING_LOW = "\u0334"  # combining class 1
COMBINING_HIGH = "\u0345"  # combining class 240


def code_points():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000)


def composition_parents() -> dict[str, list[str]]:
    """Map each character to the characters whose canonical decomposition names it."""
    parents: dict[str, list[str]] = {}
    for cp in code_points():
        mapping = unicodedata2.decomposition(chr(cp))
        if mapping and not mapping.startswith("<"):
            for part in mapping.split():
                parents.setdefault(chr(int(part, 16)), []).append(chr(cp))
    return parents


def unknown_to_tokenizers(c: str, parents: dict[str, list[str]], nfd, nfkd) -> bool:
    """Whether `tokenizers` normalizes `c` as an unassigned character."""
    if unicodedata2.decomposition(c):
        return nfkd.normalize_str(c) == c
    if unicodedata2.combining(c):
        # A known combining class reorders c against a mark of class 1 or of class 240.
        return (
            nfd.normalize_str(c + COMBINING_LOW) == c + COMBINING_LOW
            and nfd.normalize_str(COMBINING_HIGH + c) == COMBINING_HIGH + c
        )
    # A starter without decomposition matters only through the compositions it is part of.
    return all(unknown_to_tokenizers(p, parents, nfd, nfkd) for p in parents.get(c, []))


def newer_than_unicode_9() -> list[int]:
    parents = composition_parents()
    nfd, nfkd = normalizers.NFD(), normalizers.NFKD()
    found = []
    for cp in code_points():
        c = chr(cp)
        relevant = unicodedata2.combining(c) or unicodedata2.decomposition(c) or c in parents
        if relevant and unknown_to_tokenizers(c, parents, nfd, nfkd):
            found.append(cp)
    return found


def word_characters() -> list[int]:
    word = regex.compile(r"\w")
    return [
        cp for cp in code_points() if unicodedata2.category(chr(cp)) != "Cn" and word.match(chr(cp))
    ]


def ranges(cps: list[int]) -> list[tuple[int, int]]:
    """Collapse sorted code points into inclusive ranges."""
    out: list[list[int]] = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [(a, b) for a, b in out]


def is_hangul_syllable(cp: int) -> bool:
    return 0xAC00 <= cp <= 0xD7A3


def normalization_data(newer: set[int]) -> tuple[list, list, list[int], list]:
    """The normalization data of Unicode 9.0: the characters of Unicode 16.0 less `newer`,
    which stability keeps as they were. Returns the combining-class runs, the decompositions
    (code point, canonical offset and length, compatibility offset and length, into the flat
    list of code points returned third) and the primary composites (first, second, composite).
    Hangul syllables are left to the algorithm of the standard."""
    runs: list[list[int]] = []
    for cp in code_points():
        ccc = 0 if cp in newer else unicodedata2.combining(chr(cp))
        if not ccc:
            continue
        if runs and runs[-1][1] == cp - 1 and runs[-1][2] == ccc:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, ccc])
    flat: list[int] = []
    offsets: dict[str, int] = {}

    def place(text: str) -> tuple[int, int]:
        if text not in offsets:
            offsets[text] = len(flat)
            flat.extend(map(ord, text))
        return offsets[text], len(text)

    decompositions, compositions = [], []
    for cp in code_points():
        c = chr(cp)
        if cp in newer or is_hangul_syllable(cp) or not unicodedata2.decomposition(c):
            continue
        canonical, compatible = unicodedata2.normalize("NFD", c), unicodedata2.normalize("NFKD", c)
        decompositions.append((cp, *place(canonical), *place(compatible)))
        mapping = unicodedata2.decomposition(c)
        parts = [] if mapping.startswith("<") else mapping.split()
        if len(parts) == 2 and unicodedata2.normalize("NFC", c) == c:
            compositions.append((int(parts[0], 16), int(parts[1], 16), cp))
    return [tuple(r) for r in runs], decompositions, flat, sorted(compositions)


def render_cpp(newer: set[int]) -> str:
    runs, decompositions, flat, compositions = normalization_data(newer)

    def number(v: int) -> str:
        return f"0x{v:X}" if v > 255 else str(v)

    def rows(items: list[tuple[int, ...]]) -> str:
        return "\n".join("    {" + ", ".join(map(number, item)) + "}," for item in items)

    flat_rows = "\n".join(
        "    " + ", ".join(map(number, flat[i : i + 8])) + "," for i in range(0, len(flat), 8)
    )
    return (
        "// The normalization data of Unicode 9.0, which Hugging Face tokenizers 0.23 uses.\n"
        "// Generated by tools/gen_hf_unicode.py; do not edit.\n\n"
        "// Canonical combining classes: {first, last, class}.\n"
        f"constexpr CombiningRun kCombiningRuns[] = {{\n{rows(runs)}\n}};\n\n"
        "// Full decompositions of one character (Hangul syllables aside): {code point,\n"
        "// canonical offset, length, compatibility offset, length} into kDecomposed.\n"
        f"constexpr Decomposition kDecompositions[] = {{\n{rows(decompositions)}\n}};\n\n"
        f"constexpr char32_t kDecomposed[] = {{\n{flat_rows}\n}};\n\n"
        "// Primary composites (Hangul syllables aside): {first, second, composite}.\n"
        f"constexpr Composition kCompositions[] = {{\n{rows(compositions)}\n}};\n"
    )


def render(newer: list[tuple[int, int]], word: list[tuple[int, int]]) -> str:
    def rows(pairs: list[tuple[int, ...]]) -> str:
        flat = [f"0x{v:X}" if v > 255 else str(v) for pair in pairs for v in pair]
        lines = [", ".join(flat[i : i + 8]) + "," for i in range(0, len(flat), 8)]
        return "\n".join("    " + line for line in lines)

    return (
        '"""Unicode data of Hugging Face `tokenizers` 0.23 (see tools/gen_hf_unicode.py).\n\n'
        "Generated by tools/gen_hf_unicode.py; do not edit. Inclusive code point ranges, as a\n"
        'flat tuple of (first, last) pairs.\n"""\n\n'
        "# Characters that Unicode 9.0 did not have and that take part in normalization since.\n"
        f"NEWER_THAN_UNICODE_9 = (\n{rows(newer)}\n)\n\n"
        "# \\w of the Rust regex crate with the tables of Unicode 16.0.\n"
        f"WORD_CHARACTERS = (\n{rows(word)}\n)\n"
    )


def generate() -> dict[pathlib.Path, str]:
    """The text of each generated file."""
    newer = newer_than_unicode_9()
    return {
        OUTPUT: render(ranges(newer), ranges(word_characters())),
        CPP_OUTPUT: render_cpp(set(newer)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    args = parser.parse_args()
    for path, text in generate().items():
        if args.check and path.read_text() != text:
            raise SystemExit(f"{path.name} is stale")
        if not args.check:
            path.write_text(text)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
