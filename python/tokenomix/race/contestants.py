"""Every exact token counter we race, built offline, and how each one is called.

A contestant counts a list of texts and returns one count per text, in up to three ways:
- `single`: on one thread (its fastest single-thread call: a count-only or batch API with one
  thread where it has one, else a loop over its tiktoken-like `encode_ordinary`);
- `parallel`: a batch on every core, where the library has a multi-threaded batch call;
- `document_parallel`: one long document spread over every core, where it can do that.

Builders never touch the network: vocabularies come from a local tiktoken rank file (or are
bundled in the library itself, which parity then checks). A counter that cannot be imported or
built raises `Unavailable` with the reason, which reports print.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import importlib
import os
import pathlib
import tempfile
import warnings
from collections.abc import Callable, Sequence

from tokenomix.race.hf_json import CL100K_PATTERN_PLAIN, tokenizer_json
from tokenomix.vocab.openai import CL100K_PATTERN

Counter = Callable[[Sequence[str]], Sequence[int]]

MODES = ("single", "parallel", "document_parallel")


class Unavailable(Exception):
    """A contestant cannot run here; the message says why."""


class VocabSource:
    """One encoding's rank file on disk, with its split pattern and special tokens."""

    def __init__(
        self, name: str, rank_path: pathlib.Path, pat_str: str, special_tokens: dict[str, int]
    ) -> None:
        self.name = name
        self.rank_path = pathlib.Path(rank_path)
        self.pat_str = pat_str
        self.special_tokens = dict(special_tokens)

    @functools.cached_property
    def ranks(self) -> dict[bytes, int]:
        """The rank of every token's bytes, parsed from the file."""
        ranks = {}
        for line in self.rank_path.read_bytes().splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
        return ranks

    @functools.cached_property
    def tokenizer_json_path(self) -> pathlib.Path:
        """A Hugging Face `tokenizer.json` equivalent to this encoding, written once."""
        pattern = CL100K_PATTERN_PLAIN if self.pat_str == CL100K_PATTERN else self.pat_str
        folder = pathlib.Path(tempfile.mkdtemp(prefix="tokenomix-race-"))
        path = folder / f"{self.name}.tokenizer.json"
        path.write_text(tokenizer_json(self.ranks, pattern), encoding="utf-8")
        return path


@dataclasses.dataclass
class Contestant:
    """One counter, ready to race.

    `calls` maps each supported mode to (a description of the call, the counter).
    `max_chars`: the longest text it accepts, if it refuses longer ones.
    `known_inexact`: what it is known to count differently from tiktoken, if anything.
    """

    name: str
    package: str
    calls: dict[str, tuple[str, Counter]]
    max_chars: int | None = None
    known_inexact: str | None = None

    def supports(self, mode: str) -> bool:
        return mode in self.calls

    def counter(self, mode: str) -> Counter:
        return self.calls[mode][1]

    def call(self, mode: str) -> str:
        return self.calls[mode][0]


