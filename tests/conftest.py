"""Shared fixtures: the data beside the repository, and reference tokenizers built offline."""

from __future__ import annotations

import functools
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def find_shared_dir() -> pathlib.Path:
    """Return the shared data folder: $TOKENOMIX_SHARED, else ../shared beside the repo."""
    path = pathlib.Path(os.environ.get("TOKENOMIX_SHARED", REPO.parent / "shared"))
    if not (path / "corpus").is_dir():
        raise RuntimeError(
            f"shared test data not found at {path}; set TOKENOMIX_SHARED to the folder that "
            "holds corpus/, vocab/, cases/ and traces/"
        )
    return path


SHARED = find_shared_dir()


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    return SHARED


@functools.cache
def reference_encoding(name: str):
    """The tiktoken Encoding of a bundled encoding, built from the shared rank files."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    from tokenomix.vocab.openai import ENCODINGS

    spec = ENCODINGS[name]
    ranks = load_tiktoken_bpe(str(SHARED / "vocab" / "openai" / f"{spec.rank_file.name}.tiktoken"))
    return tiktoken.Encoding(
        name,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=spec.special_tokens,
        explicit_n_vocab=spec.explicit_n_vocab,
    )
