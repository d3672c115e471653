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
