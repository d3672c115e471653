"""The tiktoken-shaped API: properties, special tokens, errors, decoding, model lookup."""

import numpy as np
import pytest
import tiktoken.model

import tokenomix

from conftest import SHARED, reference_encoding

ALL = tokenomix.list_encoding_names()


def test_list_encoding_names():
    assert set(ALL) == {
        "gpt2",
        "r50k_base",
        "p50k_base",
        "p50k_edit",
        "cl100k_base",
        "o200k_base",
        "o200k_harmony",
    }


@pytest.mark.parametrize("name", ALL)
def test_properties_equal_tiktoken(name):
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    assert ours.name == ref.name
    assert ours.n_vocab == ref.n_vocab
    assert ours.max_token_value == ref.max_token_value
    assert ours.eot_token == ref.eot_token
    assert ours.special_tokens_set == ref.special_tokens_set
    assert ours._pat_str == ref._pat_str
    assert repr(ours) == f"<Encoding {name!r}>"


def test_get_encoding_is_cached_and_names_unknown():
    assert tokenomix.get_encoding("cl100k_base") is tokenomix.get_encoding("cl100k_base")
    with pytest.raises(ValueError, match=r"unknown encoding 'cl100k'.*o200k_base"):
        tokenomix.get_encoding("cl100k")


@pytest.mark.parametrize(
    "model",
    [
        *tiktoken.model.MODEL_TO_ENCODING,
        "gpt-4o-2024-08-06",
        "gpt-4.1-mini",
        "o1-preview",
        "o3-mini",
        "gpt-4-0613",
        "gpt-3.5-turbo-0125",
        "gpt-5-nano",
        "gpt-oss-120b",
        "ft:gpt-4o-mini:org::id",
        "text-embedding-3-small",
        "chatgpt-4o-latest",
    ],
)
def test_encoding_for_model_matches_tiktoken(model):
    assert tokenomix.encoding_name_for_model(model) == tiktoken.model.encoding_name_for_model(model)
    assert tokenomix.encoding_for_model(model).name == tiktoken.model.encoding_name_for_model(model)


def test_unknown_model_is_a_key_error():
    with pytest.raises(KeyError, match="llama-3"):
        tokenomix.encoding_for_model("llama-3")


SPECIAL_TEXTS = [
    "hi<|endoftext|>there",
    "<|endoftext|><|endofprompt|>",
    "a<|endoftext|",
    "<|fim_prefix|>x<|fim_suffix|>",
    "<<|endoftext|>>",
]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "p50k_edit", "o200k_harmony"])
@pytest.mark.parametrize("text", SPECIAL_TEXTS)
def test_special_token_rules_equal_tiktoken(name, text):
    ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
    for kwargs in [
        {"allowed_special": "all"},
        {"disallowed_special": ()},
        {"allowed_special": {"<|endoftext|>"}, "disallowed_special": ()},
        {"allowed_special": {"<|endoftext|>"}},
        {},
    ]:
        try:
            expected = ref.encode(text, **kwargs)
        except ValueError:
            with pytest.raises(ValueError, match="disallowed"):
                ours.encode(text, **kwargs)
            continue
        assert ours.encode(text, **kwargs) == expected, kwargs


def test_disallowed_special_can_name_plain_strings():
    encoding = tokenomix.get_encoding("cl100k_base")
    with pytest.raises(ValueError, match="'forbidden'"):
        encoding.encode("a forbidden word", disallowed_special={"forbidden"})
    assert encoding.encode("a word", disallowed_special={"forbidden"}) == [64, 3492]


def test_count_reads_special_tokens_as_text():
    encoding = tokenomix.get_encoding("cl100k_base")
    assert (
        encoding.count("hi<|endoftext|>there")
        == len(encoding.encode_ordinary("hi<|endoftext|>there"))
        == 9
    )


