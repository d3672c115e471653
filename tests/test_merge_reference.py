"""The native merge against the slow reference in reference_bpe.py: on small random
vocabularies (where long pieces take the rank-bucket path, and vocabularies that break rank
order take the heap path) and on the real encodings."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenomix
from tokenomix.vocab.openai import CL100K_PATTERN, ENCODINGS

import reference_bpe
from conftest import reference_encoding


def random_vocabulary(seed: int, merges: int, monotone: bool) -> dict[bytes, int]:
    """Every byte plus random merges of existing tokens over the letters a-d. With monotone
    False, merged tokens get ranks below those of their parts as often as above."""
    rng = random.Random(seed)
    ranks = {bytes([b]): b for b in range(256)}
    tokens = [b"a", b"b", b"c", b"d"]
    free = list(range(256, 256 + 2 * merges))
    rng.shuffle(free)
    next_rank = 256
    for _ in range(merges):
        token = rng.choice(tokens) + rng.choice(tokens)
        if token in ranks or len(token) > 12:
            continue
        if monotone:
            ranks[token] = next_rank
            next_rank += 1
        else:
            ranks[token] = free.pop()
        tokens.append(token)
    return ranks


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    monotone=st.booleans(),
    text=st.text(alphabet="abcd", min_size=1, max_size=600),
)
def test_random_vocabularies(seed, monotone, text):
    ranks = random_vocabulary(seed, merges=120, monotone=monotone)
    encoding = tokenomix.Encoding(
        "random", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
    merged = reference_bpe.merge_simple(text.encode(), ranks)
    assert reference_bpe.merge_by_heap(text.encode(), ranks) == merged
    # A piece that is itself a token is that token, even where merging its bytes would not
    # reach it (random vocabularies have such tokens), as in tiktoken.
    expected = [ranks[text.encode()]] if text.encode() in ranks else merged
    assert encoding.encode_ordinary(text) == expected
    assert encoding.count(text) == len(expected)


@pytest.mark.parametrize("name", ["r50k_base", "cl100k_base", "o200k_base"])
@settings(max_examples=60, deadline=None)
@given(text=st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=["Cs"]), max_size=300))
def test_real_encodings_against_reference(name, text):
    ref = reference_encoding(name)
    expected = reference_bpe.encode_ordinary(text, ENCODINGS[name].pat_str, ref._mergeable_ranks)
    assert tokenomix.get_encoding(name).encode_ordinary(text) == expected


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    monotone=st.booleans(),
    runs=st.lists(st.tuples(st.sampled_from("abcd"), st.integers(1, 3000)), min_size=1, max_size=6),
)
def test_long_pieces_of_few_runs(seed, monotone, runs):
    # Over 4096 bytes, a piece of few runs of one letter is merged run by run.
    text = "".join(c * k for c, k in runs)
    text = text * (4097 // len(text) + 1)
    ranks = random_vocabulary(seed, merges=120, monotone=monotone)
    encoding = tokenomix.Encoding(
        "random", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
    data = text.encode()
    expected = [ranks[data]] if data in ranks else reference_bpe.merge_by_heap(data, ranks)
    assert encoding.encode_ordinary(text) == expected
    assert encoding.count(text) == len(expected)
