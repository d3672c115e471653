"""Identical ids to tiktoken on every file of the shared corpus: whole, split into documents,
and in random slices that cut words, lines and multi-byte characters apart."""

import random

import pytest

import tokenomix

from conftest import SHARED, reference_encoding

ENCODINGS = ["r50k_base", "p50k_base", "cl100k_base", "o200k_base"]
CORPUS_FILES = sorted(
    p for p in (SHARED / "corpus").rglob("*") if p.is_file() and p.suffix != ".md"
) + sorted((SHARED / "corpus" / "markdown").glob("*.md"))


def documents(text: str, size: int = 4096) -> list[str]:
    """Split text into documents of about `size` characters, at line ends."""
    docs, start = [], 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        docs.append(text[start:end])
        start = end
    return docs


def random_slices(text: str, seed: int, count: int = 40) -> list[str]:
    rng = random.Random(seed)
    slices = []
    for _ in range(count):
        start = rng.randrange(len(text))
        slices.append(text[start : start + rng.choice([1, 7, 64, 512, 5000])])
    return slices


@pytest.fixture(scope="module", params=ENCODINGS)
def pair(request):
    return tokenomix.get_encoding(request.param), reference_encoding(request.param)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file(pair, path):
    ours, ref = pair
    text = path.read_text(encoding="utf-8")
    texts = [text, *documents(text), *random_slices(text, seed=len(text))]
    expected = ref.encode_ordinary_batch(texts)
    assert ours.encode_ordinary_batch(texts) == expected
    assert ours.count_batch(texts).tolist() == [len(ids) for ids in expected]
    assert ours.count(text) == len(expected[0])