@pytest.mark.parametrize(
    "text", ["👍|\ud83d", "\ud83d\udc4d", "\udc00abc", "a\ud800\ud800b", "\ud83d"]
)
def test_lone_surrogates_are_repaired_like_tiktoken(text):
    for name in ["cl100k_base", "o200k_base"]:
        ours, ref = tokenomix.get_encoding(name), reference_encoding(name)
        assert ours.encode(text) == ref.encode(text)
        assert ours.encode_ordinary(text) == ref.encode_ordinary(text)
        assert ours.count(text) == len(ref.encode_ordinary(text))
        assert ours.count_batch([text, "x"]).tolist() == [len(ref.encode_ordinary(text)), 1]
        assert ours.encode_batch([text]) == ref.encode_batch([text])


def test_decoding():
    encoding, ref = tokenomix.get_encoding("o200k_base"), reference_encoding("o200k_base")
    ids = encoding.encode("héllo wörld 👍", allowed_special="all")
    assert encoding.decode(ids) == "héllo wörld 👍"
    assert encoding.decode_tokens_bytes(ids) == ref.decode_tokens_bytes(ids)
    assert encoding.decode_single_token_bytes(199999) == b"<|endoftext|>"
    assert encoding.decode([998, 1637][:1]) == ref.decode([998])  # a partial character
    assert encoding.decode_batch([ids, [24912]]) == ["héllo wörld 👍", "hello"]
    assert encoding.decode_bytes(np.array(ids)) == "héllo wörld 👍".encode()


@pytest.mark.parametrize("bad", [[200019], [-1], [2**32], [300000]])
def test_decoding_unknown_ids_raises_key_error(bad):
    encoding = tokenomix.get_encoding("o200k_base")
    with pytest.raises(KeyError):
        encoding.decode(bad)
    with pytest.raises(KeyError):
        encoding.decode_single_token_bytes(bad[0])


def test_decoding_non_integers_raises_type_error():
    with pytest.raises(TypeError, match="must be int"):
        tokenomix.get_encoding("o200k_base").decode(["a"])


def test_encode_single_token():
    encoding = tokenomix.get_encoding("cl100k_base")
    assert encoding.encode_single_token("hello") == 15339
    assert encoding.encode_single_token(b"hello") == 15339
    assert encoding.encode_single_token("<|endoftext|>") == 100257
    with pytest.raises(KeyError):
        encoding.encode_single_token("hello world")


def test_encoding_from_mergeable_ranks():
    from tiktoken.load import load_tiktoken_bpe

    from tokenomix.vocab.openai import ENCODINGS

    spec = ENCODINGS["cl100k_base"]
    ranks = load_tiktoken_bpe(str(SHARED / "vocab" / "openai" / "cl100k_base.tiktoken"))
    encoding = tokenomix.Encoding(
        "mine", pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens={"<|x|>": 100300}
    )
    assert encoding.encode("hello <|x|>", allowed_special="all") == [15339, 220, 100300]
    assert encoding.n_vocab == 100301
    with pytest.raises(ValueError, match="pat_str"):
        tokenomix.Encoding("mine", pat_str=r"\w+", mergeable_ranks=ranks, special_tokens={})
    with pytest.raises(ValueError, match="explicit_n_vocab"):
        tokenomix.Encoding(
            "mine",
            pat_str=spec.pat_str,
            mergeable_ranks=ranks,
            special_tokens={},
            explicit_n_vocab=5,
        )


def test_vocabulary_without_every_byte_is_refused():
    from tokenomix.vocab.openai import CL100K_PATTERN

    ranks = {bytes([b]): b for b in range(255)}
    with pytest.raises(ValueError, match="no token for the byte 255"):
        tokenomix.Encoding("x", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={})


def test_special_token_sharing_a_rank_is_refused():
    from tokenomix.vocab.openai import CL100K_PATTERN

    ranks = {bytes([b]): b for b in range(256)}
    with pytest.raises(ValueError, match="already uses"):
        tokenomix.Encoding(
            "x", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={"<|s|>": 7}
        )
