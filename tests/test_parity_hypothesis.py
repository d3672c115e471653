"""Identical ids to tiktoken on arbitrary text: full Unicode (lone surrogates included), and
alphabets aimed at the split rules (whitespace runs, contractions, digits, marks, emoji,
special-token lookalikes)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenomix

from conftest import reference_encoding

ENCODINGS = ["r50k_base", "cl100k_base", "o200k_base"]

# Characters the split patterns treat specially, and their neighbours.
TRICKY = (
    " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000\x1c\x1f"  # \s and near misses
    "'’sStTdDmMlLvVeErRſK"  # contractions, U+017F, U+212A
    "0123456789٣۴߀१௧٫½Ⅻ"  # \p{N} in several scripts, numeric letters
    "aZéÉǅʰªÆ家がア"  # Ll, Lu, Lt, Lm, Lo
    "\u0301\u0308\u093f\u094d\u20dd\u0903"  # Mn, Mc, Me
    '!?.,;:/\\|<>_-#@&*()[]{}"`~^'  # punctuation and symbols
    "👍🏽👨‍👩‍👧\u200d\ufe0f🇫🇷"  # emoji, modifiers, ZWJ, VS16, flags
    "\U0001e6c0\U00016d40\u1c89\U00010d4a"  # assigned in Unicode 16 or 17
)
tricky_text = st.text(alphabet=TRICKY, max_size=80)
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
lookalikes = st.lists(
    st.sampled_from(
        [
            "<|endoftext|>",
            "<|endofprompt|>",
            "<|",
            "|>",
            "<|endoftext",
            "endoftext|>",
            "<|fim_prefix|>",
            "<<|endoftext|>>",
            "x",
            " ",
            "\n",
        ]
    ),
    max_size=8,
).map("".join)
texts = st.one_of(tricky_text, any_text, lookalikes, st.text(max_size=200))


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_encode_ordinary_and_count(name, text):
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    expected = ref.encode_ordinary(text)
    assert ours.encode_ordinary(text) == expected
    assert ours.count(text) == len(expected)


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=150, deadline=None)
@given(text=st.one_of(lookalikes, tricky_text))
def test_encode_with_special_tokens(name, text):
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    assert ours.encode(text, allowed_special="all") == ref.encode(text, allowed_special="all")
    assert ours.encode(text, disallowed_special=()) == ref.encode(text, disallowed_special=())
    try:
        expected = ref.encode(text)
    except ValueError:
        with pytest.raises(ValueError, match="disallowed"):
            ours.encode(text)
    else:
        assert ours.encode(text) == expected


@pytest.mark.parametrize("name", ENCODINGS)
@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.integers(0, 50255), max_size=30))
def test_decode_bytes(name, ids):
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    assert ours.decode_bytes(ids) == ref.decode_bytes(ids)
    assert ours.decode(ids) == ref.decode(ids)
