"""Looking up the bundled encodings by name, loading each once."""

from __future__ import annotations

import functools
import threading

from tokenomix import _core
from tokenomix.encoding import Encoding
from tokenomix.vocab.openai import BUILTIN_PATTERNS, ENCODINGS

_lock = threading.Lock()
_loaded: dict[str, Encoding] = {}


def list_encoding_names() -> list[str]:
    """Return the names of the bundled encodings."""
    return list(ENCODINGS)


def get_encoding(encoding_name: str) -> Encoding:
    """Return a bundled encoding, loading it on first use (no network is ever touched).

    Raises:
        ValueError: no bundled encoding has this name.
    """
    with _lock:
        encoding = _loaded.get(encoding_name)
        if encoding is None:
            encoding = _loaded[encoding_name] = _load(encoding_name)
        return encoding


def _load(name: str) -> Encoding:
    spec = ENCODINGS.get(name)
    if spec is None:
        raise ValueError(
            f"unknown encoding {name!r}; the bundled encodings are {list_encoding_names()}"
        )
    core = _core.CoreEncoder.from_tiktoken(
        spec.rank_file.read(), BUILTIN_PATTERNS[spec.pat_str], list(spec.special_tokens.items())
    )
    encoding = Encoding._from_core(
        name, spec.pat_str, core, spec.special_tokens, spec.explicit_n_vocab
    )
    encoding._recipe = functools.partial(get_encoding, name)
    return encoding
