"""A Hugging Face `tokenizer.json` equivalent to a tiktoken rank file, built offline.

Byte-level BPE in the Hugging Face format needs three things that a rank file lacks:
- the vocabulary as strings: every byte is mapped to a printable character by GPT-2's
  byte-to-unicode table (published in openai/gpt-2 `encoder.py`), and a token is the
  concatenation of its bytes' characters;
- merge rules: tiktoken merges any adjacent pair whose concatenation is a token, so every
  way of splitting a token into two tokens becomes a rule, ranked by the merged token's rank
  (the construction that transformers' TikTokenConverter also uses);
- `ignore_merges`, so that a piece that is itself a token maps to it directly, as tiktoken's
  shortcut does.

Special tokens are left out on purpose: the race counts ordinary text, and a tokenizer with
added tokens would match `<|endoftext|>` in text where tiktoken's `encode_ordinary` does not.
"""

from __future__ import annotations

import json

# The cl100k pattern that tiktoken shipped before it switched to possessive quantifiers. Both
# split text identically under tiktoken's regex engine, but the Rust `onig`-free engine of
# `tokenizers` reads `\p{N}{1,3}+` as a repetition of the group, which splits digit runs
# wrongly; this form has no possessive quantifier at all.
CL100K_PATTERN_PLAIN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+"""
    r"""[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def byte_to_unicode() -> dict[int, str]:
    """Return GPT-2's map from each byte to a printable character."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return table


def merge_rules(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Return every (left, right) pair of tokens whose concatenation is a token.

    Rules are ordered by the merged token's rank, then by the ranks of the two halves.
    """
    rules = []
    for token, rank in ranks.items():
        splits = [
            (ranks[token[:i]], ranks[token[i:]], token[:i], token[i:])
            for i in range(1, len(token))
            if token[:i] in ranks and token[i:] in ranks
        ]
        rules.extend(
            (rank, left_rank, right_rank, left, right)
            for left_rank, right_rank, left, right in splits
        )
    rules.sort()
    return [(left, right) for _, _, _, left, right in rules]


def tokenizer_json(ranks: dict[bytes, int], pattern: str) -> str:
    """Return the `tokenizer.json` text of a byte-level BPE with these ranks and pattern."""
    table = byte_to_unicode()

    def spell(token: bytes) -> str:
        return "".join(table[b] for b in token)

    model = {
        "type": "BPE",
        "dropout": None,
        "unk_token": None,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": False,
        "ignore_merges": True,
        "vocab": {spell(token): rank for token, rank in ranks.items()},
        "merges": [[spell(left), spell(right)] for left, right in merge_rules(ranks)],
    }
    split = {
        "type": "Split",
        "pattern": {"Regex": pattern},
        "behavior": "Isolated",
        "invert": False,
    }
    byte_level = {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": True,
        "use_regex": False,
    }
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split, byte_level]},
        "post_processor": None,
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": True,
            "use_regex": False,
        },
        "model": model,
    }
    return json.dumps(document, ensure_ascii=False)
