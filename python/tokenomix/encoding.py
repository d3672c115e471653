"""The public Encoding: tiktoken's API over the native engine, plus counting."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Sequence
from typing import Literal

import numpy as np

from tokenomix import _core
from tokenomix.vocab.ids import check_ids
from tokenomix.vocab.openai import BUILTIN_PATTERNS

AllowedSpecial = Literal["all"] | Collection[str]
DisallowedSpecial = Literal["all"] | Collection[str]


def _repair_surrogates(text: str) -> str:
    # Lone surrogates cannot be UTF-8 encoded. tiktoken round-trips such text through UTF-16,
    # which joins valid surrogate pairs and turns the rest into U+FFFD; do the same, so that
    # the ids agree. Lossy by design.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class Encoding:
    """A byte-level BPE encoding with tiktoken's interface, counting included.

    Build one with `tokenomix.get_encoding` or `tokenomix.encoding_for_model`, or from your
    own ranks with the constructor (tiktoken's signature). All methods are thread-safe.
    Encodings pickle, so they can be handed to a process pool (see `__reduce__`).

    >>> import tokenomix
    >>> enc = tokenomix.get_encoding("o200k_base")
    >>> enc.encode("hello world")
    [24912, 2375]
    >>> enc.count("hello world")
    2
    """

    def __init__(
        self,
        name: str,
        *,
        pat_str: str,
        mergeable_ranks: dict[bytes, int],
        special_tokens: dict[str, int],
        explicit_n_vocab: int | None = None,
    ) -> None:
        """Build an encoding from ranks, as `tiktoken.Encoding` does.

        Args:
            name: the name reported by `name`.
            pat_str: the split pattern; one of the patterns of r50k, cl100k or o200k.
            mergeable_ranks: the rank of every token's bytes.
            special_tokens: the id of every special token.
            explicit_n_vocab: if given, the number of ranks and special tokens together.

        Raises:
            ValueError: the pattern has no built-in pre-tokenizer, a rank is shared or out of
                range (see `tokenomix.vocab.ids`), a byte has no token, or `explicit_n_vocab`
                does not match.
        """
        scanner = _scanner_for(pat_str)
        check_ids(mergeable_ranks, "token", "")
        check_ids(special_tokens, "special token", "")
        core = _core.CoreEncoder.from_ranks(mergeable_ranks, scanner, list(special_tokens.items()))
        self._init(name, pat_str, core, special_tokens, explicit_n_vocab)
        self._recipe = functools.partial(
            type(self),
            name,
            pat_str=pat_str,
            mergeable_ranks=mergeable_ranks,
            special_tokens=dict(special_tokens),
            explicit_n_vocab=explicit_n_vocab,
        )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        model: str | None = None,
        pattern: str | None = None,
        special_tokens: dict[str, int] | None = None,
        name: str | None = None,
    ) -> Encoding:
        """Load the encoding of an open model from its tokenizer file (never the network).

        Reads a Hugging Face tokenizer.json with a byte-level BPE model (the result is a
        `tokenomix.hf_encoding.HfEncoding`: see there how `tokenizers`' added tokens map onto
        this API), a Mistral Tekken file, or a tiktoken rank file; gzip-compressed or not.
        A rank file needs its split pattern and special tokens: from `model`, a name of
        `tokenomix.vocab.open_models.OPEN_MODELS`, or from `pattern` (a name such as
        "llama3", or the regex) and `special_tokens`. Meta's Llama 3 rank file is
        recognised by its contents.

        Args:
            path: the file, or a folder holding a tokenizer.json (a model's snapshot).
            model: for a rank file, the model whose pattern and special tokens to use.
            pattern: for a rank file, the split pattern (overrides the model's).
            special_tokens: for a rank file, the id of each special token.
            name: the name reported by `name`; by default the model, the file name, or the
                folder's name.

        Raises:
            FileNotFoundError: no such file, or a folder without a tokenizer.json.
            ValueError: the file is malformed or uses something tokenomix does not run (the
                message names it), or `model`, `pattern` or `special_tokens` is given for a
                JSON file, which holds its own.
            ImportError: the tokenizer.json needs the `tokenizers` package (for a split
                pattern without a built-in pre-tokenizer), which is not installed.
            KeyError: `model` is not a known model.

        >>> enc = tokenomix.Encoding.from_file("llama3_1.tokenizer.json")
        >>> enc.encode("hello world")
        [15339, 1917]
        """
        from tokenomix.vocab.files import load_file, tokenizer_path  # they import this module

        given = os.fspath(path)
        path = tokenizer_path(given)
        if name is None and path != given:  # a snapshot folder: its name is the model's
            name = os.path.basename(os.path.normpath(given))
        encoding = load_file(
            path, model=model, pattern=pattern, special_tokens=special_tokens, name=name
        )
        specials = tuple(special_tokens.items()) if special_tokens is not None else None
        file = os.stat(path)
        encoding._recipe = functools.partial(
            _reload_file,
            os.path.abspath(path),
            (encoding.name, model, pattern, specials, file.st_mtime_ns, file.st_size),
        )
        return encoding

    @classmethod
    def _from_core(
        cls,
        name: str,
        pat_str: str,
        core: _core.CoreEncoder,
        special_tokens: dict[str, int],
        explicit_n_vocab: int | None = None,
    ) -> Encoding:
        encoding = cls.__new__(cls)
        encoding._init(name, pat_str, core, special_tokens, explicit_n_vocab)
        return encoding

    def _init(
        self,
        name: str,
        pat_str: str,
        core: _core.CoreEncoder,
        special_tokens: dict[str, int],
        explicit_n_vocab: int | None,
    ) -> None:
        self.name = name
        self._pat_str = pat_str
        self._core = core
        self._special_tokens = dict(special_tokens)
        self._recipe: Callable[[], Encoding] | None = None
        self.max_token_value = core.rank_limit - 1
        if explicit_n_vocab is not None:
            total = core.vocab_size + len(set(special_tokens.values()))
            if total != explicit_n_vocab or self.max_token_value != explicit_n_vocab - 1:
                raise ValueError(
                    f"explicit_n_vocab={explicit_n_vocab} but the encoding has {total} tokens "
                    f"and a largest id of {self.max_token_value}"
                )

    def __repr__(self) -> str:
        return f"<Encoding {self.name!r}>"

    def __reduce__(self) -> tuple[Callable[[], Encoding], tuple[()]]:
        """Pickle as the call that made this encoding, as tiktoken does.

        A bundled encoding pickles as its name and unpickles through `get_encoding`; one built
        with the constructor pickles its arguments; one from `from_file` pickles the file's
        absolute path and the options, and unpickling reads the file again, so it must still
        be there.
        """
        if self._recipe is None:
            raise TypeError(f"cannot pickle {self!r}: it was not made by a public constructor")
        return self._recipe, ()

    # Properties --------------------------------------------------------------------------

    @property
    def n_vocab(self) -> int:
        """One more than the largest token id, special tokens included."""
        return self.max_token_value + 1

    @property
    def eot_token(self) -> int:
        """The id of `<|endoftext|>`."""
        return self._special_tokens["<|endoftext|>"]

    @property
    def special_tokens_set(self) -> set[str]:
        """The text of every special token."""
        return set(self._special_tokens)

    # Encoding ----------------------------------------------------------------------------

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode text, reading special-token text as ordinary text.

        >>> tokenomix.get_encoding("cl100k_base").encode_ordinary("<|endoftext|>")
        [27, 91, 8862, 728, 428, 91, 29]
        """
        try:
            return self._core.encode_ordinary(text)
        except UnicodeEncodeError:
            return self._core.encode_ordinary(_repair_surrogates(text))

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: DisallowedSpecial = "all",
    ) -> list[int]:
        """Encode text, with tiktoken's rules for special tokens.

        Special-token text named in `allowed_special` becomes its special token. Text that
        matches a token of `disallowed_special` (by default every special token not allowed)
        raises, because it usually means untrusted text is about to be read as a control
        token; any other special-token text is encoded as ordinary text.

        Raises:
            ValueError: the text contains a disallowed special token.
        """
        allowed = self._allowed(allowed_special)
        if disallowed_special == "all":
            disallowed = self.special_tokens_set - allowed
        else:
            disallowed = set(disallowed_special)
        try:
            self._check_disallowed(text, disallowed)
            return self._core.encode(text, allowed)
        except UnicodeEncodeError:
            text = _repair_surrogates(text)
            self._check_disallowed(text, disallowed)
            return self._core.encode(text, allowed)

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """Return the id of a text that is exactly one token, special tokens included.

        Raises:
            KeyError: the text is not a single token.
        """
        if isinstance(text_or_bytes, str):
            if text_or_bytes in self._special_tokens:
                return self._special_tokens[text_or_bytes]
            text_or_bytes = text_or_bytes.encode("utf-8")
        rank = self._core.vocab_rank(text_or_bytes)
        if rank is None:
            raise KeyError(text_or_bytes)
        return rank

    def count(self, text: str) -> int:
        """Return the number of tokens of `encode_ordinary(text)`, without building them.

        >>> tokenomix.get_encoding("o200k_base").count("hello world")
        2
        """
        try:
            return self._core.count(text)
        except UnicodeEncodeError:
            return self._core.count(_repair_surrogates(text))

    # Batches -----------------------------------------------------------------------------

    def count_batch(self, texts: Sequence[str], *, num_threads: int | None = None) -> np.ndarray:
        """Count the tokens of many texts on several threads.

        Args:
            texts: a sequence of str, a NumPy array of str, or an Arrow string column (any
                object with `__arrow_c_array__` or `__arrow_c_stream__`: pyarrow arrays and
                chunked arrays, polars and pandas string columns), read in place; a null
                counts as an empty text.
            num_threads: threads to use; None uses every core.

        Returns:
            An int64 array with the count of `encode_ordinary` of each text.
        """
        return _core.count_batch(self._core, _as_sequence(texts), num_threads)

    def encode_ordinary_batch(
        self, texts: Sequence[str], *, num_threads: int | None = None
    ) -> list[list[int]]:
        """Encode many texts as ordinary text, on several threads."""
        return _core.encode_batch(self._core, _as_sequence(texts), num_threads, None)

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int | None = None,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: DisallowedSpecial = "all",
    ) -> list[list[int]]:
        """Encode many texts on several threads, with the special-token rules of `encode`.

        Raises:
            ValueError: a text contains a disallowed special token; nothing is encoded.
        """
        allowed = self._allowed(allowed_special)
        if disallowed_special == "all":
            disallowed = self.special_tokens_set - allowed
        else:
            disallowed = set(disallowed_special)
        specials = [token for token, _ in self._core.special_tokens]
        return _core.encode_batch(
            self._core,
            _as_sequence(texts),
            num_threads,
            [token in allowed for token in specials],
            [token in disallowed for token in specials],
            sorted(disallowed - self.special_tokens_set),
        )

    # Decoding ----------------------------------------------------------------------------

    def decode_bytes(self, tokens: Sequence[int]) -> bytes:
        """Return the bytes of a list of ids.

        Raises:
            KeyError: an id is not a token.
        """
        try:
            return self._core.decode_bytes(tokens)
        except TypeError:
            _check_ids(tokens)
            raise

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        """Return the text of a list of ids; invalid UTF-8 is handled by `errors`.

        Raises:
            KeyError: an id is not a token.
        """
        return self.decode_bytes(tokens).decode("utf-8", errors=errors)

    def decode_single_token_bytes(self, token: int) -> bytes:
        """Return the bytes of one id.

        Raises:
            KeyError: the id is not a token.
        """
        if not 0 <= token < 2**32:
            raise KeyError(token)
        return self._core.token_bytes(token)

    def decode_tokens_bytes(self, tokens: Sequence[int]) -> list[bytes]:
        """Return the bytes of each id."""
        return [self.decode_single_token_bytes(token) for token in tokens]

    def decode_batch(self, batch: Sequence[Sequence[int]], errors: str = "replace") -> list[str]:
        """Decode several lists of ids."""
        return [self.decode(tokens, errors=errors) for tokens in batch]

    # Helpers -----------------------------------------------------------------------------

    def _allowed(self, allowed_special: AllowedSpecial) -> set[str]:
        if allowed_special == "all":
            return self.special_tokens_set
        return set(allowed_special)

    def _check_disallowed(self, text: str, disallowed: set[str]) -> None:
        if not disallowed:
            return
        found = self._core.find_special(text, disallowed)
        # Strings that are not special tokens of this encoding are searched for as given.
        if found is None:
            found = next((s for s in disallowed - self.special_tokens_set if s in text), None)
        if found is not None:
            raise ValueError(
                f"text contains the special token {found!r}, which is disallowed. Pass it in "
                f"allowed_special to encode it as the special token, or leave it out of "
                f"disallowed_special (e.g. disallowed_special=()) to encode it as plain text."
            )


@functools.lru_cache(maxsize=8)
def _reload_file(
    path: str, options: tuple[str, str | None, str | None, tuple | None, int, int]
) -> Encoding:
    # Unpickle an encoding of Encoding.from_file. A process pool unpickles the encoding
    # with every task it is handed: the file is read once per process and version of it.
    name, model, pattern, specials, _, _ = options
    return Encoding.from_file(
        path,
        model=model,
        pattern=pattern,
        special_tokens=dict(specials) if specials is not None else None,
        name=name,
    )


def _scanner_for(pat_str: str) -> str:
    try:
        return BUILTIN_PATTERNS[pat_str]
    except KeyError:
        raise ValueError(
            "pat_str is not one of the split patterns with a built-in pre-tokenizer "
            "(those of r50k_base, p50k_base, cl100k_base and o200k_base, as tiktoken 0.14 "
            "spells them)"
        ) from None


def _as_sequence(texts: Sequence[str] | np.ndarray) -> Sequence[str]:
    # Arrow columns (pyarrow, polars, pandas) go to the native layer as they are, which reads
    # their buffers in place through the Arrow PyCapsule interface.
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not a single str")
    if hasattr(texts, "__arrow_c_stream__") or hasattr(texts, "__arrow_c_array__"):
        return texts
    if isinstance(texts, np.ndarray):
        return texts.tolist()
    if isinstance(texts, (list, tuple)):
        return texts
    return list(texts)


def _check_ids(tokens: Sequence[int]) -> None:
    # Called once the native conversion failed, to say which id was at fault.
    for token in tokens:
        if not isinstance(token, (int, np.integer)):
            raise TypeError(f"token ids must be int, found {type(token).__name__}")
        if not 0 <= token < 2**32:
            raise KeyError(token)
