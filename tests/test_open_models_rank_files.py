"""Rank files of open models against tiktoken: Meta's Llama 3 rank file with its published
pattern and special tokens, Mistral's Tekken file with its own pattern, and a Qwen2.5 rank file
made from its tokenizer.json; the named models; and the errors of a rank file without a
pattern."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parity_corpus import CORPUS_FILES, documents, random_slices

import tokenomix
from tokenomix.vocab.hf_components import byte_level_decoding
from tokenomix.vocab.open_models import (
    LLAMA3_1_SPECIAL_TOKENS,
    LLAMA3_SPECIAL_TOKENS,
    OPEN_MODELS,
    QWEN2_5_SPECIAL_TOKENS,
    open_model,
)
from tokenomix.vocab.rank_file import SPLIT_PATTERNS

from open_model_refs import (
    HF_DIR,
    LLAMA3_RANK_FILE,
    TEKKEN_FILE,
    TRICKY,
    hf_batch_ids,
    hf_reference,
    llama3_tiktoken,
    tekken_document,
    tekken_ids,
)


@pytest.fixture(scope="module")
def llama3():
    return tokenomix.Encoding.from_file(LLAMA3_RANK_FILE)


@pytest.fixture(scope="module")
def tekken():
    return tokenomix.Encoding.from_file(TEKKEN_FILE)


def corpus_texts() -> list[str]:
    texts = []
    for path in CORPUS_FILES:
        text = path.read_text(encoding="utf-8")
        texts += [text, *documents(text), *random_slices(text, seed=len(text), count=10)]
    return texts


texts = st.one_of(
    st.text(alphabet=TRICKY, max_size=80),
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.text(max_size=200),
)


def test_llama3_is_recognised_by_its_contents(llama3):
    assert llama3.name == "llama3_tokenizer.model"
    assert llama3.n_vocab == 128256
    assert llama3.special_tokens_set == set(LLAMA3_1_SPECIAL_TOKENS)


def test_llama3_corpus(llama3):
    corpus = corpus_texts()
    expected = llama3_tiktoken().encode_ordinary_batch(corpus)
    assert llama3.encode_ordinary_batch(corpus) == expected
    assert llama3.count_batch(corpus).tolist() == [len(ids) for ids in expected]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_llama3_arbitrary_text(llama3, text):
    ref = llama3_tiktoken()
    assert llama3.encode_ordinary(text) == ref.encode_ordinary(text)
    assert llama3.count(text) == len(ref.encode_ordinary(text))


@pytest.mark.parametrize(
    "text",
    [
        "<|begin_of_text|>hi<|eot_id|>",
        "<|eom_id|><|python_tag|>",
        "<|reserved_special_token_3|>x",
        "<|eot_id",
    ],
)
def test_llama3_special_tokens(llama3, text):
    ref = llama3_tiktoken()
    assert llama3.encode(text, allowed_special="all") == ref.encode(text, allowed_special="all")
    assert llama3.encode(text, disallowed_special=()) == ref.encode(text, disallowed_special=())


def test_llama3_same_ids_as_its_tokenizer_json():
    # The shared tokenizer.json carries Llama 3's special-token names.
    rank_file = tokenomix.Encoding.from_file(LLAMA3_RANK_FILE, model="meta-llama/Meta-Llama-3-8B")
    assert rank_file.special_tokens_set == set(LLAMA3_SPECIAL_TOKENS)
    path = HF_DIR / "llama3_1.tokenizer.json"
    added = {t["content"]: t["id"] for t in json.loads(path.read_text())["added_tokens"]}
    assert added == LLAMA3_SPECIAL_TOKENS
    corpus = [d for p in CORPUS_FILES[:20] for d in documents(p.read_text(encoding="utf-8"))]
    assert rank_file.encode_batch(corpus, allowed_special="all") == hf_batch_ids(
        hf_reference(path), corpus
    )


def test_tekken_pattern_and_layout(tekken):
    config = tekken_document()["config"]
    assert config["pattern"] == SPLIT_PATTERNS["tekken"]
    assert tekken.n_vocab == config["default_vocab_size"] == 131072
    assert tekken.encode_single_token("[INST]") == 3
    assert tekken.encode_single_token("<SPECIAL_999>") == 999


def test_tekken_corpus(tekken):
    corpus = corpus_texts()
    expected = [tekken_ids(t) for t in corpus]
    assert tekken.encode_ordinary_batch(corpus) == expected
    assert tekken.count_batch(corpus).tolist() == [len(ids) for ids in expected]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        texts,
        st.lists(
            st.sampled_from(["don", "'t", "'S", "'ll", "'", "X", "we", "a", "é", " ", "1"]),
            max_size=10,
        ).map("".join),
    )
)
def test_tekken_arbitrary_text(tekken, text):
    # Tekken's pattern has no contraction suffix: "don'ta" splits as "don", "'ta".
    assert tekken.encode_ordinary(text) == tekken_ids(text)


def test_tekken_matches_mistral_common_layout(tekken):
    # Ordinary text never turns into special tokens, as Tekkenizer.encode(s, False, False).
    assert tekken.encode_ordinary("[INST]hi[/INST]") == tekken_ids("[INST]hi[/INST]")
    assert tekken.encode("[INST]hi", allowed_special="all")[0] == 3
    assert tekken.decode(tekken.encode_ordinary("héllo wörld")) == "héllo wörld"


def qwen_rank_file(tmp_path) -> str:
    """A tiktoken rank file of Qwen2.5's vocabulary (rank = id), gzip-compressed."""
    import base64

    document = json.loads((HF_DIR / "qwen2_5.tokenizer.json").read_text())
    to_bytes = byte_level_decoding()
    lines = [
        base64.b64encode(key.translate(to_bytes).encode("latin-1")).decode() + f" {rank}"
        for key, rank in document["model"]["vocab"].items()
    ]
    path = tmp_path / "qwen2_5.tiktoken.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    return str(path)


