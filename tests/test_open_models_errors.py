"""Tokenizer files tokenomix cannot read exactly are refused with a message that names the
file and the component, never read approximately."""

from __future__ import annotations

import json
import re
import sys

import pytest
from test_open_models_variants import byte_level, sequence, split, trained

import tokenomix
from tokenomix.vocab.openai import ENCODINGS

from open_model_refs import added_token, tekken_document


def write(tmp_path, document, name="tokenizer.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def small(**changes):
    document = json.loads(trained())
    for key, value in changes.items():
        document[key] = value
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["model"].update(type="WordPiece"), "model type 'WordPiece' is not supported"),
        (
            lambda d: d["model"].update(continuing_subword_prefix="##"),
            "continuing_subword_prefix='##' is not supported",
        ),
        (lambda d: d["model"].update(dropout=0.1), "dropout=0.1 makes encoding random"),
        (lambda d: d.update(pre_tokenizer={"type": "Whitespace"}), "has no ByteLevel step"),
        (lambda d: d.update(pre_tokenizer=None), "has no ByteLevel step"),
        (
            lambda d: d.update(
                pre_tokenizer=sequence(
                    {
                        "type": "Metaspace",
                        "replacement": "▁",
                        "prepend_scheme": "always",
                        "split": True,
                    },
                    byte_level(),
                )
            ),
            "pre-tokenizer 'Metaspace' is not supported",
        ),
        (
            lambda d: d.update(post_processor={"type": "Unknown"}),
            "post-processor 'Unknown' is not supported",
        ),
        (lambda d: d["model"].update(merges=["Ġ zzzz"]), "merge 0 .*'zzzz' is not in the vocab"),
        (lambda d: d["model"].update(merges=["a b c"]), "merge 0 .* is not 'a b'"),
        (lambda d: d["model"].update(merges=[]), "has no merges"),
        (lambda d: d["model"]["vocab"].pop("Ā"), "no token for the byte 0"),
        (
            lambda d: d["model"]["vocab"].update(zz=2**40),
            "token 'zz' has the id 1099511627776; ids are integers from 0 to 16,777,215",
        ),
        (lambda d: d["model"]["vocab"].update(zz=300_000_000), "token 'zz' has the id 300000000"),
        (lambda d: d["model"]["vocab"].update(zz=-1), "token 'zz' has the id -1"),
        (lambda d: d["model"]["vocab"].update(zz=0), "tokens '.*' and 'zz' share the id 0"),
        (
            lambda d: d["added_tokens"].append({"id": 5, "content": "x"}),
            "added_tokens\\[2\\] has no boolean 'single_word'",
        ),
    ],
)
def test_unsupported_or_malformed(tmp_path, change, message):
    document = small()
    change(document)
    with pytest.raises(ValueError, match=f"tokenizer.json: .*{message}"):
        tokenomix.Encoding.from_file(write(tmp_path, document))


def test_invalid_json(tmp_path):
    with pytest.raises(ValueError, match=r"bad.json: invalid JSON at line 2, column 1"):
        tokenomix.Encoding.from_file(write(tmp_path, '{"model":\n}', "bad.json"))
    with pytest.raises(ValueError, match=r"other.json: JSON, but neither a tokenizer.json"):
        tokenomix.Encoding.from_file(write(tmp_path, {"a": 1}, "other.json"))


def test_without_the_tokenizers_package(tmp_path, monkeypatch):
    # Shapes with a native scanner load without it; others name what needs it.
    regex = r"\p{L}+|\P{L}"
    native = write(
        tmp_path, small(pre_tokenizer=byte_level(), normalizer={"type": "NFKC"}), "native.json"
    )
    custom = write(
        tmp_path, small(pre_tokenizer=sequence(split(regex), byte_level(use_regex=False)))
    )
    lowercase = write(
        tmp_path,
        small(pre_tokenizer=byte_level(), normalizer={"type": "Lowercase"}),
        "lowercase.json",
    )
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    enc = tokenomix.Encoding.from_file(native)
    assert enc.encode("\ufb01 x") == enc.encode("fi x")  # NFKC without the package
    message = f"split pattern {re.escape(repr(regex))} has no built-in .*pip install 'tokenomix"
    with pytest.raises(ImportError, match=message):
        tokenomix.Encoding.from_file(custom)
    with pytest.raises(ImportError, match="normalizer 'Lowercase' has no built-in"):
        tokenomix.Encoding.from_file(lowercase)


