"""Reference tokenizers for the open-model tests, built offline from ../shared/vocab, and
tokenizer.json variants built by editing or training files in a test."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import pathlib

import tokenomix

from conftest import SHARED

HF_DIR = SHARED / "vocab" / "hf"
HF_FILES = sorted(HF_DIR.glob("*.tokenizer.json"))
LLAMA3_RANK_FILE = SHARED / "vocab" / "llama" / "llama3_tokenizer.model"
TEKKEN_FILE = SHARED / "vocab" / "mistral" / "tekken_240718.json.gz"

# Characters the split rules, normalizers and added-token rules treat specially, with
# characters assigned in Unicode 15, 16 and 17 (where Oniguruma's 14.0 tables, tiktoken's
# 16.0 and the normalizers' 9.0 disagree).
TRICKY = (
    " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000\x1c\x1f"
    "'’sStTdDmMlLvVeErRſK"
    "0123456789٣۴߀१௧٫½Ⅻ"
    "aZéÉǅʰªÆ家がア_"
    "\u0301\u0308\u093f\u094d\u20dd\u0903\u0316\u0334\u0345"
    '!?.,;:/\\|<>_-#@&*()[]{}"`~^'
    "👍🏽👨‍👩‍👧\u200d\ufe0f🇫🇷"
    "\u1100\u1161\u11a8\uac00\u212b\ufb01\u2460\uff21"  # jamo, Hangul, compatibility forms
    "\U00011f00\U0001e4d0\U00031350"  # Unicode 15
    "\u1c89\U00010d4a\U00016d40\U00016d67\U0001e5d0\u0897\U000113b8"  # Unicode 16
    "\U0001e6c0\u0c5c"  # Unicode 17
)


@functools.cache
def hf_reference(path: pathlib.Path, split_special_tokens: bool = False):
    """tokenizers' Tokenizer of a file, without truncation or padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.encode_special_tokens = split_special_tokens
    return tokenizer


@functools.cache
def ours(path: pathlib.Path) -> tokenomix.Encoding:
    return tokenomix.Encoding.from_file(path)


def hf_ids(reference, text: str, add_special_tokens: bool = False) -> list[int]:
    return reference.encode(text, add_special_tokens=add_special_tokens).ids


def hf_batch_ids(reference, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in reference.encode_batch(texts, add_special_tokens=False)]


@functools.cache
def llama3_tiktoken():
    """tiktoken over Meta's Llama 3 rank file, with Meta's pattern and Llama 3.1's specials."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    from tokenomix.vocab.open_models import LLAMA3_1_SPECIAL_TOKENS
    from tokenomix.vocab.rank_file import SPLIT_PATTERNS

    return tiktoken.Encoding(
        "llama3",
        pat_str=SPLIT_PATTERNS["llama3"],
        mergeable_ranks=load_tiktoken_bpe(str(LLAMA3_RANK_FILE)),
        special_tokens=LLAMA3_1_SPECIAL_TOKENS,
    )


@functools.cache
def tekken_document() -> dict:
    return json.loads(gzip.decompress(TEKKEN_FILE.read_bytes()))


@functools.cache
def tekken_tiktoken():
    """tiktoken with the Tekken file's own pattern and ranks, as mistral-common builds it;
    ids of ordinary tokens are its ranks plus the special-token slots."""
    import tiktoken

    document = tekken_document()
    config = document["config"]
    size = config["default_vocab_size"] - config["default_num_special_tokens"]
    ranks = {base64.b64decode(t["token_bytes"]): t["rank"] for t in document["vocab"][:size]}
    return tiktoken.Encoding(
        "tekken", pat_str=config["pattern"], mergeable_ranks=ranks, special_tokens={}
    )


def tekken_ids(text: str) -> list[int]:
    offset = tekken_document()["config"]["default_num_special_tokens"]
    return [i + offset for i in tekken_tiktoken().encode_ordinary(text)]


@functools.cache
def hf_document(name: str) -> str:
    return (HF_DIR / f"{name}.tokenizer.json").read_text()


def edited(name: str, tmp_path: pathlib.Path, edit) -> pathlib.Path:
    """Write a copy of a shared tokenizer.json changed by `edit(document)`; return its path."""
    document = json.loads(hf_document(name))
    edit(document)
    text = json.dumps(document)
    path = tmp_path / f"{name}-variant-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    path.write_text(text)
    return path


def added_token(content: str, token_id: int, *, special: bool = False, **flags) -> dict:
    entry = dict(
        id=token_id,
        content=content,
        single_word=False,
        lstrip=False,
        rstrip=False,
        normalized=False,
        special=special,
    )
    entry.update(flags)
    return entry
