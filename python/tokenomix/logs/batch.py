"""Requests of one chunk as columns, and the builder that counts their text in one batch.

Design notes. Readers walk records in Python and only *gather* text: every string that
counts is appended once to a per-encoding list, with the request and component it belongs
to. The whole chunk is then counted by one `Encoding.count_batch` call per encoding (native,
GIL released) and components are assembled with one `numpy.bincount`. Strings are
deduplicated within a chunk before counting: logs replay the same system prompt and history
in request after request, and a dict lookup (which hashes the string once) is far cheaper
than counting it again.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from tokenomix.encoding import Encoding
from tokenomix.logs.components import CONTEXT, IMAGES, NUM_COMPONENTS, OUTPUT
from tokenomix.logs.usage import USAGE_FIELDS, Usage

MISSING = -1  # in integer columns: the log does not say


@dataclasses.dataclass(frozen=True)
class Skip:
    """A record that was not counted: where it is and why."""

    file_index: int
    line: int
    kind: str
    reason: str


@dataclasses.dataclass
class RequestBatch:
    """The requests recounted from one chunk of one file, one row each.

    Integer columns hold MISSING (-1) where the log does not say; `usage` has one column per
    field of `Usage`. `components` has one column per name of COMPONENTS; on rows whose log
    carries text (`attributed`), its input columns add up to `input_tokens`.
    """

    file_index: int
    kind: str  # "requests", or "batch-output" (responses waiting for their requests)
    lines: np.ndarray
    models: list[str | None]
    encodings: list[str | None]
    components: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    has_output: np.ndarray
    attributed: np.ndarray
    flags: np.ndarray
    images: np.ndarray
    images_unmeasured: np.ndarray
    usage: np.ndarray
    timestamps: np.ndarray  # seconds since the epoch, NaN where unknown
    conversations: list[str | None]
    user_turns: np.ndarray
    custom_ids: list[str | None]
    records: int = 0
    blank_lines: int = 0
    line_count: int = 0  # lines of the chunk (0 where lines are numbered already)
    skips: list[Skip] = dataclasses.field(default_factory=list)
    turns: np.ndarray | None = None  # set by the pipeline

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def counted_records(self) -> int:
        """Records that produced requests (records read, less those skipped)."""
        return self.records - len(self.skips)


class BatchBuilder:
    """Collects the requests of a chunk, then counts all their text at once.

    A reader calls `start` for each request, then `text` and `tokens` to give it content,
    and `build` at the end. `mark` and `rollback` undo a record that turns out to be bad
    halfway through.
    """

    def __init__(self, file_index: int, *, num_threads: int | None) -> None:
        self.file_index = file_index
        self._num_threads = num_threads
        self._encodings: dict[str, tuple[int, Encoding]] = {}
        self._unique: list[dict[str, int]] = []  # per encoding: text -> position
        self._enc = 0
        self._seen: dict[str, int] = {}
        # One entry per text occurrence, packed in one int (one append in the hot loop):
        # slot (request * NUM_COMPONENTS + component) << 32 | position in its encoding's
        # unique texts << 3 | encoding.
        self._occurrences: list[int] = []
        # One entry per constant number of tokens.
        self._const_slot: list[int] = []
        self._const_tokens: list[int] = []
        # Texts split by the context pattern: (request, component, encoding, whole, spans).
        self._splits: list[tuple[int, int, int, int, list[int]]] = []
        self._rows: list[dict[str, Any]] = []
        self._row: dict[str, Any] = {}
        self._base = 0
        self.records = 0
        self.blank_lines = 0
        self.line_count = 0
        self.skips: list[Skip] = []

    # Requests -----------------------------------------------------------------------------

    def start(
        self, *, line: int, model: str | None, encoding: Encoding | None, flags: int = 0
    ) -> None:
        """Begin a new request; later calls add to it.

        `encoding` is None for a request whose counts the log gives (see `given_counts`).
        """
        if encoding is not None:
            entry = self._encodings.get(encoding.name)
            if entry is None:
                entry = self._encodings[encoding.name] = (len(self._unique), encoding)
                self._unique.append({})
            self._enc = entry[0]
            self._seen = self._unique[self._enc]
        self._base = len(self._rows) * NUM_COMPONENTS
        self._row = {
            "line": line,
            "model": model,
            "encoding": None if encoding is None else encoding.name,
            "flags": flags,
            "attributed": True,
            "has_output": False,
            "images": 0,
            "images_unmeasured": 0,
            "given": None,
            "usage": None,
            "timestamp": math.nan,
            "conversation": None,
            "user_turns": MISSING,
            "custom_id": None,
        }
        self._rows.append(self._row)

    def text(self, component: int, text: str) -> None:
        """Count `text` into a component of the current request."""
        if not text:
            return
        uid = self._seen.get(text)
        if uid is None:
            uid = self._seen[text] = len(self._seen)
        self._occurrences.append((self._base + component) << 32 | uid << 3 | self._enc)

    def texts(self, components: list[int], texts: list[str]) -> None:
        """Count each text into its component: `text` for many texts at once."""
        seen = self._seen
        append = self._occurrences.append
        low = self._enc
        base = self._base
        for component, text in zip(components, texts, strict=True):
            if text:
                uid = seen.get(text)
                if uid is None:
                    uid = seen[text] = len(seen)
                append((base + component) << 32 | uid << 3 | low)

    def split_text(self, component: int, text: str, spans: list[str]) -> None:
        """Count `text` into a component, except the tokens of `spans`, which go to context.

        The whole text is counted once (so the request's total stays exact); the spans are
        counted alone, and their tokens (at most those of the whole text) move to context.
        """
        uids = []
        for piece in (text, *spans):
            uid = self._seen.get(piece)
            if uid is None:
                uid = self._seen[piece] = len(self._seen)
            uids.append(uid)
        self._splits.append((len(self._rows) - 1, component, self._enc, uids[0], uids[1:]))

    def tokens(self, component: int, count: int) -> None:
        """Add a fixed number of tokens (framing, a formula) to a component."""
        if count:
            self._const_slot.append(self._base + component)
            self._const_tokens.append(count)

    def flag(self, flags: int) -> None:
        """Mark the current request as approximate for these reasons."""
        self._row["flags"] |= flags

    def image(self, tokens: int | None) -> None:
        """Add one image: its tokens, or None when it cannot be measured."""
        if tokens is None:
            self._row["images_unmeasured"] += 1
        else:
            self._row["images"] += 1
            self.tokens(IMAGES, tokens)

    def output(self, texts: list[str]) -> None:
        """Give the current request its output (an empty list is an empty output)."""
        self._row["has_output"] = True
        for text in texts:
            self.text(OUTPUT, text)

    def given_counts(self, input_tokens: int, output_tokens: int | None) -> None:
        """Give the current request counts read from the log instead of text."""
        self._row["attributed"] = False
        self._row["given"] = (input_tokens, output_tokens)
        self._row["has_output"] = output_tokens is not None

    def describe(self, **fields: Any) -> None:
        """Set metadata of the current request: usage, timestamp, conversation, user_turns,
        custom_id."""
        self._row.update(fields)

    # Undo ---------------------------------------------------------------------------------

    def mark(self) -> tuple[int, ...]:
        """Return a point to come back to with `rollback`."""
        return (
            len(self._rows),
            len(self._occurrences),
            len(self._const_slot),
            len(self._splits),
        )

    def rollback(self, mark: tuple[int, ...]) -> None:
        """Forget every request started after `mark` (texts counted for nothing are harmless)."""
        rows, occurrences, constants, splits = mark
        del self._rows[rows:]
        del self._occurrences[occurrences:]
        del self._const_slot[constants:], self._const_tokens[constants:]
        del self._splits[splits:]

    def skip(self, line: int, kind: str, reason: str) -> None:
        """Record a skipped record."""
        self.skips.append(Skip(self.file_index, line, kind, reason))

    # Counting -----------------------------------------------------------------------------

    def build(self, kind: str = "requests") -> RequestBatch:
        """Count every gathered text and return the chunk's requests as columns."""
        n = len(self._rows)
        cells = np.zeros(n * NUM_COMPONENTS, dtype=np.float64)
        counts = self._count_unique()
        if self._occurrences:
            packed = np.array(self._occurrences, dtype=np.int64)
            slots = packed >> 32
            cells += np.bincount(slots, self._occurrence_counts(counts, packed), n * NUM_COMPONENTS)
        self._resolve_splits(counts)
        if self._const_slot:
            cells += np.bincount(self._const_slot, self._const_tokens, n * NUM_COMPONENTS)
        # Weights go through float64; every partial sum is an integer below 2**53, so exact.
        components = np.rint(cells).astype(np.int64).reshape(n, NUM_COMPONENTS)
        return self._columns(kind, components)

    def _count_unique(self) -> list[np.ndarray]:
        encodings = sorted(self._encodings.values(), key=lambda entry: entry[0])
        return [
            encoding.count_batch(list(self._unique[index]), num_threads=self._num_threads)
            if self._unique[index]
            else np.empty(0, dtype=np.int64)
            for index, encoding in encodings
        ]

    @staticmethod
    def _occurrence_counts(counts: list[np.ndarray], packed: np.ndarray) -> np.ndarray:
        uids = (packed & 0xFFFFFFFF) >> 3
        if len(counts) == 1:
            return counts[0][uids].astype(np.float64)
        encodings = packed & 7
        result = np.empty(len(uids), dtype=np.float64)
        for index, array in enumerate(counts):
            mask = encodings == index
            result[mask] = array[uids[mask]]
        return result

    def _resolve_splits(self, counts: list[np.ndarray]) -> None:
        for request, component, encoding, whole_uid, span_uids in self._splits:
            array = counts[encoding]
            whole = int(array[whole_uid])
            context = min(whole, sum(int(array[uid]) for uid in span_uids))
            base = request * NUM_COMPONENTS
            self._const_slot += [base + CONTEXT, base + component]
            self._const_tokens += [context, whole - context]

    def _columns(self, kind: str, components: np.ndarray) -> RequestBatch:
        rows = self._rows
        n = len(rows)
        attributed = np.fromiter((row["attributed"] for row in rows), dtype=bool, count=n)
        input_tokens = components[:, :OUTPUT].sum(axis=1)
        output_tokens = components[:, OUTPUT].copy()
        for index in np.flatnonzero(~attributed):
            given_input, given_output = rows[index]["given"]
            input_tokens[index] = given_input
            output_tokens[index] = given_output if given_output is not None else 0
        usage = np.full((n, len(USAGE_FIELDS)), MISSING, dtype=np.int64)
        for index, row in enumerate(rows):
            if row["usage"] is not None:
                usage[index] = [MISSING if value is None else value for value in row["usage"]]
        return RequestBatch(
            file_index=self.file_index,
            kind=kind,
            lines=_ints(rows, "line", np.int64),
            models=[row["model"] for row in rows],
            encodings=[row["encoding"] for row in rows],
            components=components,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            has_output=np.fromiter((row["has_output"] for row in rows), dtype=bool, count=n),
            attributed=attributed,
            flags=_ints(rows, "flags", np.int32),
            images=_ints(rows, "images", np.int32),
            images_unmeasured=_ints(rows, "images_unmeasured", np.int32),
            usage=usage,
            timestamps=np.fromiter((row["timestamp"] for row in rows), dtype=np.float64, count=n),
            conversations=[row["conversation"] for row in rows],
            user_turns=_ints(rows, "user_turns", np.int32),
            custom_ids=[row["custom_id"] for row in rows],
            records=self.records,
            blank_lines=self.blank_lines,
            line_count=self.line_count,
            skips=self.skips,
        )


def _ints(rows: list[dict[str, Any]], key: str, dtype: type) -> np.ndarray:
    return np.fromiter((row[key] for row in rows), dtype=dtype, count=len(rows))


def empty_usage() -> Usage:
    """Return a Usage with every field missing."""
    return Usage(None, None, None, None, None)