def _import(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise Unavailable(f"not installed (pip install {package}): {error}") from error


def _lengths(encoded) -> list[int]:
    return [len(ids) for ids in encoded]


def cores() -> int:
    """The number of cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _tokenomix(source: VocabSource) -> Contestant:
    from tokenomix import _core
    from tokenomix.registry import get_encoding

    enc = get_encoding(source.name)
    calls = {
        "single": (
            "enc.count_batch(texts, num_threads=1)",
            lambda texts: enc.count_batch(texts, num_threads=1),
        ),
        "parallel": ("enc.count_batch(texts)", lambda texts: enc.count_batch(texts)),
    }
    if hasattr(_core, "count_buffer"):
        calls["document_parallel"] = (
            "_core.count_buffer(enc._core, text.encode(), None), as tokenomix count does",
            lambda texts: [_core.count_buffer(enc._core, t.encode("utf-8"), None) for t in texts],
        )
    return Contestant("tokenomix", "tokenomix", calls)


def _tokenomix_count(source: VocabSource) -> Contestant:
    from tokenomix.registry import _load

    # An encoding of its own: the two tokenomix rows count the same slices, and with one
    # encoding the second would find the first one's pieces in its cache.
    enc = _load(source.name)
    single = ("[enc.count(t) for t in texts]", lambda texts: [enc.count(t) for t in texts])
    return Contestant("tokenomix count", "tokenomix", {"single": single})


def _tiktoken(source: VocabSource) -> Contestant:
    tiktoken = _import("tiktoken", "tiktoken")
    enc = tiktoken.Encoding(
        source.name,
        pat_str=source.pat_str,
        mergeable_ranks=source.ranks,
        special_tokens=source.special_tokens,
    )
    threads = cores()
    calls = {
        "single": (
            "[len(enc.encode_ordinary(t)) for t in texts]",
            lambda texts: [len(enc.encode_ordinary(t)) for t in texts],
        ),
        "parallel": (
            f"encode_ordinary_batch(texts, num_threads={threads})",
            lambda texts: _lengths(enc.encode_ordinary_batch(texts, num_threads=threads)),
        ),
    }
    return Contestant("tiktoken", "tiktoken", calls)


def _tokenizers(source: VocabSource) -> Contestant:
    tokenizers = _import("tokenizers", "tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(source.tokenizer_json_path))
    calls = {
        "single": (
            "[len(tok.encode(t, add_special_tokens=False)) for t in texts]",
            lambda texts: [len(tok.encode(t, add_special_tokens=False)) for t in texts],
        ),
        "parallel": (
            "tok.encode_batch(texts, add_special_tokens=False)",
            lambda texts: _lengths(tok.encode_batch(texts, add_special_tokens=False)),
        ),
    }
    return Contestant("tokenizers", "tokenizers", calls)


def _fastokens(source: VocabSource) -> Contestant:
    fastokens = _import("fastokens", "fastokens")
    import numpy as np

    tok = fastokens.Tokenizer.from_tiktoken(
        str(source.rank_path),
        pattern=source.pat_str,
        special_tokens=source.special_tokens,
        encoding=source.name,
    )

    def batch(texts):
        _, offsets = tok.encode_batch_flat(list(texts), split_special_tokens=True)
        return np.diff(np.frombuffer(offsets, np.uint64)).tolist()

    calls = {
        "single": (
            "[len(tok.encode_ordinary(t)) for t in texts]",
            lambda texts: [len(tok.encode_ordinary(t)) for t in texts],
        ),
        "parallel": ("tok.encode_batch_flat(texts, split_special_tokens=True)", batch),
    }
    return Contestant("fastokens", "fastokens", calls)


def _toktok(source: VocabSource) -> Contestant:
    toktok = _import("toktok", "toktok-rs")
    name = source.name
    toktok.batch_count(["warm up"], name, 1)
    calls = {
        "single": (
            f"toktok.batch_count(texts, {name!r}, 1)",
            lambda texts: toktok.batch_count(texts, name, 1),
        ),
        "parallel": (
            f"toktok.batch_count(texts, {name!r}, 0)",
            lambda texts: toktok.batch_count(texts, name, 0),
        ),
    }
    return Contestant("toktok-rs", "toktok-rs", calls)


def _quicktok(source: VocabSource) -> Contestant:
    quicktok = _import("quicktok", "quicktok-v1")
    enc = quicktok.get_encoding(source.name)
    calls = {
        "single": ("[enc.count(t) for t in texts]", lambda texts: [enc.count(t) for t in texts]),
        "parallel": (
            "quicktok.count_batch(enc, texts, threads=0)",
            lambda texts: quicktok.count_batch(enc, texts, threads=0),
        ),
    }
    return Contestant("quicktok", "quicktok-v1", calls)


def _riptoken(source: VocabSource) -> Contestant:
    riptoken = _import("riptoken", "riptoken")
    core = riptoken.CoreBPE(source.ranks, source.special_tokens, source.pat_str)
    calls = {
        "single": (
            "[len(core.encode_ordinary(t)) for t in texts]",
            lambda texts: [len(core.encode_ordinary(t)) for t in texts],
        ),
        "parallel": (
            "core.encode_ordinary_batch(texts)",
            lambda texts: _lengths(core.encode_ordinary_batch(list(texts))),
        ),
    }
    return Contestant("riptoken", "riptoken", calls)


def _rs_bpe(source: VocabSource) -> Contestant:
    openai = _import("rs_bpe.bpe", "rs-bpe").openai
    tok = getattr(openai, source.name, None)
    if tok is None:
        raise Unavailable(f"rs-bpe bundles no {source.name}")
    tok = tok()
    threads = cores()
    # (min_batch_size, chunk_size, max_threads)
    options = openai.ParallelOptions(1, 1, threads)
    calls = {
        "single": ("[tok.count(t) for t in texts]", lambda texts: [tok.count(t) for t in texts]),
        "parallel": (
            f"tok.encode_batch_parallel(texts, ParallelOptions(1, 1, {threads}))",
            lambda texts: _lengths(tok.encode_batch_parallel(list(texts), options)[0]),
        ),
    }
    return Contestant("rs-bpe", "rs-bpe", calls)


def _bpe_openai(source: VocabSource) -> Contestant:
    bpe_openai = _import("bpe_openai", "bpe-openai")
    enc = bpe_openai.get_encoding(source.name)
    threads = cores()
    calls = {
        "single": (
            "[len(enc.encode_ordinary(t)) for t in texts]",
            lambda texts: [len(enc.encode_ordinary(t)) for t in texts],
        ),
        "parallel": (
            f"enc.encode_ordinary_batch(texts, num_threads={threads})",
            lambda texts: _lengths(enc.encode_ordinary_batch(texts, num_threads=threads)),
        ),
    }
    return Contestant("bpe-openai", "bpe-openai", calls, max_chars=999_999)


def _kitoken(source: VocabSource) -> Contestant:
    kitoken = _import("kitoken", "kitoken")
    tok = kitoken.Kitoken.from_tiktoken_file(str(source.rank_path))
    calls = {
        "single": (
            "[len(tok.encode(t, False)) for t in texts]",
            lambda texts: [len(tok.encode(t, False)) for t in texts],
        ),
        "parallel": (
            "tok.encode_all(texts, False)",
            lambda texts: _lengths(tok.encode_all(list(texts), False)),
        ),
    }
    return Contestant(
        "kitoken",
        "kitoken",
        calls,
        known_inexact="splits some text around special-token-like strings differently",
    )


def _tokie(source: VocabSource) -> Contestant:
    tokie = _import("tokie", "tokie")
    tok = tokie.Tokenizer.from_json(str(source.tokenizer_json_path))
    calls = {
        "single": (
            "[tok.count_tokens(t) for t in texts]",
            lambda texts: [tok.count_tokens(t) for t in texts],
        ),
        "parallel": (
            "tok.count_tokens_batch(texts)",
            lambda texts: tok.count_tokens_batch(list(texts)),
        ),
    }
    return Contestant(
        "tokie",
        "tokie",
        calls,
        known_inexact="tabs before punctuation, ZWJ emoji sequences, long runs of whitespace",
    )


def _wordchipper(source: VocabSource) -> Contestant:
    wordchipper = _import("wordchipper", "wordchipper")
    # wordchipper reads its rank files from $XDG_CACHE_HOME/io.crates.wordchipper and, when
    # the file is missing and the network is not there, silently counts one token per byte.
    # Point it at a folder that holds a link to the local rank file.
    cache = pathlib.Path(tempfile.mkdtemp(prefix="tokenomix-race-wordchipper-"))
    folder = cache / "io.crates.wordchipper" / "openai" / source.name
    folder.mkdir(parents=True)
    (folder / f"{source.name}.tiktoken").symlink_to(source.rank_path.resolve())
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        tokenizers = {}
        for parallel in (False, True):
            options = wordchipper.TokenizerOptions.default()
            options.set_parallel(parallel)
            tokenizers[parallel] = wordchipper.Tokenizer.from_pretrained(source.name, options)
    finally:
        if saved is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = saved
    if len(tokenizers[False].encode("hello world")) != 2:
        raise Unavailable("wordchipper fell back to one token per byte: no local rank file")
    none = wordchipper.SpecialFilter.include_none()
    one, many = tokenizers[False], tokenizers[True]
    calls = {
        "single": (
            "[len(tok.encode(t, SpecialFilter.include_none())) for t in texts]",
            lambda texts: [len(one.encode(t, none)) for t in texts],
        ),
        "parallel": (
            "tok.encode_batch(texts, SpecialFilter.include_none()), parallel=True",
            lambda texts: _lengths(many.encode_batch(list(texts), none)),
        ),
    }
    return Contestant("wordchipper", "wordchipper", calls)


def _splintr(source: VocabSource) -> Contestant:
    splintr = _import("splintr", "splintr-rs")
    tok = splintr.Tokenizer.from_pretrained(source.name)
    # Its multi-threaded calls (encode_batch, encode_rayon) read "<|endoftext|>" in text as the
    # special token, as `encode` does; only encode_ordinary counts ordinary text, on one thread.
    calls = {
        "single": (
            "[len(tok.encode_ordinary(t)) for t in texts]",
            lambda texts: [len(tok.encode_ordinary(t)) for t in texts],
        ),
    }
    return Contestant("splintr-rs", "splintr-rs", calls)


BUILDERS: dict[str, Callable[[VocabSource], Contestant]] = {
    "tiktoken": _tiktoken,
    "tokenomix": _tokenomix,
    "tokenomix count": _tokenomix_count,
    "fastokens": _fastokens,
    "toktok-rs": _toktok,
    "quicktok": _quicktok,
    "riptoken": _riptoken,
    "rs-bpe": _rs_bpe,
    "wordchipper": _wordchipper,
    "bpe-openai": _bpe_openai,
    "splintr-rs": _splintr,
    "kitoken": _kitoken,
    "tokie": _tokie,
    "tokenizers": _tokenizers,
}


def contestant_names() -> list[str]:
    """Return every contestant's name, the reference (tiktoken) first."""
    return list(BUILDERS)


def build_contestants(
    source: VocabSource, names: Sequence[str] | None = None
) -> tuple[dict[str, Contestant], dict[str, str]]:
    """Build the named contestants (all by default) for one encoding.

    Returns:
        The contestants that could be built, by name, and the reason for each that could not.
    """
    built, skipped = {}, {}
    for name in names or contestant_names():
        if name not in BUILDERS:
            skipped[name] = f"unknown contestant; the known ones are {contestant_names()}"
            continue
        try:
            with warnings.catch_warnings():
                # Some peers import deprecated APIs; their warnings are not ours to report.
                warnings.simplefilter("ignore", DeprecationWarning)
                built[name] = BUILDERS[name](source)
        except Unavailable as error:
            skipped[name] = str(error)
        except Exception as error:  # a peer library's own failure is reported, not raised
            skipped[name] = f"failed to build: {type(error).__name__}: {error}"
    return built, skipped
