"""tokenizer.json files that tokenomix was not written against: byte-level BPE models trained
here, each with the pre-tokenizers, normalizers, model options, added tokens and
post-processors that real files combine, checked against `tokenizers` on the corpus and on
arbitrary text. Shapes with a native scanner and shapes that go through the `tokenizers`
package's pre-tokenizer are both covered."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parity_corpus import CORPUS_FILES, documents

import tokenomix
from tokenomix.vocab.hf_components import (
    GPT2_PATTERN,
    LLAMA3_PATTERN,
    O200K_PATTERN,
    QWEN2_PATTERN,
    TEKKEN_PATTERN,
    read_pre_tokenizer,
)

from open_model_refs import (
    TRICKY,
    added_token,
    edited,
    hf_batch_ids,
    hf_ids,
    hf_reference,
)


def byte_level(add_prefix_space=False, use_regex=True):
    return {
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": True,
        "use_regex": use_regex,
    }


def split(regex, behavior="Isolated", invert=False, literal=False):
    pattern = {"String": regex} if literal else {"Regex": regex}
    return {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert}


def sequence(*steps):
    return {"type": "Sequence", "pretokenizers": list(steps)}


# name -> (pre-tokenizer, whether tokenomix runs it natively)
PRE_TOKENIZERS = {
    "byte_level": (byte_level(), True),
    "byte_level_prefix_space": (byte_level(add_prefix_space=True), True),
    "llama3_split": (sequence(split(LLAMA3_PATTERN), byte_level(use_regex=False)), True),
    "qwen2_split": (sequence(split(QWEN2_PATTERN), byte_level(use_regex=False)), True),
    "o200k_split": (sequence(split(O200K_PATTERN), byte_level(use_regex=False)), True),
    "tekken_split": (sequence(split(TEKKEN_PATTERN), byte_level(use_regex=False)), True),
    "gpt2_split": (sequence(split(GPT2_PATTERN), byte_level(use_regex=False)), True),
    "nested_sequence": (sequence(sequence(byte_level())), True),
    "digits_then_byte_level": (
        sequence({"type": "Digits", "individual_digits": True}, byte_level()),
        False,
    ),
    "custom_splits": (
        sequence(
            split(r"\p{N}{1,3}"),
            split(r"[一-龥぀-ゟ゠-ヿ]+"),
            split(LLAMA3_PATTERN),
            byte_level(use_regex=False),
        ),
        False,
    ),
    "byte_level_before_digits": (
        sequence(
            {"type": "Punctuation", "behavior": "Contiguous"},
            byte_level(),
            {"type": "Digits", "individual_digits": False},
            split("[0-9][0-9][0-9]"),
        ),
        False,
    ),
    "prefix_space_per_piece": (
        sequence(split(LLAMA3_PATTERN), byte_level(add_prefix_space=True, use_regex=False)),
        False,
    ),
    "merged_with_previous": (
        sequence(split(" ", "MergedWithPrevious", literal=True), byte_level(use_regex=False)),
        False,
    ),
    "removed": (sequence(split(r"\s+", "Removed"), byte_level(use_regex=False)), False),
    "inverted": (
        sequence(split(r"\p{L}+", "Isolated", invert=True), byte_level(use_regex=False)),
        False,
    ),
    "whitespace_then_byte_level": (sequence({"type": "Whitespace"}, byte_level()), False),
}
NORMALIZERS = {
    "none": None,
    "nfc": {"type": "NFC"},
    "nfkc": {"type": "NFKC"},
    "nfd_then_nfc": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "NFC"}]},
    "lowercase": {"type": "Lowercase"},  # runs through the tokenizers package
}


@functools.cache
def corpus_sample() -> list[str]:
    docs = []
    for path in CORPUS_FILES:
        docs += documents(path.read_text(encoding="utf-8"), size=2048)[:6]
    return docs


@functools.cache
def trained(vocab_size: int = 3000) -> str:
    """A byte-level BPE tokenizer.json trained on the corpus sample."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>", "<|im_start|>"],
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus_sample(), trainer)
    return tokenizer.to_str()


