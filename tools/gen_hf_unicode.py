"""Generate the Unicode data that Hugging Face `tokenizers` 0.23 uses outside its split regex.

Two facts of `tokenizers` 0.23.3, measured here and written to
python/tokenomix/vocab/hf_unicode_data.py:

- Its NFC, NFD, NFKC and NFKD normalizers come from the crate unicode-normalization-alignments
  0.1.12, whose tables are those of Unicode 9.0. Python's `unicodedata` is newer (13.0 to
  16.0 across the Pythons tokenomix supports), so the characters it knows and Unicode 9.0 did
  not must be normalized as unassigned characters are: combining class 0, no decomposition,
  no composition. `NEWER_THAN_UNICODE_9` lists every character that has a combining class, a
  decomposition, or a part in a canonical composition in Unicode 16.0 and that `tokenizers`
  normalizes as an unassigned character; every other character is normalized alike by both.
- Its `single_word` rule for added tokens asks the Rust `regex` crate whether a neighbour is a
  word character (`\\w`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation,
  Join_Control), with the tables of Unicode 16.0. `WORD_CHARACTERS` lists them.

And, for the native screen that lets text the normalizer leaves alone skip the Python path
(the quick check of UAX #15), `CHANGED_BY` lists the characters each form may change whatever
their neighbours and `COMBINING_CLASSES` the canonical combining classes, of Unicode 16.0. A
text normalized under a version is normalized under every earlier one, to which the
characters assigned since are unassigned ones, which neither move nor compose.

Regenerate from the repository root, under Python 3.11:

    pip install 'unicodedata2==16.0.0' regex 'tokenizers==0.23.3'
    python tools/gen_hf_unicode.py

The script checks its output against `tokenizers` before writing it.
"""

from __future__ import annotations

import argparse
import pathlib

import regex
import unicodedata2
from tokenizers import normalizers

OUTPUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "python"
    / "tokenomix"
    / "vocab"
    / "hf_unicode_data.py"
)
FORMS = ("NFC", "NFD", "NFKC", "NFKD")
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


def changed_by(form: str) -> list[int]:
    """Code points that normalization `form` may change whatever their neighbours (their
    quick check is No or Maybe): a different normalized form alone, or (NFC, NFKC) a part of
    a canonical composition after its first, Hangul vowels and trailing consonants included."""
    later_parts = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    if form in ("NFC", "NFKC"):
        for cp in code_points():
            mapping = unicodedata2.decomposition(chr(cp))
            if mapping and not mapping.startswith("<"):
                later_parts.update(int(part, 16) for part in mapping.split()[1:])
    return [
        cp
        for cp in code_points()
        if cp in later_parts or unicodedata2.normalize(form, chr(cp)) != chr(cp)
    ]


def combining_classes() -> list[tuple[int, int, int]]:
    """Runs of code points with the same nonzero canonical combining class: (first, last,
    class)."""
    runs: list[list[int]] = []
    for cp in code_points():
        ccc = unicodedata2.combining(chr(cp))
        if not ccc:
            continue
        if runs and runs[-1][1] == cp - 1 and runs[-1][2] == ccc:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, ccc])
    return [(a, b, c) for a, b, c in runs]


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


def check_normalization() -> None:
    """Normalize probes around every code point both ways; raise on a difference."""
    import sys

    sys.path.insert(0, str(OUTPUT.parents[2]))
    from tokenomix.vocab.hf_unicode import normalize  # reads the file just written

    forms = {f: getattr(normalizers, f)() for f in FORMS}
    for cp in code_points():
        c = chr(cp)
        for probe in (c, "a\u0316" + c + "\u0301", "a" + c, c + "\u0301", "\u1100" + c):
            for form, reference in forms.items():
                if normalize(form, probe) != reference.normalize_str(probe):
                    raise AssertionError(f"{form} of {probe!r} differs from tokenizers")


def render(
    newer: list[tuple[int, int]],
    changed: dict[str, list[tuple[int, int]]],
    classes: list[tuple[int, int, int]],
    word: list[tuple[int, int]],
) -> str:
    def rows(pairs: list[tuple[int, ...]], indent: str = "    ") -> str:
        flat = [f"0x{v:X}" if v > 255 else str(v) for pair in pairs for v in pair]
        lines = [", ".join(flat[i : i + 8]) + "," for i in range(0, len(flat), 8)]
        return "\n".join(indent + line for line in lines)

    return (
        '"""Unicode data of Hugging Face `tokenizers` 0.23 (see tools/gen_hf_unicode.py).\n\n'
        "Generated by tools/gen_hf_unicode.py; do not edit. Inclusive code point ranges, as a\n"
        'flat tuple of (first, last) pairs.\n"""\n\n'
        "# Characters that Unicode 9.0 did not have and that take part in normalization since.\n"
        f"NEWER_THAN_UNICODE_9 = (\n{rows(newer)}\n)\n\n"
        "# Characters each normalization form may change whatever their neighbours, and the\n"
        "# canonical combining classes, as (first, last, class) triples (Unicode 16.0).\n"
        "CHANGED_BY = {\n"
        + "".join(f'    "{form}": (\n{rows(changed[form], " " * 8)}\n    ),\n' for form in FORMS)
        + "}\n"
        f"COMBINING_CLASSES = (\n{rows(classes)}\n)\n\n"
        "# \\w of the Rust regex crate with the tables of Unicode 16.0.\n"
        f"WORD_CHARACTERS = (\n{rows(word)}\n)\n"
    )


def generate() -> str:
    changed = {form: ranges(changed_by(form)) for form in FORMS}
    return render(
        ranges(newer_than_unicode_9()), changed, combining_classes(), ranges(word_characters())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    args = parser.parse_args()
    text = generate()
    if args.check:
        raise SystemExit(0 if OUTPUT.read_text() == text else "hf_unicode_data.py is stale")
    OUTPUT.write_text(text)
    check_normalization()
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
