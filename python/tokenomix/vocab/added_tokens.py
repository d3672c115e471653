"""Added tokens of a Hugging Face tokenizer.json: their ids, and where they match in text.

Reproduces the added vocabulary of `tokenizers` 0.23 (`added_vocabulary.rs`):

- Ids. The "id" written beside each added token in the file is not used: tokens are added in
  file order, and each takes the id of an earlier added token with the same content, else the
  model's id of its content (a vocabulary entry spelled the same), else the next free id
  counted from the size of the model's vocabulary. A later entry with the same id replaces an
  earlier one.
- Matching. Tokens whose `normalized` flag is off are searched for in the raw text first; the
  text between their matches is normalized, and the tokens whose flag is on are searched for
  in it, spelled as the normalizer spells them. Each search takes the leftmost match, the
  longest of those that start there, and goes on after its end. A match is then dropped when
  its token is `single_word` and a word character touches it, or when the caller does not
  want that token (the special ones, for `split_special_tokens`); a dropped match still hides
  what overlaps it. A kept match grows over the white space before it (`lstrip`, never past
  the previous match) and after it (`rstrip`).

Worked example (`<a>` with rstrip, `b` single_word, in "x<a>  ab b"):

    matches:  x[<a>]  a[b] [b]      leftmost-longest, one after another
    b in ab:  dropped, "a" touches it
    result:   "x" | <a> + "  " | "ab " | b
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from tokenomix.vocab.hf_unicode import WHITE_SPACE, is_word_character

_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


@dataclasses.dataclass(frozen=True)
class AddedToken:
    """One added token, with the id `tokenizers` gives it."""

    content: str
    id: int
    special: bool
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = False
    # What is searched for: the content, or its normalized form for a normalized token.
    pattern: str = ""


def parse_entries(entries: object, where: str) -> list[dict]:
    """Check the "added_tokens" list of a tokenizer.json; return its entries."""
    if not isinstance(entries, list):
        raise ValueError(f"{where}: added_tokens must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise ValueError(f"{where}: added_tokens[{index}] has no string content")
        for flag in _FLAGS:
            if not isinstance(entry.get(flag), bool):
                raise ValueError(f"{where}: added_tokens[{index}] has no boolean {flag!r}")
    return entries


def assign_ids(
    entries: Iterable[dict],
    vocab: Mapping[str, int],
    normalize: Callable[[str], str] | None,
) -> list[AddedToken]:
    """Give each added token its id as `tokenizers` does; return the tokens in id order."""
    ids: dict[str, int] = {}
    by_id: dict[int, dict] = {}
    next_id = len(vocab)
    for entry in entries:
        content = entry["content"]
        if not content:
            continue
        flags = {flag: entry[flag] for flag in _FLAGS}
        known = ids.get(content)
        if known is not None and _flags_of(by_id.get(known)) == (content, flags):
            continue
        token_id = known if known is not None else vocab.get(content)
        if token_id is None:
            token_id, next_id = next_id, next_id + 1
        ids[content] = token_id
        by_id[token_id] = {"content": content, **flags}
    tokens = []
    for token_id in sorted(by_id):
        entry = by_id[token_id]
        pattern = entry["content"]
        if entry["normalized"] and normalize is not None:
            pattern = normalize(pattern)
        tokens.append(AddedToken(id=token_id, pattern=pattern, **entry))
    return tokens


def _flags_of(entry: dict | None) -> tuple[str, dict] | None:
    if entry is None:
        return None
    return entry["content"], {flag: entry[flag] for flag in _FLAGS}


# A piece of text and the added token it is, or None for text left to the model.
Split = tuple[AddedToken | None, str]


class Matcher:
    """Finds one group of added tokens (raw or normalized) in text."""

    def __init__(self, tokens: Iterable[AddedToken], where: str) -> None:
        self._by_pattern: dict[str, AddedToken] = {}
        for token in tokens:
            if not token.pattern:
                continue
            if token.pattern in self._by_pattern:
                raise ValueError(
                    f"{where}: added tokens {self._by_pattern[token.pattern].content!r} and "
                    f"{token.content!r} are both searched for as {token.pattern!r}"
                )
            self._by_pattern[token.pattern] = token
        self._regex = _alternation(self._by_pattern)

    def split(self, text: str, keep: Callable[[AddedToken], bool]) -> list[Split]:
        """Split text into added tokens (those `keep` accepts) and the text between them.

        Empty text between tokens is left out.
        """
        if self._regex is None or not text:
            return [(None, text)] if text else []
        spans = self._spans(text, keep)
        return [(token, text[a:b]) for token, a, b in spans if token is not None or a < b]

    def _spans(self, text: str, keep) -> list[tuple[AddedToken | None, int, int]]:
        spans: list[tuple[AddedToken | None, int, int]] = []
        done = 0  # end of the last kept match
        for match in self._regex.finditer(text):
            token = self._by_pattern[match.group()]
            start, stop = match.span()
            if not keep(token) or (token.single_word and _touches_word(text, start, stop)):
                continue
            if token.lstrip:
                start = max(_white_space_before(text, start), done)
            if token.rstrip:
                stop = _white_space_after(text, stop)
            if start > stop:
                raise ValueError(
                    f"added token {token.content!r} overlaps the white space taken by the "
                    f"token before it; tokenizers cannot encode this text either"
                )
            if done < start:
                spans.append((None, done, start))
            spans.append((token, start, stop))
            done = stop
        if done < len(text):
            spans.append((None, done, len(text)))
        return spans


def _alternation(by_pattern: Mapping[str, AddedToken]) -> re.Pattern[str] | None:
    # Longest first: at one position the regex takes the first alternative that matches.
    if not by_pattern:
        return None
    patterns = sorted(by_pattern, key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in patterns))


def _touches_word(text: str, start: int, stop: int) -> bool:
    return (start > 0 and is_word_character(text[start - 1])) or (
        stop < len(text) and is_word_character(text[stop])
    )


def _white_space_before(text: str, start: int) -> int:
    while start > 0 and text[start - 1] in WHITE_SPACE:
        start -= 1
    return start


def _white_space_after(text: str, stop: int) -> int:
    while stop < len(text) and text[stop] in WHITE_SPACE:
        stop += 1
    return stop
