"""Mistral's Tekken tokenizer files (tekken.json): tiktoken ranks behind special tokens.

Layout (as mistral-common 1.13 reads it): `config` gives the split pattern, the vocabulary
size with special tokens (`default_vocab_size`) and the number of special-token slots
(`default_num_special_tokens`); `vocab` lists {rank, token_bytes (base64)} in rank order, of
which the first `default_vocab_size - default_num_special_tokens` are used; `special_tokens`
lists {rank, token_str}, and files of version v7 or older without it use the default list
below. Slots without a listed token are `<SPECIAL_n>`. A token's id is its rank plus the
number of slots; special tokens keep their rank.

Like mistral-common's `Tekkenizer.encode`, `encode_ordinary` reads special-token text as text.
"""

from __future__ import annotations

import base64
import binascii

from tokenomix import _core
from tokenomix.vocab.rank_file import split_pattern

# The special tokens of Tekken files that do not list them (mistral-common 1.13,
# Tekkenizer.DEPRECATED_SPECIAL_TOKENS), by rank.
DEFAULT_SPECIAL_TOKENS = (
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[AVAILABLE_TOOLS]",
    "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]",
    "[/TOOL_RESULTS]",
    "[TOOL_CALLS]",
    "[IMG]",
    "<pad>",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[PREFIX]",
    "[MIDDLE]",
    "[SUFFIX]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]",
)
# Versions that may leave the special tokens out of the file.
_DEFAULT_SPECIALS_VERSIONS = ("v1", "v2", "v3", "v7")


def is_tekken(document: object) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("config"), dict)
        and isinstance(document.get("vocab"), list)
    )


def read_tekken(document: dict, where: str) -> tuple[_core.CoreEncoder, str, dict[str, int]]:
    """Build the engine of a Tekken file; return it, the split regex and the special tokens.

    Raises:
        ValueError: a field is missing or malformed, or the split pattern is not Tekken's.
    """
    config = document["config"]
    try:
        slots = int(config["default_num_special_tokens"])
        size = int(config["default_vocab_size"]) - slots
        scanner, regex = split_pattern(config["pattern"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{where}: bad Tekken config: {error}") from error
    specials = _special_tokens(document, slots, where)
    ranks = _ranks(document["vocab"], size, slots, where)
    try:
        core = _core.CoreEncoder.from_ranks(ranks, scanner, list(specials.items()))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
    return core, regex, specials


def _ranks(vocab: list, size: int, offset: int, where: str) -> dict[bytes, int]:
    if len(vocab) < size:
        raise ValueError(f"{where}: vocab has {len(vocab)} tokens, the config asks for {size}")
    ranks = {}
    for rank, entry in enumerate(vocab[:size]):
        try:
            if entry["rank"] != rank:
                raise ValueError(f"rank {entry['rank']} is listed in position {rank}")
            ranks[base64.b64decode(entry["token_bytes"], validate=True)] = rank + offset
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise ValueError(f"{where}: vocab[{rank}]: {error}") from error
    return ranks


def _special_tokens(document: dict, slots: int, where: str) -> dict[str, int]:
    listed = document.get("special_tokens")
    if listed is None:
        if document["config"].get("version") not in _DEFAULT_SPECIALS_VERSIONS:
            raise ValueError(f"{where}: a Tekken file of this version must list special_tokens")
        listed = [{"rank": r, "token_str": s} for r, s in enumerate(DEFAULT_SPECIAL_TOKENS)]
    specials: dict[str, int] = {}
    for entry in listed:
        try:
            rank, text = int(entry["rank"]), str(entry["token_str"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where}: bad special token {entry!r}") from error
        if not 0 <= rank < slots or text in specials:
            raise ValueError(f"{where}: special token {text!r} (rank {rank}) is out of place")
        specials[text] = rank
    taken = set(specials.values())
    for rank in range(slots):
        if rank not in taken:
            specials[f"<SPECIAL_{rank}>"] = rank
    return specials