def test_tekken_errors(tmp_path):
    document = tekken_document()
    other = dict(document, config=dict(document["config"], pattern=r"\w+|\s+"))
    with pytest.raises(ValueError, match=r"tekken.json: bad Tekken config: split pattern"):
        tokenomix.Encoding.from_file(write(tmp_path, other, "tekken.json"))
    newer = dict(document, config=dict(document["config"], version="v13"))
    with pytest.raises(ValueError, match="must list special_tokens"):
        tokenomix.Encoding.from_file(write(tmp_path, newer, "tekken.json"))
    listed = dict(
        document,
        special_tokens=[{"rank": 0, "token_str": "<unk>"}, {"rank": 1, "token_str": "<s>"}],
    )
    enc = tokenomix.Encoding.from_file(write(tmp_path, listed, "tekken.json"))
    assert enc.encode_single_token("<s>") == 1
    assert enc.encode_single_token("<SPECIAL_2>") == 2
    assert "[INST]" not in enc.special_tokens_set


def test_added_token_patterns_must_differ(tmp_path):
    # tokenizers refuses two added tokens searched for as the same text (NFC makes the
    # decomposed one equal to the other); so does tokenomix.
    document = small(normalizer={"type": "NFC"})
    document["added_tokens"] += [
        added_token("é", 0, normalized=True),
        added_token("e\u0301", 0, normalized=True),
    ]
    with pytest.raises(ValueError, match="are both searched for as 'é'"):
        tokenomix.Encoding.from_file(write(tmp_path, document))


@pytest.mark.parametrize(
    ("special_tokens", "message"),
    [
        ({"<x>": 2**33}, "special token '<x>' has the id 8589934592; ids are integers"),
        ({"<x>": "7"}, "special token '<x>' has the id '7'"),
        ({"<x>": 100_300, "<y>": 100_300}, "special tokens '<x>' and '<y>' share the id 100300"),
    ],
)
def test_special_token_ids_are_checked(shared_dir, special_tokens, message):
    path = shared_dir / "vocab" / "openai" / "cl100k_base.tiktoken"
    with pytest.raises(ValueError, match=f"cl100k_base.tiktoken: {message}"):
        tokenomix.Encoding.from_file(path, pattern="cl100k", special_tokens=special_tokens)
    with pytest.raises(ValueError, match=f"^{message}"):
        tokenomix.Encoding(
            "x",
            pat_str=ENCODINGS["cl100k_base"].pat_str,
            mergeable_ranks={bytes([b]): b for b in range(256)},
            special_tokens=special_tokens,
        )


def test_paths_that_are_not_a_tokenizer_file(tmp_path, shared_dir):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    source = shared_dir / "vocab" / "hf" / "gpt2.tokenizer.json"
    (snapshot / "tokenizer.json").write_bytes(source.read_bytes())
    from_folder = tokenomix.Encoding.from_file(snapshot)  # a model's snapshot folder
    assert from_folder.encode("hello world") == tokenomix.Encoding.from_file(source).encode(
        "hello world"
    )
    assert from_folder.name == "snapshot"
    with pytest.raises(FileNotFoundError, match=r"empty: a folder without a tokenizer\.json"):
        (tmp_path / "empty").mkdir()
        tokenomix.Encoding.from_file(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"nope\.json: no such tokenizer file"):
        tokenomix.Encoding.from_file(tmp_path / "nope.json")
    (tmp_path / "blank.json").write_text(" \n")
    with pytest.raises(ValueError, match=r"blank\.json: empty file"):
        tokenomix.Encoding.from_file(tmp_path / "blank.json")


def test_a_json_file_takes_no_model_pattern_or_special_tokens(shared_dir):
    path = shared_dir / "vocab" / "hf" / "gpt2.tokenizer.json"
    given_for_rank_files = (
        {"model": "meta-llama/Llama-3.1-8B"},
        {"pattern": "r50k"},
        {"special_tokens": {}},
    )
    for given in given_for_rank_files:
        with pytest.raises(ValueError, match="tiktoken rank files only"):
            tokenomix.Encoding.from_file(path, **given)


def test_a_byte_order_mark_is_ignored(tmp_path, shared_dir):
    source = shared_dir / "vocab" / "hf" / "gpt2.tokenizer.json"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    assert tokenomix.Encoding.from_file(path).encode("hello world") == [31373, 995]
