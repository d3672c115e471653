"""Added tokens as `tokenizers` 0.23.3 matches them: special and not, glued to words,
repeated, partial, overlapping, with lstrip / rstrip / single_word / normalized, before and
after a normalizer; their ids; and tiktoken's rules for special tokens on top."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenomix

from open_model_refs import HF_DIR, added_token, edited, hf_ids, hf_reference, ours

LLAMA3 = HF_DIR / "llama3_1.tokenizer.json"
QWEN = HF_DIR / "qwen2_5.tokenizer.json"

EDGE_TEXTS = [
    "",
    "<|begin_of_text|>",
    "<|begin_of_text|><|begin_of_text|>",
    "x<|eot_id|>y",
    "hello<|eot_id|>world<|end_of_text|>",
    "<|eot_id",
    "eot_id|>",
    "<|<|eot_id|>|>",
    "<<|eot_id|>>",
    " <|eot_id|> ",
    "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "<tool_call><tool_call>",
    "a<tool_call>b</tool_call>c",
    "<tool_call",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<|im_start|><tool_call>",
    "cafe\u0301<tool_call>cafe\u0301",
]


@pytest.mark.parametrize("path", [LLAMA3, QWEN], ids=["llama3_1", "qwen2_5"])
@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_edge_texts(path, text):
    enc = ours(path)
    assert enc.encode(text, allowed_special="all") == hf_ids(hf_reference(path), text)
    expected = hf_ids(hf_reference(path, split_special_tokens=True), text)
    assert enc.encode_ordinary(text) == expected
    assert enc.encode(text, disallowed_special=()) == expected
    assert enc.count(text) == len(expected)
    assert enc.count_batch([text, text]).tolist() == [len(expected)] * 2


def test_non_special_tokens_match_in_ordinary_text():
    enc = ours(QWEN)
    assert enc.encode_ordinary("<tool_call>") == [151657]
    assert enc.encode_ordinary("<|im_start|>")[0] != 151644  # special: read as text


def test_disallowed_special_tokens_raise():
    enc = ours(LLAMA3)
    with pytest.raises(ValueError, match=r"<\|eot_id\|>.*disallowed"):
        enc.encode("x<|eot_id|>")
    with pytest.raises(ValueError, match="text 1 contains"):
        enc.encode_batch(["fine", "x<|eot_id|>"])
    with pytest.raises(ValueError, match="disallowed"):
        enc.encode("plain", disallowed_special={"plain"})
    assert enc.encode("x<|eot_id|>", allowed_special={"<|eot_id|>"})[-1] == 128009


def test_some_special_tokens_allowed(tmp_path):
    # The reference for a subset: the allowed specials made non-special, the others split.
    allowed = {"<|eot_id|>", "<|start_header_id|>"}

    def unspecial(document):
        for token in document["added_tokens"]:
            if token["content"] in allowed:
                token["special"] = False

    reference = hf_reference(edited("llama3_1", tmp_path, unspecial), split_special_tokens=True)
    enc = ours(LLAMA3)
    for text in EDGE_TEXTS:
        expected = hf_ids(reference, text)
        assert enc.encode(text, allowed_special=allowed, disallowed_special=()) == expected
        assert enc.encode_batch([text], allowed_special=allowed, disallowed_special=()) == [
            expected
        ]


# Added tokens with every flag, special and not, for a GPT-2 file and a Qwen (NFC) file.
FLAGGED = [
    added_token("<s1>", 0, special=True, lstrip=True),
    added_token("<s2>", 0, special=True, rstrip=True),
    added_token("<s3>", 0, special=True, lstrip=True, rstrip=True),
    added_token("<s4>", 0, special=True, single_word=True),
    added_token("word", 0, single_word=True),
    added_token("[W]", 0, single_word=True, lstrip=True, rstrip=True),
    added_token("abc", 0, special=True),
    added_token("ab", 0, normalized=True),
    added_token(" sp", 0, rstrip=True),
    added_token("Ünï", 0, normalized=True),
    added_token("Ünï2", 0, normalized=False),
    added_token("hello", 0),  # a vocabulary entry too: takes its id
    added_token("<s1>x", 0, special=True),  # longer than <s1>, same start
]
PIECES = [
    "<s1>",
    "<s2>",
    "<s3>",
    "<s4>",
    "word",
    "[W]",
    "abc",
    "ab",
    " sp",
    "Ünï",
    "U\u0308nï",
    "Ünï2",
    "hello",
    "<s1>x",
    " ",
    "  ",
    "\t",
    "\n",
    "x",
    "é",
    "_",
    "1",
    "-",
    "<",
    "s1>",
    "\u00a0",
    "\u2003",
    "\u1c89",
    "\U0001e6c0",
    "\u0301",
    "\u0338",  # composes with ">": normalizing unmakes a token that ends with it
]


def with_flagged(document):
    document["added_tokens"] += FLAGGED


@functools.cache
def flagged_pair(name: str, tmp_dir: str):
    import pathlib

    path = edited(name, pathlib.Path(tmp_dir), with_flagged)
    return (
        tokenomix.Encoding.from_file(path),
        hf_reference(path),
        hf_reference(path, split_special_tokens=True),
    )


@pytest.fixture(scope="module")
def tmp_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("added"))


@pytest.mark.parametrize("name", ["gpt2", "qwen2_5"])
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=10))
def test_flags(tmp_dir, name, pieces):
    enc, ref, split_ref = flagged_pair(name, tmp_dir)
    text = "".join(pieces)
    assert enc.encode(text, allowed_special="all") == hf_ids(ref, text)
    assert enc.encode_ordinary(text) == hf_ids(split_ref, text)
    assert enc.count(text) == len(hf_ids(split_ref, text))


# Added tokens as real models have them (matched in the raw text, no flags), at which the
# engine cuts text itself: overlapping, nested, special and not, next to marks that compose.
PLAIN = [
    added_token("<a>", 0, special=True),
    added_token("<a>b", 0, special=True),
    added_token("a>b<", 0),
    added_token("<t>", 0),
    added_token("t>", 0),
    added_token("\u00e9", 0),
]
PLAIN_PIECES = ["<a>", "<a>b", "a>b<", "<t>", "t>", "<", "a", ">", "b", "t", "e", "\u0301"]
PLAIN_PIECES += ["\u00e9", "\u0338", " ", "\n", "x1", "\u0928\u093c"]


@functools.cache
def plain_pair(name: str, tmp_dir: str):
    import pathlib

    def edit(document):
        document["added_tokens"] += PLAIN

    path = edited(name, pathlib.Path(tmp_dir), edit)
    return (
        tokenomix.Encoding.from_file(path),
        hf_reference(path),
        hf_reference(path, split_special_tokens=True),
    )


@pytest.mark.parametrize("name", ["gpt2", "qwen2_5"])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(pieces=st.lists(st.lists(st.sampled_from(PLAIN_PIECES), max_size=8), max_size=4))
def test_plain_added_tokens(tmp_dir, name, pieces):
    enc, ref, split_ref = plain_pair(name, tmp_dir)
    texts = ["".join(p) for p in pieces]
    every = [hf_ids(ref, t) for t in texts]
    ordinary = [hf_ids(split_ref, t) for t in texts]
    assert enc.encode_batch(texts, allowed_special="all") == every
    assert enc.encode_ordinary_batch(texts) == ordinary
    assert enc.count_batch(texts).tolist() == [len(ids) for ids in ordinary]


@pytest.mark.parametrize("name", ["gpt2", "qwen2_5"])
def test_plain_added_tokens_are_cut_in_the_engine(tmp_dir, name):
    from tokenomix import _core

    enc, _, split_ref = plain_pair(name, tmp_dir)
    texts = ["x<t>y", "<a>b<t>", "e\u0301<t>\u00e9"]
    counts = _core.count_screened(enc._core, enc._ordinary.screen, texts, False)
    assert counts.tolist() == [len(hf_ids(split_ref, t)) for t in texts]


@pytest.mark.parametrize("name", ["gpt2", "qwen2_5"])
def test_ids_of_added_tokens(tmp_dir, name):
    enc, ref, _ = flagged_pair(name, tmp_dir)
    expected = {t.content: i for i, t in ref.get_added_tokens_decoder().items()}
    assert enc.added_tokens == expected
    assert enc.added_tokens["hello"] == enc.encode_single_token(b"hello")


def test_ids_ignore_the_file_and_follow_tokenizers(tmp_path):
    # Ids written in the file are not used; repeated contents keep their first id, and a
    # repeat with other flags replaces the earlier entry.
    def edit(document):
        document["added_tokens"] += [
            added_token("<new>", 5),
            added_token("<new>", 7, special=True),
            added_token("<other>", 5),
            added_token("", 9),
        ]

    path = edited("gpt2", tmp_path, edit)
    enc, ref = tokenomix.Encoding.from_file(path), hf_reference(path)
    assert enc.added_tokens == {t.content: i for i, t in ref.get_added_tokens_decoder().items()}
    assert enc.added_tokens["<new>"] == 50257 and "<new>" in enc.special_tokens_set
    for text in ["<new><other>", "x<new>", "<other>"]:
        assert enc.encode(text, allowed_special="all") == hf_ids(ref, text)
