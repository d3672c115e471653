"""Reading a Hugging Face tokenizer.json whose model is byte-level BPE.

The model's vocabulary keys are spelled in GPT-2's byte-level alphabet (each byte one
printable character); the engine gets their bytes. Keys spelled outside that alphabet (some
files list special tokens in the vocabulary) can never come out of merging byte-level text,
so the engine knows them only for decoding, as raw UTF-8, as the ByteLevel decoder does.

The merge list keeps `tokenizers`' reading: "a b" strings (lines starting "#version"
skipped) or [a, b] pairs; a pair listed twice takes its last position; a merge that names or
makes a key outside the vocabulary is an error, as it is for `tokenizers`.
"""

from __future__ import annotations

import dataclasses

from tokenomix import _core
from tokenomix.vocab.added_tokens import AddedToken, assign_ids, parse_entries
from tokenomix.vocab.hf_components import (
    Normalizer,
    PostProcessor,
    PreTokenizer,
    byte_level_decoding,
    read_normalizer,
    read_post_processor,
    read_pre_tokenizer,
)
from tokenomix.vocab.ids import check_ids

# tokenizers 0.23 runs its split regexes with the Oniguruma of onig_sys 69.9, whose character
# classes are those of Unicode 16.0, as the engine's scanners use for tiktoken too
# (tests/test_open_models_unicode.py checks every code point of planes 0 to 3 against it).


@dataclasses.dataclass(frozen=True)
class HfTokenizer:
    """Everything tokenomix runs of a tokenizer.json."""

    core: _core.CoreEncoder
    added_tokens: list[AddedToken]
    normalizer: Normalizer | None
    pre_tokenizer: PreTokenizer
    post_processor: PostProcessor


def read_tokenizer_json(document: object, where: str) -> HfTokenizer:
    """Build the engine and the pipeline of a parsed tokenizer.json.

    Args:
        document: the parsed JSON.
        where: the file name, for messages.

    Raises:
        ValueError: not a byte-level BPE tokenizer, or a component tokenomix does not run.
        ImportError: a component needs the tokenizers package, which is not installed.
    """
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        raise ValueError(f"{where}: not a tokenizer.json (no model)")
    model = document["model"]
    vocab = _check_model(model, where)
    normalizer = read_normalizer(document.get("normalizer"), where)
    pre_tokenizer = read_pre_tokenizer(document.get("pre_tokenizer"), where)
    post_processor = read_post_processor(document.get("post_processor"), where)
    entries = parse_entries(document.get("added_tokens", []), where)
    added = assign_ids(entries, vocab, normalizer)
    core = _build_core(model, vocab, added, pre_tokenizer, where)
    return HfTokenizer(core, added, normalizer, pre_tokenizer, post_processor)


def _check_model(model: dict, where: str) -> dict[str, int]:
    if model.get("type", "BPE") != "BPE":
        raise ValueError(f"{where}: model type {model['type']!r} is not supported, only BPE")
    for key in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            raise ValueError(f"{where}: BPE with {key}={model[key]!r} is not supported")
    if model.get("dropout"):
        raise ValueError(
            f"{where}: BPE dropout={model['dropout']} makes encoding random; set it to null"
        )
    vocab = model.get("vocab")
    if not isinstance(vocab, dict):
        raise ValueError(f"{where}: model vocab must map tokens to ids")
    check_ids(vocab, "token", where)
    return vocab


def _build_core(
    model: dict,
    vocab: dict[str, int],
    added: list[AddedToken],
    pre_tokenizer: PreTokenizer,
    where: str,
) -> _core.CoreEncoder:
    tokens, raw_keys = _token_bytes(vocab)
    merges = _merge_ids(model.get("merges"), vocab, tokens, where)
    # Ids that the engine does not merge into still decode: keys outside the alphabet, and
    # added tokens whose id is not a vocabulary entry.
    extra = {token_id: key.encode() for key, token_id in raw_keys.items()}
    for token in added:
        if token.id >= len(tokens) or not tokens[token.id]:
            extra[token.id] = token.content.encode()
    try:
        return _core.CoreEncoder.from_merges(
            tokens,
            merges,
            pre_tokenizer.scanner or "none",
            [(text.decode(), token_id) for token_id, text in sorted(extra.items())],
            bool(model.get("ignore_merges", False)),
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error


def _token_bytes(vocab: dict[str, int]) -> tuple[list[bytes], dict[str, int]]:
    """The bytes of each id (b"" where unused or spelled outside the alphabet), and the keys
    spelled outside the alphabet."""
    to_bytes = byte_level_decoding()
    tokens = [b""] * (max(vocab.values(), default=-1) + 1)
    raw_keys = {}
    for key, token_id in vocab.items():
        try:
            tokens[token_id] = key.translate(to_bytes).encode("latin-1")
        except UnicodeEncodeError:
            raw_keys[key] = token_id
    return tokens, raw_keys


def _merge_ids(
    merges: object, vocab: dict[str, int], tokens: list[bytes], where: str
) -> list[tuple[int, int]]:
    """The merges as id pairs, by priority, each pair at its last listed position; merges of
    keys outside the alphabet (which never meet) left out."""
    if not isinstance(merges, list) or not merges:
        raise ValueError(f"{where}: the BPE model has no merges")
    pairs = _merge_pairs(merges, where)
    get = vocab.get
    lefts = [get(a) for a, _ in pairs]
    rights = [get(b) for _, b in pairs]
    joined = [get(a + b) for a, b in pairs]
    if None in lefts or None in rights or None in joined:
        _raise_unknown_merge(pairs, vocab, where)
    ids = [(a, b) for a, b in zip(lefts, rights, strict=True) if tokens[a] and tokens[b]]
    if len(set(ids)) == len(ids):
        return ids
    # A pair listed twice takes its last position (tokenizers builds a map from the list).
    seen: set[tuple[int, int]] = set()
    last = [p for p in reversed(ids) if not (p in seen or seen.add(p))]
    return last[::-1]


def _raise_unknown_merge(pairs: list[tuple[str, str]], vocab: dict[str, int], where: str):
    for index, (left, right) in enumerate(pairs):
        for key in (left, right, left + right):
            if key not in vocab:
                raise ValueError(
                    f"{where}: merge {index} ({left!r}, {right!r}): {key!r} is not in the "
                    "vocabulary"
                )


def _merge_pairs(merges: list, where: str) -> list[tuple[str, str]]:
    if all(isinstance(m, str) for m in merges):
        lines = [m for m in merges if not m.startswith("#version")]
        pairs = [tuple(line.split(" ")) for line in lines]
        for index, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"{where}: merge {index} ({lines[index]!r}) is not 'a b'")
        return pairs
    if all(
        isinstance(m, list) and len(m) == 2 and all(isinstance(s, str) for s in m) for m in merges
    ):
        return [(m[0], m[1]) for m in merges]
    raise ValueError(f"{where}: merges must be 'a b' strings or [a, b] pairs")
