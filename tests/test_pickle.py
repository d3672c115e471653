"""Encodings survive pickling, however they were made, and so cross process pools."""

import concurrent.futures
import functools
import pickle

import pytest

import tokenomix

from conftest import SHARED
from open_model_refs import HF_DIR, LLAMA3_RANK_FILE, TEKKEN_FILE

TEXTS = [
    "hello world",
    "  indented\tcode(x) -> 42\n",
    "naïve café 👍🏽 日本語",
    "special-token text read as text: <|endoftext|>",
]


@functools.cache
def constructed() -> tokenomix.Encoding:
    from tiktoken.load import load_tiktoken_bpe

    from tokenomix.vocab.openai import ENCODINGS

    ranks = load_tiktoken_bpe(str(SHARED / "vocab" / "openai" / "cl100k_base.tiktoken"))
    return tokenomix.Encoding(
        "mine",
        pat_str=ENCODINGS["cl100k_base"].pat_str,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 100257, "<|x|>": 100300},
    )


MAKERS = {
    "o200k_base": lambda: tokenomix.get_encoding("o200k_base"),
    "gpt-4": lambda: tokenomix.encoding_for_model("gpt-4"),
    "constructor": constructed,
    "tokenizer.json": lambda: tokenomix.Encoding.from_file(HF_DIR / "llama3_1.tokenizer.json"),
    "rank file": lambda: tokenomix.Encoding.from_file(LLAMA3_RANK_FILE),
    "tekken": lambda: tokenomix.Encoding.from_file(TEKKEN_FILE),
}


@pytest.fixture(params=list(MAKERS), scope="module")
def encoding(request) -> tokenomix.Encoding:
    return MAKERS[request.param]()


def test_round_trip_keeps_behaviour(encoding):
    loaded = pickle.loads(pickle.dumps(encoding))
    assert type(loaded) is type(encoding)
    assert loaded.name == encoding.name
    assert loaded.n_vocab == encoding.n_vocab
    assert loaded.special_tokens_set == encoding.special_tokens_set
    for text in TEXTS:
        assert loaded.encode_ordinary(text) == encoding.encode_ordinary(text)
        assert loaded.count(text) == encoding.count(text)
    special = f"before{sorted(encoding.special_tokens_set)[0]}after"
    ids = encoding.encode(special, allowed_special="all")
    assert loaded.encode(special, allowed_special="all") == ids
    assert len(ids) < len(encoding.encode_ordinary(special))


def test_process_pool_counts(encoding):
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(encoding.count, TEXTS)) == [encoding.count(t) for t in TEXTS]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_bundled_encoding_pickles_as_its_name(name):
    encoding = tokenomix.get_encoding(name)
    data = pickle.dumps(encoding)
    assert len(data) < 1000
    assert pickle.loads(data) is encoding


def test_relative_path_is_made_absolute(monkeypatch):
    monkeypatch.chdir(LLAMA3_RANK_FILE.parent)
    encoding = tokenomix.Encoding.from_file(LLAMA3_RANK_FILE.name)
    data = pickle.dumps(encoding)
    monkeypatch.chdir(SHARED)
    assert pickle.loads(data).encode_ordinary(TEXTS[2]) == encoding.encode_ordinary(TEXTS[2])


def test_a_file_is_read_once_per_process(tmp_path):
    # A process pool unpickles the mapped function with every task.
    copy = tmp_path / "ranks.tiktoken"
    copy.write_bytes(LLAMA3_RANK_FILE.read_bytes())
    data = pickle.dumps(tokenomix.Encoding.from_file(copy, model="meta-llama/Llama-3.1-8B"))
    first = pickle.loads(data)
    assert pickle.loads(data) is first
    copy.write_bytes(LLAMA3_RANK_FILE.read_bytes() + b"\n")  # a new version of the file
    assert (
        pickle.loads(
            pickle.dumps(tokenomix.Encoding.from_file(copy, model="meta-llama/Llama-3.1-8B"))
        )
        is not first
    )
