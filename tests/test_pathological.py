"""Inputs that make BPE quadratic, or overflow a backtracking regex: a megabyte of one
character, of spaces, of digits, of base64. Checked against tiktoken where it copes, and
against the pure-Python reference where it does not (tiktoken 0.14 overflows its regex stack
on a megabyte of spaces with o200k_base, and on one followed by a word with cl100k_base)."""

import base64
import random

import pytest

import tokenomix
from tokenomix.vocab.openai import ENCODINGS

import reference_bpe
from conftest import reference_encoding

MB = 1_000_000
INPUTS = {
    "letter": "a" * MB,
    "digits": "7" * MB,
    "caret": "^" * MB,
    "base64": base64.b64encode(random.Random(0).randbytes(MB * 3 // 4)).decode(),
    "newlines": "\n" * MB,
    "long word": "".join(random.Random(1).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(MB)),
}


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("kind", INPUTS)
def test_against_tiktoken(name, kind):
    text = INPUTS[kind]
    expected = reference_encoding(name).encode_ordinary(text)
    encoding = tokenomix.get_encoding(name)
    assert encoding.encode_ordinary(text) == expected
    assert encoding.count(text) == len(expected)


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("text", [" " * MB, " \t" * (MB // 2), " " * MB + "x"], ids=len)
def test_whitespace_megabyte_against_reference(name, text):
    ranks = reference_encoding(name)._mergeable_ranks
    expected = reference_bpe.encode_ordinary(text, ENCODINGS[name].pat_str, ranks)
    encoding = tokenomix.get_encoding(name)
    assert encoding.encode_ordinary(text) == expected
    assert encoding.count(text) == len(expected)


def _long_pieces(rng: random.Random) -> list[str]:
    """Pieces over the 16 bytes the short-piece cache keys exactly: runs of CJK characters
    (18 to 300 bytes, one piece each), long words, and twins of each word that differ from
    it in one character only; more of them than the long-piece cache holds."""
    cjk = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"
    runs = ["".join(rng.choice(cjk) for _ in range(rng.randint(6, 100))) for _ in range(3000)]
    words = [
        "".join(rng.choice("abcdefgh") for _ in range(rng.randint(17, 300))) for _ in range(6000)
    ]
    twins = [word[:-1] + ("a" if word[-1] != "a" else "b") for word in words]
    return runs + words + twins


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_long_pieces_seen_again_get_the_same_ids(name):
    rng = random.Random(2)
    pieces = _long_pieces(rng)
    texts = []
    for _ in range(2):  # the second pass meets every piece again, some still cached
        rng.shuffle(pieces)
        texts += [" ".join(pieces[i : i + 50]) for i in range(0, len(pieces), 50)]
    reference = reference_encoding(name)
    expected = reference.encode_ordinary_batch(texts)
    encoding = tokenomix.get_encoding(name)
    assert encoding.encode_ordinary_batch(texts, num_threads=1) == expected
    assert encoding.count_batch(texts, num_threads=2).tolist() == [len(ids) for ids in expected]
    assert [encoding.count(text) for text in texts] == [len(ids) for ids in expected]
