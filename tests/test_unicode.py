"""The character tables: regenerated from their source, and checked against tiktoken on every
code point of the first four planes (newly assigned characters included)."""

import pathlib

import pytest

import tokenomix

from conftest import REPO, reference_encoding

TABLES = REPO / "csrc" / "bpe" / "unicode_tables.inc"


def test_tables_match_their_generator(tmp_path: pathlib.Path):
    import runpy

    generator = runpy.run_path(str(REPO / "tools" / "gen_unicode_tables.py"))
    assert generator["generate"]() == TABLES.read_text()


def probes(code_points: range) -> str:
    """Short texts that split differently for each class a character can be in."""
    parts = []
    for cp in code_points:
        if 0xD800 <= cp < 0xE000 or 0xE000 <= cp < 0xF900:  # surrogates, private use
            continue
        c = chr(cp)
        parts.append(f"a{c}b {c}A 1{c}2 !{c}! x{c}\n{c}{c}a'{c}'s")
    return " ".join(parts)


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
@pytest.mark.parametrize("plane", range(4))
def test_every_code_point_splits_as_in_tiktoken(name, plane):
    text = probes(range(plane * 0x10000, (plane + 1) * 0x10000))
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    chunks = [text[i : i + 100_000] for i in range(0, len(text), 100_000)]
    assert ours.encode_ordinary_batch(chunks) == ref.encode_ordinary_batch(chunks)
