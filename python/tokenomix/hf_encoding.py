"""Encodings read from a Hugging Face tokenizer.json: tiktoken's API over the `tokenizers`
pipeline (added tokens, normalizer, pre-tokenizer, byte-level BPE, post-processor).

How the two libraries' words map onto this API:

- `encode(text, allowed_special="all")` is `tokenizers`' `encode(text,
  add_special_tokens=False).ids`: every added token is matched in the text.
- `encode_ordinary(text)`, `count(text)` and the default `encode(text)` read the text of
  special added tokens as ordinary text, as `tokenizers` does with `split_special_tokens=True`
  (tiktoken's rule for special tokens); added tokens that are not special (Qwen's
  `<tool_call>`, for one) are still matched, as `tokenizers` always matches them.
- `encode(text, allowed_special=...)` with some special tokens matches those and reads the
  others as text; by default (`disallowed_special="all"`) text holding a special token that is
  not allowed raises, as in tiktoken.
- `add_special_tokens=True` (encode, count and their batch forms) adds what the
  post-processor adds to a single text, such as Llama 3's `<|begin_of_text|>`.

Speed: a native screen (tokenomix._core.TextScreen) finds, at memory speed on every core,
the texts that hold an added token to be matched or a character the normalizer may change.
The others go to the engine as they are; those that need a Unicode normalization (NFC, NFD,
NFKC, NFKD) are normalized natively, and those with added tokens are cut at them natively
when the tokens match in the raw text without `lstrip`, `rstrip` or `single_word` (the
tokens of real models), all in one native call. Other texts are cut here, and each part is
normalized and handed to the engine. A normalizer or pre-tokenizer that runs through the
`tokenizers` package sends every text here.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence

import numpy as np

from tokenomix import _core
from tokenomix.encoding import (
    AllowedSpecial,
    DisallowedSpecial,
    Encoding,
    _as_sequence,
    _repair_surrogates,
)
from tokenomix.vocab.added_tokens import AddedToken, Matcher
from tokenomix.vocab.hf import HfTokenizer
from tokenomix.vocab.hf_unicode import normalizer

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclasses.dataclass(frozen=True)
class _Selection:
    """Which added tokens become tokens, and the native screen that flags the texts that
    hold one of them or that the normalizer may change (None: every text is flagged)."""

    keep: Callable[[AddedToken], bool]
    screen: _core.TextScreen | None
    # No text is ever flagged but for lone surrogates, which the engine repairs alike.
    trivial: bool


class HfEncoding(Encoding):
    """An encoding read from a Hugging Face tokenizer.json (see `Encoding.from_file`).

    It has every method of `Encoding`; the module docstring tells how `tokenizers`' added
    tokens and special tokens map onto them. `encode`, `count`, `encode_batch` and
    `count_batch` also take `add_special_tokens` (default False) to add what the file's
    post-processor adds, as `tokenizers`' `encode(text, add_special_tokens=True)` does.
    Lone surrogates are replaced as for every Encoding (U+FFFD), where `tokenizers` raises.
    """

    @classmethod
    def _from_tokenizer(cls, name: str, tokenizer: HfTokenizer) -> HfEncoding:
        specials = {t.content: t.id for t in tokenizer.added_tokens if t.special}
        encoding = cls._from_core(name, tokenizer.pre_tokenizer.pattern, tokenizer.core, specials)
        encoding._setup(tokenizer)
        return encoding

    def _setup(self, tokenizer: HfTokenizer) -> None:
        self._added = {t.content: t for t in tokenizer.added_tokens}
        raw = [t for t in tokenizer.added_tokens if not t.normalized and t.pattern]
        normalized = [t for t in tokenizer.added_tokens if t.normalized and t.pattern]
        self._raw = Matcher(raw, self.name)
        self._normalized = Matcher(normalized, self.name)
        # The engine cuts text at added tokens itself when all match in the raw text.
        self._raw_tokens = None if normalized else raw
        self._normalizer = tokenizer.normalizer
        self._pre = tokenizer.pre_tokenizer
        self._post = tokenizer.post_processor
        self._native_normalizer = None
        if self._normalizer is not None and self._normalizer.forms:
            self._native_normalizer = normalizer(self._normalizer.forms)
        self._selections: dict[frozenset[str], _Selection] = {}
        self._ordinary = self._selection(frozenset())
        self._disallowed_searches: dict[frozenset[str], re.Pattern[str]] = {}

    # Properties --------------------------------------------------------------------------

    @property
    def added_tokens(self) -> dict[str, int]:
        """The id of every added token, special or not, by its text."""
        return {content: token.id for content, token in self._added.items()}

    # Encoding ----------------------------------------------------------------------------

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode text, reading special added tokens as text (non-special ones still match).

        >>> enc.encode_ordinary("<|begin_of_text|>hi")  # Llama 3's tokenizer.json
        [27, 91, 7413, 3659, 4424, 91, 29, 6151]
        """
        return self._encode_many([text], self._ordinary, 1)[0]

    def count(self, text: str, *, add_special_tokens: bool = False) -> int:
        """Return the number of tokens of `encode_ordinary(text)`, plus the post-processor's
        tokens when `add_special_tokens` is set."""
        count = int(self._count_many([text], self._ordinary, 1)[0])
        return count + (self._post_count() if add_special_tokens else 0)

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: DisallowedSpecial = "all",
        add_special_tokens: bool = False,
    ) -> list[int]:
        """Encode text; `allowed_special="all"` gives `tokenizers`' ids.

        Special added tokens named in `allowed_special` are matched; the text of any other
        raises if `disallowed_special` names it (by default, all that are not allowed) and
        is read as text otherwise. Added tokens that are not special always match.

        Raises:
            ValueError: the text contains a disallowed special token.
        """
        selection, disallowed = self._special_rules(allowed_special, disallowed_special)
        self._check_disallowed(_clean(text), disallowed)
        ids = self._encode_many([text], selection, 1)[0]
        return self._post_process(ids) if add_special_tokens else ids

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """Return the id of an added token's text, or of bytes that are one token.

        Raises:
            KeyError: the text is not a single token.
        """
        if isinstance(text_or_bytes, str) and text_or_bytes in self._added:
            return self._added[text_or_bytes].id
        return super().encode_single_token(text_or_bytes)

    # Batches -----------------------------------------------------------------------------

    def count_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int | None = None,
        add_special_tokens: bool = False,
    ) -> np.ndarray:
        """Count the tokens of many texts on several threads (see `Encoding.count_batch`)."""
        extra = self._post_count() if add_special_tokens else 0
        if self._ordinary.trivial:  # Arrow columns go to the engine in place
            return super().count_batch(texts, num_threads=num_threads) + extra
        return self._count_many(_as_strings(texts), self._ordinary, num_threads) + extra

    def encode_ordinary_batch(
        self, texts: Sequence[str], *, num_threads: int | None = None
    ) -> list[list[int]]:
        """Encode many texts as `encode_ordinary` does, on several threads."""
        return self._encode_many(_as_strings(texts), self._ordinary, num_threads)

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int | None = None,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: DisallowedSpecial = "all",
        add_special_tokens: bool = False,
    ) -> list[list[int]]:
        """Encode many texts as `encode` does, on several threads.

        Raises:
            ValueError: a text contains a disallowed special token; nothing is encoded.
        """
        texts = _as_strings(texts)
        selection, disallowed = self._special_rules(allowed_special, disallowed_special)
        for i, text in enumerate(texts):
            self._check_disallowed(_clean(text), disallowed, index=i)
        ids = self._encode_many(texts, selection, num_threads)
        return [self._post_process(i) for i in ids] if add_special_tokens else ids

    # Special tokens ----------------------------------------------------------------------

    def _selection(self, allowed: frozenset[str]) -> _Selection:
        """The selection that keeps the non-special added tokens and the allowed specials."""
        selection = self._selections.get(allowed)
        if selection is None:

            def keep(token: AddedToken) -> bool:
                return not token.special or token.content in allowed

            needles = [t.pattern for t in self._added.values() if keep(t) and t.pattern]
            native = self._pre.scanner is not None
            normalizes = self._normalizer is not None
            screen = None
            if native and (not normalizes or self._native_normalizer is not None):
                screen = _core.TextScreen(needles, self._native_normalizer, self._cuts(keep))
            trivial = native and not normalizes and not needles and not self._pre.add_prefix_space
            selection = self._selections[allowed] = _Selection(keep, screen, trivial)
        return selection

    def _cuts(self, keep: Callable[[AddedToken], bool]) -> list[tuple[str, int]]:
        """The added tokens the engine may cut text at for a selection (see TextScreen), or
        none when tokenizers' rules for them are not all the engine's: `normalized` tokens,
        or kept ones with `lstrip`, `rstrip` or `single_word`."""
        raw = self._raw_tokens
        if raw is None or any(t.lstrip or t.rstrip or t.single_word for t in raw if keep(t)):
            return []
        return [(t.pattern, t.id if keep(t) else -1) for t in raw]

    def _special_rules(
        self, allowed_special: AllowedSpecial, disallowed_special: DisallowedSpecial
    ) -> tuple[_Selection, set[str]]:
        allowed = self._allowed(allowed_special)
        if disallowed_special == "all":
            disallowed = self.special_tokens_set - allowed
        else:
            disallowed = set(disallowed_special)
        return self._selection(frozenset(allowed & self.special_tokens_set)), disallowed

    def _check_disallowed(self, text: str, disallowed: set[str], index: int | None = None) -> None:
        # Plain substring search: the text of a control token is refused wherever it is.
        if not disallowed:
            return
        key = frozenset(disallowed)
        search = self._disallowed_searches.get(key)
        if search is None:
            search = self._disallowed_searches[key] = _search(list(key))
        found = search.search(text)
        if found is not None:
            where = "text" if index is None else f"text {index}"
            raise ValueError(
                f"{where} contains the special token {found.group()!r}, which is disallowed. "
                f"Pass it in allowed_special to encode it as the special token, or leave it "
                f"out of disallowed_special (e.g. disallowed_special=()) to encode it as plain "
                f"text."
            )

    # The pipeline ------------------------------------------------------------------------

    def _flags(self, texts: list[str], selection: _Selection, num_threads: int | None):
        """True for each text that must be cut at added tokens or normalized first."""
        if selection.screen is None:
            return np.ones(len(texts), dtype=bool)
        return selection.screen.flags(texts, num_threads)

    def _count_many(
        self, texts: list[str], selection: _Selection, num_threads: int | None
    ) -> np.ndarray:
        if selection.trivial:
            return _core.count_batch(self._core, texts, num_threads)
        if selection.screen is None:
            counts = np.full(len(texts), -1, dtype=np.int64)
        else:
            counts = _core.count_screened(
                self._core, selection.screen, texts, self._pre.add_prefix_space, num_threads
            )
        flagged = np.flatnonzero(counts < 0).tolist()
        if not flagged:
            return counts
        parts = [self._parts(_clean(texts[i]), selection) for i in flagged]
        model_texts = [p for text_parts in parts for p in text_parts if isinstance(p, str)]
        model_counts = iter(self._model_count_many(model_texts, num_threads))
        for i, text_parts in zip(flagged, parts, strict=True):
            counts[i] = sum(1 if isinstance(p, int) else next(model_counts) for p in text_parts)
        return counts

    def _encode_many(
        self, texts: list[str], selection: _Selection, num_threads: int | None
    ) -> list[list[int]]:
        if selection.trivial:
            return _core.encode_batch(self._core, texts, num_threads, None)
        if selection.screen is None:
            out: list[list[int] | None] = [None] * len(texts)
        else:
            out = _core.encode_screened(
                self._core, selection.screen, texts, self._pre.add_prefix_space, num_threads
            )
        flagged = [i for i, ids in enumerate(out) if ids is None]
        if not flagged:
            return out
        parts = [self._parts(_clean(texts[i]), selection) for i in flagged]
        model_texts = [p for text_parts in parts for p in text_parts if isinstance(p, str)]
        model_ids = iter(self._model_encode_many(model_texts, num_threads))
        for i, text_parts in zip(flagged, parts, strict=True):
            ids = []
            for part in text_parts:
                if isinstance(part, int):
                    ids.append(part)
                else:
                    ids += next(model_ids)
            out[i] = ids
        return out

    def _parts(self, text: str, selection: _Selection) -> list[int | str]:
        """Cut text into added-token ids and normalized texts for the model, in order."""
        parts: list[int | str] = []
        for token, raw in self._raw.split(text, selection.keep):
            if token is not None:
                parts.append(token.id)
                continue
            normalized = self._normalizer(raw) if self._normalizer is not None else raw
            for inner, part in self._normalized.split(normalized, selection.keep):
                parts.append(inner.id if inner is not None else part)
        return parts

    def _with_prefix_space(self, text: str) -> str:
        if self._pre.add_prefix_space and text and not text.startswith(" "):
            return " " + text
        return text

    def _model_encode_many(self, texts: list[str], num_threads: int | None) -> list[list[int]]:
        """Pre-tokenize and merge texts that hold no added token."""
        if self._pre.split is None:
            ready = [self._with_prefix_space(t) for t in texts]
            return _core.encode_batch(self._core, ready, num_threads, None)
        return [self._core.encode_split(*self._split(t)) for t in texts]

    def _model_count_many(self, texts: list[str], num_threads: int | None) -> list[int]:
        if self._pre.split is None:
            ready = [self._with_prefix_space(t) for t in texts]
            return _core.count_batch(self._core, ready, num_threads).tolist()
        return [self._core.count_split(*self._split(t)) for t in texts]

    def _split(self, text: str) -> tuple[str, list[int]]:
        # The pieces of the tokenizers package's pre-tokenizer, joined again (a prefix space
        # it added stays in), with the UTF-8 offset where each ends.
        pieces = self._pre.split(text)
        joined = b"".join(pieces)
        try:
            return joined.decode("utf-8"), list(itertools.accumulate(map(len, pieces)))
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{self.name}: the pre-tokenizer's pieces are not UTF-8 text once joined"
            ) from error

    def _post_count(self) -> int:
        return len(self._post.before) + len(self._post.after)

    def _post_process(self, ids: list[int]) -> list[int]:
        return [*self._post.before, *ids, *self._post.after]

    # For the command line, which counts files in place ----------------------------------

    @property
    def _reads_raw_text(self) -> bool:
        """Whether `count` is the engine's count of any text as it is."""
        return self._ordinary.trivial

    def _text_for_core(self, text: str) -> str | None:
        """The text the engine counts for `count(text)`, or None where it cannot."""
        if self._flags([text], self._ordinary, None)[0]:
            return None
        return self._with_prefix_space(text)


def _clean(text: str) -> str:
    # Lone surrogates become U+FFFD before any matching, as the native engine does for all
    # encodings (tiktoken's repair); `tokenizers` refuses such text.
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _repair_surrogates(text)


def _search(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(re.escape(p) for p in sorted(patterns, key=len, reverse=True)))


def _as_strings(texts: Sequence[str]) -> list[str]:
    """A batch as a list of str; an Arrow column is converted, its nulls read as ""."""
    texts = _as_sequence(texts)
    if not (hasattr(texts, "__arrow_c_stream__") or hasattr(texts, "__arrow_c_array__")):
        return list(texts)
    return ["" if t is None else t for t in _arrow_values(texts)]


def _arrow_values(column) -> list:
    if hasattr(column, "to_pylist"):  # pyarrow
        return column.to_pylist()
    try:
        import pyarrow
    except ImportError:  # polars without pyarrow
        return column.to_list()
    if hasattr(column, "__arrow_c_stream__"):
        return pyarrow.chunked_array(column).to_pylist()
    return pyarrow.array(column).to_pylist()
