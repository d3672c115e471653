"""Loading an encoding from a tokenizer file: which kind of file it is, and what it needs.

Three kinds are read, told apart by their contents (gzip-compressed or not):

- a Hugging Face tokenizer.json whose model is byte-level BPE (a JSON object with "model");
- a Mistral Tekken file (a JSON object with "config" and "vocab");
- a tiktoken rank file ("<base64 token> <rank>" lines), which says nothing of its split
  pattern or special tokens: they come from `model=`, from `pattern=` and `special_tokens=`,
  or from the file's sha256 when it is a rank file tokenomix knows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib

from tokenomix.encoding import Encoding
from tokenomix.hf_encoding import HfEncoding
from tokenomix.vocab.hf import read_tokenizer_json
from tokenomix.vocab.ids import check_ids
from tokenomix.vocab.open_models import KNOWN_RANK_FILES, OpenModel, open_model
from tokenomix.vocab.rank_file import build_rank_file_core, split_pattern
from tokenomix.vocab.tekken import is_tekken, read_tekken

_GZIP_MAGIC = b"\x1f\x8b"
_RANK_LINE = re.compile(rb"[A-Za-z0-9+/]+=*[ \t]+[0-9]+")


def tokenizer_path(path: str | os.PathLike[str]) -> str:
    """The tokenizer file `path` names: itself, or the tokenizer.json in a folder.

    Raises:
        FileNotFoundError: no such file, or a folder without a tokenizer.json.
    """
    where = os.fspath(path)
    if os.path.isdir(where):
        inside = os.path.join(where, "tokenizer.json")
        if not os.path.isfile(inside):
            raise FileNotFoundError(
                f"{where}: a folder without a tokenizer.json; give the tokenizer file itself"
            )
        return inside
    if not os.path.exists(where):
        raise FileNotFoundError(f"{where}: no such tokenizer file")
    return where


def load_file(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    pattern: str | None = None,
    special_tokens: dict[str, int] | None = None,
    name: str | None = None,
) -> Encoding:
    """Load the encoding of a tokenizer file; see `Encoding.from_file`."""
    where = os.fspath(path)
    data = _read(where).removeprefix(b"\xef\xbb\xbf")  # a BOM, as some editors write
    if not data.strip():
        raise ValueError(f"{where}: empty file")
    name = name or model or _file_name(where)
    if data.lstrip()[:1] == b"{":
        if model is not None or pattern is not None or special_tokens is not None:
            raise ValueError(
                f"{where}: a JSON tokenizer file gives its own split pattern and special "
                "tokens; a model name, a pattern and special tokens are for tiktoken rank "
                "files only"
            )
        return _load_json(_parse_json(data, where), name, where)
    return _load_rank_file(data, name, where, model, pattern, special_tokens)


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: damaged gzip data: {error}") from error


def _file_name(path: str) -> str:
    base = os.path.basename(path)
    return base[: -len(".gz")] if base.endswith(".gz") else base


def _parse_json(data: bytes, where: str) -> object:
    try:
        return json.loads(data)
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: not UTF-8 ({error})") from error
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{where}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error


def _load_json(document: object, name: str, where: str) -> Encoding:
    if is_tekken(document):
        core, regex, specials = read_tekken(document, where)
        return Encoding._from_core(name, regex, core, specials)
    if isinstance(document, dict) and "model" in document:
        return HfEncoding._from_tokenizer(name, read_tokenizer_json(document, where))
    raise ValueError(f"{where}: JSON, but neither a tokenizer.json nor a Tekken file")


def _load_rank_file(
    data: bytes,
    name: str,
    where: str,
    model: str | None,
    pattern: str | None,
    special_tokens: dict[str, int] | None,
) -> Encoding:
    first = data.lstrip().split(b"\n", 1)[0].strip()
    if not _RANK_LINE.fullmatch(first):
        raise ValueError(
            f"{where}: not a tokenizer file tokenomix reads: expected a Hugging Face "
            "tokenizer.json, a Mistral Tekken JSON file or a tiktoken rank file ('<base64 "
            "token> <rank>' lines); SentencePiece models are not supported"
        )
    known: OpenModel | None = None
    if model is not None:
        known = open_model(model)
    elif pattern is None:
        model = KNOWN_RANK_FILES.get(hashlib.sha256(data).hexdigest())
        known = open_model(model) if model else None
    if pattern is None and known is None:
        raise ValueError(
            f"{where}: a tiktoken rank file does not say how its model splits text; name the "
            "model (model=, or --tokenizer-model on the command line, e.g. "
            "'meta-llama/Llama-3.1-8B'), or, in Python, pass pattern= and special_tokens="
        )
    scanner, regex = split_pattern(pattern if pattern is not None else known.pattern)
    if special_tokens is None:
        special_tokens = dict(known.special_tokens) if known is not None else {}
    check_ids(special_tokens, "special token", where)
    core = build_rank_file_core(data, scanner, special_tokens, where)
    return Encoding._from_core(name, regex, core, dict(special_tokens))