def test_qwen_rank_file(tmp_path):
    # Qwen2.5's merges and tiktoken's rule agree on its vocabulary; the rank file has no
    # normalizer, so the texts are NFC already.
    import unicodedata

    enc = tokenomix.Encoding.from_file(qwen_rank_file(tmp_path), model="Qwen/Qwen2.5-7B")
    assert enc.special_tokens_set == set(QWEN2_5_SPECIAL_TOKENS)
    corpus = [unicodedata.normalize("NFC", t) for t in corpus_texts()[:400]]
    corpus = [t for t in corpus if not any(s in t for s in QWEN2_5_SPECIAL_TOKENS)]
    reference = hf_reference(HF_DIR / "qwen2_5.tokenizer.json")
    assert enc.encode_ordinary_batch(corpus) == hf_batch_ids(reference, corpus)
    assert enc.encode("<|im_start|>x<tool_call>", allowed_special="all") == [
        151644,
        87,
        151657,
    ]


def test_open_model_names():
    assert open_model("meta-llama/Llama-3.1-8B-Instruct").special_tokens == (
        LLAMA3_1_SPECIAL_TOKENS
    )
    assert open_model("llama-3.1-8b").pattern == "llama3"
    assert open_model("Qwen/Qwen2.5-7B").pattern == "qwen2"
    assert open_model("mistralai/Mistral-Nemo-Instruct-2407").pattern == "tekken"
    assert all(m.pattern in SPLIT_PATTERNS for m in OPEN_MODELS.values())
    assert LLAMA3_1_SPECIAL_TOKENS["<|eot_id|>"] == 128009
    assert LLAMA3_1_SPECIAL_TOKENS["<|python_tag|>"] == 128010
    assert LLAMA3_1_SPECIAL_TOKENS["<|reserved_special_token_247|>"] == 128255
    assert len(LLAMA3_1_SPECIAL_TOKENS) == len(LLAMA3_SPECIAL_TOKENS) == 256
    with pytest.raises(KeyError, match="unknown open model 'gpt-7'"):
        open_model("gpt-7")


def test_rank_file_needs_a_pattern(tmp_path):
    path = tmp_path / "unknown.tiktoken"
    path.write_bytes(LLAMA3_RANK_FILE.read_bytes() + b"\n")  # another sha256
    with pytest.raises(ValueError, match=r"unknown.tiktoken: a tiktoken rank file does not say"):
        tokenomix.Encoding.from_file(path)
    enc = tokenomix.Encoding.from_file(path, pattern="llama3", special_tokens={})
    assert enc.encode("hello world") == [15339, 1917]
    with pytest.raises(ValueError, match="split pattern '\\\\\\\\w\\+' has no built-in"):
        tokenomix.Encoding.from_file(path, pattern=r"\w+")
    assert tokenomix.Encoding.from_file(path, pattern=SPLIT_PATTERNS["llama3"]).n_vocab == 128000


def test_rank_file_errors(tmp_path):
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(b"aGVsbG8= 0\nnot base64!! 1\n")
    with pytest.raises(ValueError, match=r"bad.tiktoken: .*line 2"):
        tokenomix.Encoding.from_file(bad, pattern="cl100k")
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(gzip.compress(b"x" * 100)[:20])
    with pytest.raises(ValueError, match=r"damaged.gz: damaged gzip data"):
        tokenomix.Encoding.from_file(damaged)
    with pytest.raises(FileNotFoundError):
        tokenomix.Encoding.from_file(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="are for tiktoken rank files only"):
        tokenomix.Encoding.from_file(TEKKEN_FILE, pattern="tekken")
