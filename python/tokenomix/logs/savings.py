"""What token discipline would save, measured by recounting the changed text of a chunk.

Two savings are found in the text itself, after a chunk's unique texts are counted:

- **Minified JSON**: a text that is a JSON object or array (a tool result, tool-call
  arguments, a message holding JSON) is re-serialised without the whitespace outside its
  strings (values, key order and escapes kept as written) and counted again. Tool
  definitions are left out: the counting rule for them reads names, types and descriptions,
  never the JSON's layout, so their whitespace costs nothing to remove.
- **Duplicate paragraphs**: within one request, a paragraph (text between empty lines, of at
  least MIN_PARAGRAPH_CHARS characters once stripped) of a system, user or history message
  that already appeared earlier in the request (in message order) is dropped, and the message
  text is counted again without it.

Each saving is the recounted difference, per text, never below zero (a change that would add
tokens is not made). Texts moved to context by a context pattern are left out of both.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import re
from collections.abc import Sequence

import numpy as np
import orjson

from tokenomix.encoding import Encoding
from tokenomix.logs.components import (
    HISTORY,
    NUM_COMPONENTS,
    OUTPUT,
    OVERHEAD,
    SYSTEM,
    TOOLS,
    USER,
)

#: Shortest paragraph (stripped) that counts as a repeated instruction when seen twice.
MIN_PARAGRAPH_CHARS = 32

DUPLICATE_COMPONENTS = (SYSTEM, USER, HISTORY)

_OPENERS = frozenset("{[")
_MAY_OPEN = frozenset("{[ \t\n\r")  # first characters of a JSON text, whitespace included
# A JSON string (kept as written) or whitespace outside strings (dropped). Valid JSON has
# no raw control characters inside strings, so `.` never needs to match a newline.
_JSON_LAYOUT = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+')
_BREAK = "\n\n"  # an empty line; more empty lines leave newlines that strip() removes


@dataclasses.dataclass(frozen=True)
class Occurrences:
    """Every text occurrence of a chunk, in the order gathered: request row, unit (message
    order within a request), component, position among its encoding's unique texts, and
    encoding index."""

    rows: np.ndarray
    units: np.ndarray
    components: np.ndarray
    uids: np.ndarray
    encodings: np.ndarray
    requests: int


# Minified JSON ----------------------------------------------------------------------------


def minified_json(text: str) -> str | None:
    """Return `text` without the whitespace outside its strings if it is a JSON object or
    array that has any, else None.

    >>> minified_json('{"a": [1, 2],\\n "b": "x y"}')
    '{"a":[1,2],"b":"x y"}'
    """
    head = text[:1]
    if head not in _OPENERS and not (head.isspace() and text.lstrip()[:1] in _OPENERS):
        return None
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return None
    if not isinstance(value, (dict, list)):
        return None
    compact = _JSON_LAYOUT.sub(r"\1", text)
    return compact if compact != text else None


def minify_savings(
    texts: list[list[str]],
    counts: list[np.ndarray],
    encodings: Sequence[Encoding],
    occurrences: Occurrences,
) -> np.ndarray:
    """Return the tokens minified JSON saves, per request and component (tools excepted)."""
    per_text = []
    for unique, count, encoding in zip(texts, counts, encodings, strict=True):
        found = [
            (uid, compact)
            for uid, text in enumerate(unique)
            if text[:1] in _MAY_OPEN and (compact := minified_json(text)) is not None
        ]
        delta = np.zeros(len(unique), dtype=np.int64)
        if found:
            uids = np.array([uid for uid, _ in found], dtype=np.int64)
            compact_counts = encoding.count_batch([compact for _, compact in found])
            delta[uids] = np.maximum(count[uids] - compact_counts, 0)
        per_text.append(delta)
    keep = occurrences.components != TOOLS
    return _per_request(occurrences, _gather(per_text, occurrences), keep)


# Duplicate paragraphs ---------------------------------------------------------------------


def paragraph_keys(text: str) -> list[str]:
    """Return the paragraphs of `text` that can count as duplicates, stripped, in order.

    >>> paragraph_keys("Answer in JSON, with no prose around it.\\n\\nok\\n")
    ['Answer in JSON, with no prose around it.']
    """
    if len(text) < MIN_PARAGRAPH_CHARS:
        return []
    if _BREAK not in text:
        key = text.strip()
        return [key] if len(key) >= MIN_PARAGRAPH_CHARS else []
    return [key for key in map(str.strip, text.split(_BREAK)) if len(key) >= MIN_PARAGRAPH_CHARS]


def without_paragraphs(text: str, drop: set[int]) -> str:
    """Return `text` without its paragraphs numbered in `drop` (as `paragraph_keys` numbers
    them), each with the empty line before it (after it, for the first one kept).

    >>> without_paragraphs("Always answer briefly, in one line.\\n\\nWhat is 2 + 2?", {0})
    'What is 2 + 2?'
    """
    kept: list[str] = []
    number = 0
    for piece in text.split(_BREAK):
        if len(piece.strip()) >= MIN_PARAGRAPH_CHARS:
            number += 1
            if number - 1 in drop:
                continue
        kept.append(piece)
    return _BREAK.join(kept)


def duplicate_savings(
    texts: list[list[str]],
    hashes: list[np.ndarray],
    counts: list[np.ndarray],
    encodings: Sequence[Encoding],
    occurrences: Occurrences,
) -> np.ndarray:
    """Return the tokens that dropping repeated paragraphs saves, per request and component.

    Paragraphs are compared by their 64-bit string hash, within each request; a repeat the
    hashes find is confirmed by comparing the paragraphs themselves. `hashes` holds the
    hash of each unique text of each encoding.
    """
    result = np.zeros((occurrences.requests, NUM_COMPONENTS), dtype=np.int64)
    eligible = np.flatnonzero(np.isin(occurrences.components, DUPLICATE_COMPONENTS))
    if len(eligible) == 0:
        return result
    # Message order within each request (readers may gather some texts late).
    eligible = eligible[np.argsort(occurrences.units[eligible], kind="stable")]
    starts, sizes, flat, split = _paragraph_hashes(texts, hashes, occurrences, eligible)
    owner = np.repeat(eligible, sizes)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    with np.errstate(over="ignore"):
        keys = flat[np.repeat(starts, sizes) + position] ^ _mix(occurrences.rows[owner])
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    repeated = np.flatnonzero(first[inverse] != np.arange(len(keys)))
    drops: dict[int, set[int]] = {}
    for entry, earlier in zip(repeated.tolist(), first[inverse[repeated]].tolist(), strict=True):
        paragraph = _paragraph(texts, split, occurrences, int(owner[entry]), int(position[entry]))
        other = _paragraph(texts, split, occurrences, int(owner[earlier]), int(position[earlier]))
        if paragraph == other:
            drops.setdefault(int(owner[entry]), set()).add(int(position[entry]))
    if not drops:
        return result
    saved = _trimmed_savings(texts, counts, encodings, occurrences, drops)
    indexes = np.fromiter(drops, dtype=np.int64, count=len(drops))
    slots = occurrences.rows[indexes] * NUM_COMPONENTS + occurrences.components[indexes]
    result += np.bincount(slots, saved, result.size).astype(np.int64).reshape(result.shape)
    return result


def _paragraph(
    texts: list[list[str]],
    split: dict[tuple[int, int], list[str]],
    occurrences: Occurrences,
    index: int,
    number: int,
) -> str:
    # The paragraph of an occurrence's text, from the texts of several paragraphs already
    # split, else the text itself, stripped.
    encoding, uid = int(occurrences.encodings[index]), int(occurrences.uids[index])
    keys = split.get((encoding, uid))
    return keys[number] if keys is not None else texts[encoding][uid].strip()


def _paragraph_hashes(
    texts: list[list[str]], hashes: list[np.ndarray], occurrences: Occurrences, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, int], list[str]]]:
    # Per eligible occurrence: where its text's paragraph hashes start in `flat`, and how
    # many; and the paragraphs of each text of several, by (encoding, uid), kept for the
    # comparison that confirms a repeat. Texts of one paragraph (most) are hashed by
    # C-level maps, no Python loop: as they are when there is nothing to strip (the hash
    # cached in the string), else stripped; texts of several paragraphs are split one by
    # one.
    flat: list[np.ndarray] = []
    split: dict[tuple[int, int], list[str]] = {}
    size = 0
    starts = np.zeros(len(eligible), dtype=np.int64)
    sizes = np.zeros(len(eligible), dtype=np.int64)
    for encoding, unique in enumerate(texts):
        mine = occurrences.encodings[eligible] == encoding
        if not mine.any():
            continue
        uids = occurrences.uids[eligible[mine]]
        wanted = np.zeros(len(unique), dtype=bool)
        wanted[uids] = True
        lengths = np.fromiter(map(len, unique), np.int64, len(unique))
        candidates = np.flatnonzero(wanted & (lengths >= MIN_PARAGRAPH_CHARS))
        chosen = [unique[uid] for uid in candidates.tolist()]
        count = len(chosen)
        several = np.fromiter(map(str.__contains__, chosen, itertools.repeat(_BREAK)), bool, count)
        stripped = list(map(str.strip, chosen))
        same = np.fromiter(map(operator.is_, chosen, stripped), bool, count)
        long = np.fromiter(map(len, stripped), np.int64, count) >= MIN_PARAGRAPH_CHARS
        one = ~several & long
        one_hashes = np.fromiter(map(hash, stripped), np.int64, count)[one]
        one_hashes[same[one]] = hashes[encoding][candidates[one & same]]
        text_start = np.zeros(len(unique), dtype=np.int64)
        text_size = np.zeros(len(unique), dtype=np.int64)
        text_start[candidates[one]] = size + np.arange(len(one_hashes))
        text_size[candidates[one]] = 1
        flat.append(one_hashes)
        size += len(one_hashes)
        others: list[int] = []
        for uid in candidates[several].tolist():
            keys = split[encoding, uid] = paragraph_keys(unique[uid])
            text_start[uid], text_size[uid] = size + len(others), len(keys)
            others += map(hash, keys)
        flat.append(np.array(others, dtype=np.int64))
        size += len(others)
        starts[mine], sizes[mine] = text_start[uids], text_size[uids]
    joined = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    return starts, sizes, joined.view(np.uint64), split


def _trimmed_savings(
    texts: list[list[str]],
    counts: list[np.ndarray],
    encodings: Sequence[Encoding],
    occurrences: Occurrences,
    drops: dict[int, set[int]],
) -> np.ndarray:
    # Count each trimmed text (one batch per encoding); the saving is the difference.
    saved = np.zeros(len(drops), dtype=np.float64)
    pending: dict[int, list[tuple[int, int, str]]] = {}
    for slot, (index, drop) in enumerate(drops.items()):
        encoding, uid = int(occurrences.encodings[index]), int(occurrences.uids[index])
        trimmed = without_paragraphs(texts[encoding][uid], drop)
        if trimmed:
            pending.setdefault(encoding, []).append((slot, uid, trimmed))
        else:
            saved[slot] = counts[encoding][uid]
    for encoding, items in pending.items():
        after = encodings[encoding].count_batch([trimmed for _, _, trimmed in items])
        for (slot, uid, _), tokens in zip(items, after.tolist(), strict=True):
            saved[slot] = max(0, int(counts[encoding][uid]) - tokens)
    return saved


# Prefix keys ------------------------------------------------------------------------------

# splitmix64's finaliser (Steele, Lea and Flood, Fast Splittable Pseudorandom Number
# Generators, OOPSLA 2014), and an odd multiplier whose powers weight each message by its
# position, so that the same messages in another order give another key.
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_POSITION = np.uint64(0x9E3779B97F4A7C15)


def _mix(values: np.ndarray) -> np.ndarray:
    x = values.astype(np.uint64)
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


def prefix_keys(
    words: np.ndarray,
    rank: np.ndarray,
    unit_rows: np.ndarray,
    row_units: np.ndarray,
    hashes: list[np.ndarray],
    occurrences: Occurrences,
    constants: tuple[np.ndarray, np.ndarray],
    splits: tuple[np.ndarray, np.ndarray, np.ndarray],
    models: list[str | None],
) -> np.ndarray:
    """Return, per unit, a 64-bit key of its request up to and including it.

    A unit's value sums (mod 2**64) the mixed hashes of its texts (Python's string hash,
    cached in each string; `splits` gives the unit, encoding and uid of texts split by the
    context pattern), its constant tokens, and the role and framing of its message;
    a request's own unit adds its model and leaves out the output and the reply priming.
    The key of message k is the request's own value plus the values of messages 1..k, the
    k-th times POSITION**k: equal for two requests that share the model, tools and first k
    messages. Python's string hash is salted per process: keys agree only among processes
    started with the same PYTHONHASHSEED (the worker pool sets one).
    """
    with np.errstate(over="ignore"):
        value = np.zeros(len(words), dtype=np.uint64)
        text_values = _gather(hashes, occurrences).view(np.uint64)
        keep = occurrences.components != OUTPUT
        np.add.at(value, occurrences.units[keep], _mix(text_values[keep]))
        slots, tokens = constants
        units, components = slots // NUM_COMPONENTS, slots % NUM_COMPONENTS
        own = rank[units] == 0
        keep = ~(own & ((components == OVERHEAD) | (components == OUTPUT)))
        mixed = tokens[keep].astype(np.uint64) * np.uint64(NUM_COMPONENTS)
        np.add.at(value, units[keep], _mix(mixed + components[keep].astype(np.uint64)))
        split_units, split_encodings, split_uids = splits
        if len(split_units):
            whole = Occurrences(
                split_units, split_units, split_units, split_uids, split_encodings, 0
            )
            np.add.at(value, split_units, _mix(_gather(hashes, whole).view(np.uint64)))
        value += _mix((words >> 8).view(np.uint64))
        model_hashes = np.fromiter((hash(m or "") for m in models), np.int64, len(models))
        value[row_units] += _mix(model_hashes.view(np.uint64))
        powers = np.cumprod(np.full(int(rank.max()) + 1, _POSITION, dtype=np.uint64))
        powers = np.concatenate(([np.uint64(1)], powers[:-1]))
        terms = _mix(value) * powers[rank]
        running = np.cumsum(terms, dtype=np.uint64)
        before = running[row_units] - terms[row_units]
        keys = _mix(running - before[unit_rows])
    return keys.view(np.int64)


# Helpers ----------------------------------------------------------------------------------


def _gather(per_text: list[np.ndarray], occurrences: Occurrences) -> np.ndarray:
    # The value of each occurrence's text, from per-encoding arrays indexed by uid.
    values = np.zeros(len(occurrences.uids), dtype=np.int64)
    for encoding, array in enumerate(per_text):
        mask = occurrences.encodings == encoding
        values[mask] = array[occurrences.uids[mask]]
    return values


def _per_request(occurrences: Occurrences, values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    size = occurrences.requests * NUM_COMPONENTS
    slots = occurrences.rows[keep] * NUM_COMPONENTS + occurrences.components[keep]
    sums = np.bincount(slots, values[keep].astype(np.float64), size)
    return np.rint(sums).astype(np.int64).reshape(occurrences.requests, NUM_COMPONENTS)
