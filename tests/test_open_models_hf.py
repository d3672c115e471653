"""Identical ids to Hugging Face `tokenizers` 0.23.3 for every tokenizer.json of
../shared/vocab/hf: on the corpus, on arbitrary text, on the cases, with and without special
tokens, one text at a time and in batches."""

import functools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parity_corpus import CORPUS_FILES, documents, random_slices

import tokenomix

from conftest import SHARED
from open_model_refs import HF_DIR, HF_FILES, TRICKY, hf_batch_ids, hf_ids, hf_reference, ours

FILE_IDS = [p.name.split(".")[0] for p in HF_FILES]


def test_every_shared_tokenizer_json_is_covered():
    assert FILE_IDS == ["gpt2", "llama3_1", "qwen2_5"]


@pytest.fixture(scope="module", params=HF_FILES, ids=FILE_IDS)
def path(request):
    return request.param


def corpus_texts() -> tuple[list[str], list[str]]:
    """Every corpus file in documents of about 4k characters, random slices of each, and the
    files of under 300k characters whole (tokenizers takes seconds on the largest); with a
    label for each text."""
    labels, texts = [], []
    for corpus_file in CORPUS_FILES:
        text = corpus_file.read_text(encoding="utf-8")
        parts = [*documents(text), *random_slices(text, seed=len(text), count=10)]
        if len(text) < 300_000:
            parts.append(text)
        labels += [f"{corpus_file.name} #{i}" for i in range(len(parts))]
        texts += parts
    return labels, texts


def assert_same(labels, got, expected):
    wrong = [label for label, a, b in zip(labels, got, expected, strict=True) if a != b]
    assert not wrong, f"{len(wrong)} texts differ, first {wrong[:5]}"


def test_corpus(path):
    labels, texts = corpus_texts()
    enc, ref = ours(path), hf_reference(path)
    expected = hf_batch_ids(ref, texts)
    assert_same(labels, enc.encode_batch(texts, allowed_special="all"), expected)
    # Special-token text is read as text only where some occurs; elsewhere both agree.
    split_ref = hf_reference(path, split_special_tokens=True)
    special = [i for i, t in enumerate(texts) if any(s in t for s in enc.special_tokens_set)]
    for i, ids in zip(special, hf_batch_ids(split_ref, [texts[i] for i in special]), strict=True):
        expected[i] = ids
    assert_same(labels, enc.encode_ordinary_batch(texts), expected)
    assert_same(labels, enc.count_batch(texts).tolist(), [len(ids) for ids in expected])
    assert [enc.count(t) for t in texts[:50]] == [len(ids) for ids in expected[:50]]


@functools.cache
def _special_lookalikes(path):
    added = sorted(ours(path).added_tokens, key=ours(path).added_tokens.get)[:12]
    return st.lists(
        st.sampled_from([*added, "<|", "|>", "<", "x", " ", "\n", "é", "e\u0301", "12"]),
        max_size=10,
    ).map("".join)


texts = st.one_of(
    st.text(alphabet=TRICKY, max_size=80),
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.text(max_size=200),
)


@pytest.mark.parametrize("path", HF_FILES, ids=FILE_IDS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_text(path, data):
    text = data.draw(st.one_of(texts, _special_lookalikes(path)))
    text = text.encode("utf-8", "replace").decode("utf-8")  # tokenizers refuses surrogates
    enc, ref = ours(path), hf_reference(path)
    assert enc.encode(text, allowed_special="all") == hf_ids(ref, text)
    assert enc.encode(text, allowed_special="all", add_special_tokens=True) == hf_ids(
        ref, text, add_special_tokens=True
    )
    expected = hf_ids(hf_reference(path, split_special_tokens=True), text)
    assert enc.encode_ordinary(text) == expected
    assert enc.encode(text, disallowed_special=()) == expected
    assert enc.count(text) == len(expected)
    ids = enc.encode(text, allowed_special="all")
    assert enc.decode(ids) == ref.decode(ids, skip_special_tokens=False)


@pytest.mark.parametrize("path", HF_FILES, ids=FILE_IDS)
def test_post_processor(path):
    enc, ref = ours(path), hf_reference(path)
    text = "Hello there, 12345 friends!"
    expected = hf_ids(ref, text, add_special_tokens=True)
    assert enc.encode(text, add_special_tokens=True) == expected
    assert enc.count(text, add_special_tokens=True) == len(expected)
    assert enc.count_batch([text, ""], add_special_tokens=True).tolist() == [
        len(expected),
        len(hf_ids(ref, "", add_special_tokens=True)),
    ]
    assert enc.encode_batch([text], add_special_tokens=True) == [expected]


def test_llama3_adds_begin_of_text():
    enc = ours(HF_DIR / "llama3_1.tokenizer.json")
    assert enc.encode("hi", add_special_tokens=True) == [128000, 6151]
    assert enc.count("hi", add_special_tokens=True) == 2


@pytest.mark.parametrize("path", HF_FILES, ids=FILE_IDS)
def test_vocabulary_size_and_decoding(path):
    enc, ref = ours(path), hf_reference(path)
    assert enc.n_vocab == ref.get_vocab_size(with_added_tokens=True)
    ids = [*range(0, enc.n_vocab, 97), enc.n_vocab - 1]
    assert enc.decode(ids) == ref.decode(ids, skip_special_tokens=False)
    with pytest.raises(KeyError):
        enc.decode_bytes([enc.n_vocab])


# Expected ids from ../shared/cases (the notes give Llama 3 and Qwen values too).
LLAMA3_CASES = {
    " Vi\u1ec7t": [101798],  # C19: ignore_merges, a piece that is a token is that token
    "12345": [4513, 1774],  # C02
    "def f():\n    return  x": [755, 282, 4019, 262, 471, 220, 865],  # C06
    "hello   ": [15339, 262],  # C07
    "x  \n  y": [87, 2355, 220, 379],  # C08
    "I'M we'll THEY'RE we'd": [40, 28703, 584, 3358, 63593, 95253, 584, 4265],  # C10
    "नमस्ते": [61196, 88344, 79468, 100365, 35470],  # C16
    "cafe\u0301 \u1100\u1161\u11a8": [
        936,
        1897,
        54939,
        87189,
        226,
        222,
        157,
        227,
        94,
        157,
        228,
        101,
    ],  # C18: no normalizer
}
QWEN_CASES = {
    "cafe\u0301 \u1100\u1161\u11a8": [924, 58858, 126804],  # C18: NFC first
    "café 각": [924, 58858, 126804],
    "12345": [16, 17, 18, 19, 20],  # C02
    "def f():\n    return  x": [750, 282, 3932, 262, 470, 220, 856],  # C06
    "I'M we'll THEY'RE we'd": [40, 27603, 582, 3278, 62493, 94153, 582, 4172],  # C10
    "नमस्ते": [60096, 87244, 78368, 30484, 97, 34370],  # C16
    "お誕生日おめでとう": [32234, 119184, 105511, 32234, 60904, 16161, 77599],  # C17
}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [("llama3_1", t, ids) for t, ids in LLAMA3_CASES.items()]
    + [("qwen2_5", t, ids) for t, ids in QWEN_CASES.items()],
)
def test_cases(name, text, expected):
    path = HF_DIR / f"{name}.tokenizer.json"
    assert ours(path).encode(text) == expected
    assert ours(path).count(text) == len(expected)
    assert hf_ids(hf_reference(path), text) == expected