def variant(
    pre_tokenizer="llama3_split",
    normalizer="none",
    *,
    ignore_merges=False,
    added=(),
    post_processor=None,
) -> str:
    document = json.loads(trained())
    document["pre_tokenizer"] = PRE_TOKENIZERS[pre_tokenizer][0]
    document["normalizer"] = NORMALIZERS[normalizer]
    document["model"]["ignore_merges"] = ignore_merges
    document["added_tokens"] += list(added)
    document["post_processor"] = post_processor
    return json.dumps(document)


@functools.cache
def pair(document: str, tmp_dir: str):
    from tokenizers import Tokenizer

    path = f"{tmp_dir}/variant-{abs(hash(document))}.json"
    with open(path, "w") as file:
        file.write(document)
    ref, split_ref = Tokenizer.from_str(document), Tokenizer.from_str(document)
    split_ref.encode_special_tokens = True
    return tokenomix.Encoding.from_file(path), ref, split_ref


@pytest.fixture(scope="module")
def tmp_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("variants"))


EXTRA_TOKENS = (
    added_token("<tool_call>", 0, normalized=False),
    added_token("Ünïcode", 0, normalized=True),
    added_token("[MASK]", 0, special=True, lstrip=True),
    added_token("wd", 0, single_word=True),
)
CASES = [
    ("byte_level", "none", False),
    ("byte_level_prefix_space", "nfkc", True),
    ("llama3_split", "none", True),
    ("qwen2_split", "nfc", False),
    ("o200k_split", "none", True),
    ("tekken_split", "none", False),
    ("gpt2_split", "nfd_then_nfc", False),
    ("nested_sequence", "none", False),
    ("digits_then_byte_level", "none", False),
    ("custom_splits", "nfc", True),
    ("byte_level_before_digits", "none", False),
    ("prefix_space_per_piece", "none", False),
    ("merged_with_previous", "none", False),
    ("removed", "none", False),
    ("inverted", "none", False),
    ("whitespace_then_byte_level", "none", False),
    ("llama3_split", "lowercase", False),
]
CASE_IDS = ["-".join(map(str, c)) for c in CASES]


def test_native_shapes_use_a_scanner():
    for name, (spec, native) in PRE_TOKENIZERS.items():
        assert (read_pre_tokenizer(spec, name).scanner is not None) == native, name


@pytest.mark.parametrize(("pre_tokenizer", "normalizer", "ignore_merges"), CASES, ids=CASE_IDS)
def test_corpus(tmp_dir, pre_tokenizer, normalizer, ignore_merges):
    document = variant(pre_tokenizer, normalizer, ignore_merges=ignore_merges, added=EXTRA_TOKENS)
    enc, ref, split_ref = pair(document, tmp_dir)
    texts = corpus_sample()
    assert enc.encode_batch(texts, allowed_special="all") == hf_batch_ids(ref, texts)
    expected = hf_batch_ids(split_ref, texts)
    assert enc.encode_ordinary_batch(texts) == expected
    assert enc.count_batch(texts).tolist() == [len(ids) for ids in expected]


lookalikes = st.lists(
    st.sampled_from(
        [
            "<tool_call>",
            "Ünïcode",
            "U\u0308nïcode",
            "[MASK]",
            "wd",
            "<|im_start|>",
            " ",
            "  ",
            "\n",
            "x",
            "_",
            "12",
            "é",
        ]
    ),
    max_size=8,
).map("".join)
texts = st.one_of(st.text(alphabet=TRICKY, max_size=60), st.text(max_size=80), lookalikes)