def test_cases_file_names_the_tokenizer_json_cases():
    lines = (SHARED / "cases" / "cases.jsonl").read_text().splitlines()
    cases = [json.loads(line) for line in lines]
    named = {c["id"]: c for c in cases if "tokenizer.json" in c["encoding_or_model"]}
    assert set(named) == {"C18", "C19"}
    assert QWEN_CASES[named["C18"]["input"]] == named["C18"]["expected_ids"]
    assert LLAMA3_CASES[named["C19"]["input"]] == named["C19"]["expected_ids"]


@pytest.mark.parametrize(
    ("name", "text", "count"),
    [
        ("llama3_1", "a" * 100_000, 12_500),
        ("qwen2_5", "7" * 100_000, 100_000),
        ("llama3_1", " " * 100_000 + "a", None),
        ("gpt2", "^" * 100_000, None),
    ],
)
def test_long_runs(name, text, count):
    path = HF_DIR / f"{name}.tokenizer.json"
    expected = hf_ids(hf_reference(path), text)
    assert ours(path).encode(text) == expected
    assert ours(path).count(text) == len(expected) == (count or len(expected))


def test_lone_surrogates_are_replaced():
    # tokenizers refuses such text; tokenomix repairs it as for every encoding (tiktoken's
    # rule): a pair is joined, a lone half becomes U+FFFD.
    enc = ours(HF_DIR / "llama3_1.tokenizer.json")
    text = "\ud83d\udc4d|\ud83d"
    assert enc.encode(text) == enc.encode("👍|\ufffd")
    assert enc.count_batch([text]).tolist() == [enc.count("👍|\ufffd")]


def test_batches_accept_arrays_and_arrow_columns():
    import pyarrow as pa

    enc = ours(HF_DIR / "qwen2_5.tokenizer.json")
    texts = ["cafe\u0301 <tool_call>", None, "plain"]
    expected = [enc.count(t or "") for t in texts]
    assert enc.count_batch(pa.array(texts)).tolist() == expected
    assert enc.count_batch(np.array(["plain", "e\u0301"])).tolist() == [
        enc.count("plain"),
        enc.count("e\u0301"),
    ]


def test_bad_batches():
    enc = ours(HF_DIR / "qwen2_5.tokenizer.json")
    with pytest.raises(ValueError, match="num_threads must be at least 1"):
        enc.count_batch(["a b"], num_threads=0)
    with pytest.raises(TypeError, match="not a single str"):
        enc.count_batch("a b")
    with pytest.raises(TypeError, match="expected str, got int"):
        enc.encode_ordinary_batch(["a", 1])


def test_encoding_is_an_encoding():
    enc = ours(HF_DIR / "qwen2_5.tokenizer.json")
    assert isinstance(enc, tokenomix.Encoding)
    assert enc.name == "qwen2_5.tokenizer.json"
    assert enc.eot_token == 151643
    assert "<|im_start|>" in enc.special_tokens_set
    assert "<tool_call>" not in enc.special_tokens_set  # an added token, not special
    assert enc.added_tokens["<tool_call>"] == 151657
    assert enc.encode_single_token("<tool_call>") == 151657
    assert enc.encode_single_token("hello") == 14990
    assert enc.max_token_value == 151664