@pytest.mark.parametrize(("pre_tokenizer", "normalizer", "ignore_merges"), CASES, ids=CASE_IDS)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=texts)
def test_arbitrary_text(tmp_dir, pre_tokenizer, normalizer, ignore_merges, text):
    text = text.encode("utf-8", "replace").decode("utf-8")
    document = variant(pre_tokenizer, normalizer, ignore_merges=ignore_merges, added=EXTRA_TOKENS)
    enc, ref, split_ref = pair(document, tmp_dir)
    assert enc.encode(text, allowed_special="all") == hf_ids(ref, text)
    assert enc.encode_ordinary(text) == hf_ids(split_ref, text)
    assert enc.count(text) == len(hf_ids(split_ref, text))


@pytest.mark.parametrize(
    "post_processor",
    [
        {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
            ],
            "pair": [
                {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {
                "<|im_start|>": {"id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]},
                "<|endoftext|>": {"id": "<|endoftext|>", "ids": [0], "tokens": ["<|endoftext|>"]},
            },
        },
        {
            "type": "RobertaProcessing",
            "sep": ["<|endoftext|>", 0],
            "cls": ["<|im_start|>", 1],
            "trim_offsets": True,
            "add_prefix_space": False,
        },
        {"type": "BertProcessing", "sep": ["<|endoftext|>", 0], "cls": ["<|im_start|>", 1]},
        {
            "type": "Sequence",
            "processors": [
                byte_level(),
                {"type": "BertProcessing", "sep": ["<|endoftext|>", 0], "cls": ["<|im_start|>", 1]},
            ],
        },
    ],
    ids=["template", "roberta", "bert", "sequence"],
)
def test_post_processors(tmp_dir, post_processor):
    enc, ref, _ = pair(variant(post_processor=post_processor), tmp_dir)
    for text in ["", "Hello world", "x<|im_start|>y"]:
        expected = hf_ids(ref, text, add_special_tokens=True)
        assert enc.encode(text, allowed_special="all", add_special_tokens=True) == expected
        assert enc.encode(text, allowed_special="all") == hf_ids(ref, text)


def test_ignore_merges_off(tmp_path):
    # Llama 3 with ignore_merges turned off merges every piece from its bytes (case C19).
    path = edited("llama3_1", tmp_path, lambda d: d["model"].update(ignore_merges=False))
    enc, ref = tokenomix.Encoding.from_file(path), hf_reference(path)
    assert enc.encode(" Việt") == hf_ids(ref, " Việt") == [11655, 26298, 83]
    texts = corpus_sample()
    expected = hf_batch_ids(hf_reference(path, split_special_tokens=True), texts)
    assert enc.encode_ordinary_batch(texts) == expected


def handmade(merges: list, tmp_path) -> tuple[tokenomix.Encoding, object]:
    """A byte-level BPE over the 256 bytes and "ab", "bc", "abc" with the given merges."""
    from tokenizers import Tokenizer, pre_tokenizers

    document = json.loads(trained())
    vocab = {key: i for i, key in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab.update({"ab": 256, "bc": 257, "abc": 258})
    document["model"].update(vocab=vocab, merges=merges)
    document["added_tokens"] = []
    document["pre_tokenizer"] = byte_level()
    path = tmp_path / "handmade.json"
    path.write_text(json.dumps(document))
    return tokenomix.Encoding.from_file(path), Tokenizer.from_file(str(path))


@pytest.mark.parametrize(
    "merges",
    [
        ["b c", "a b", "b c", "ab c"],  # "b c" listed again: its last position counts
        ["b c", "a b", "ab c"],
        ["#version: 0.2", "a b", "ab c"],  # a version line is not a merge
        [["a", "b"], ["b", "c"], ["ab", "c"]],  # merges as pairs
    ],
)
def test_merge_lists(tmp_path, merges):
    enc, ref = handmade(merges, tmp_path)
    for text in ["abc", "abcabc", "xabcy", "bcab"]:
        assert enc.encode(text) == hf_ids(ref, text)
    expected = [enc.encode_single_token("a"), 257] if merges == ["b c", "a b", "ab c"] else [258]
    assert enc.encode("abc") == expected
