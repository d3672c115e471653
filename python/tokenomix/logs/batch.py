"""Requests of one chunk as columns, and the builder that counts their text in one batch.

Design notes. Readers walk records in Python and only *gather* text: every string that
counts is appended once to a per-encoding list, with the request and component it belongs
to. The whole chunk is then counted by one `Encoding.count_batch` call per encoding (native,
GIL released) and components are assembled with one `numpy.bincount`. Strings are
deduplicated within a chunk before counting: logs replay the same system prompt and history
in request after request, and a dict lookup (which hashes the string once) is far cheaper
than counting it again.

Each request has units: its own (tools, output, reply priming, what is outside messages)
and one per message, in order. Text is gathered per unit (slot = unit x NUM_COMPONENTS +
component), so that one bincount gives every message's tokens: the components of a request
are the sums over its units, a message's tokens are its unit's sum. Per-message figures feed
the savings of token discipline (logs/savings.py): the tokens of turns a rolling summary
would replace, and the prefix tokens a prompt cache could serve, keyed by a hash of the
request up to each message.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from tokenomix.encoding import Encoding
from tokenomix.logs import savings
from tokenomix.logs.components import (
    CONTEXT,
    IMAGES,
    NUM_COMPONENTS,
    OUTPUT,
    OVERHEAD,
    SYSTEM,
    TOOLS,
)
from tokenomix.logs.usage import USAGE_FIELDS, Usage

MISSING = -1  # in integer columns: the log does not say

# Codes of the roles of messages, in the word of their unit (see `unit_word`).
ROLE_CODES = {"system": 1, "developer": 2, "user": 3, "assistant": 4, "tool": 5, "function": 6}
OTHER_ROLE = 7


def unit_word(role: str | None, framing: int = 0) -> int:
    """Pack a message's framing tokens and role code; `BatchBuilder.message` adds the
    component (framing << 16 | role code << 8 | component + 1; 0 for a request's own unit)."""
    return framing << 16 | ROLE_CODES.get(role, OTHER_ROLE) << 8  # type: ignore[arg-type]


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
    # Savings of token discipline, (n, NUM_COMPONENTS) each; None where the log gives counts
    # rather than text: tokens that minified JSON and trimmed duplicate paragraphs would
    # save, and the tokens of messages older than the turns a rolling summary keeps.
    minify_savings: np.ndarray | None = None
    duplicate_savings: np.ndarray | None = None
    old_tokens: np.ndarray | None = None
    # Per message of each request, ragged by prefix_offsets (n + 1): a hash of the request
    # up to and including the message (model, tools, system and messages) and the input
    # tokens up to there (tools and system first). None where there is no text.
    prefix_offsets: np.ndarray | None = None
    prefix_keys: np.ndarray | None = None
    prefix_tokens: np.ndarray | None = None
    records: int = 0
    blank_lines: int = 0
    line_count: int = 0  # lines of the chunk (0 where lines are numbered already)
    skips: list[Skip] = dataclasses.field(default_factory=list)
    turns: np.ndarray | None = None  # set by the pipeline
    prefix_cached_tokens: np.ndarray | None = None  # set by a prefix-cache pass, if any

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def counted_records(self) -> int:
        """Records that produced requests (records read, less those skipped)."""
        return self.records - len(self.skips)


class BatchBuilder:
    """Collects the requests of a chunk, then counts all their text at once.

    A reader calls `start` for each request, then `text` and `tokens` to give it content,
    `message` before the content of each message and `end_messages` after the last, and
    `build` at the end. `mark` and `rollback` undo a record that turns out to be bad
    halfway through.
    """

    def __init__(self, file_index: int, *, num_threads: int | None, savings: bool = False) -> None:
        self.file_index = file_index
        self._num_threads = num_threads
        self._savings = savings
        self._encodings: dict[str, tuple[int, Encoding]] = {}
        self._unique: list[dict[str, int]] = []  # per encoding: text -> position
        self._enc = 0
        self._seen: dict[str, int] = {}
        # One entry per text occurrence, packed in one int (one append in the hot loop):
        # slot (unit * NUM_COMPONENTS + component) << 32 | position in its encoding's
        # unique texts << 3 | encoding.
        self._occurrences: list[int] = []
        # One entry per constant number of tokens.
        self._const_slot: list[int] = []
        self._const_tokens: list[int] = []
        # Texts split by the context pattern: (unit slot, component, encoding, whole, spans).
        self._splits: list[tuple[int, int, int, int, list[int]]] = []
        # Per unit, its word (see `unit_word`; 0 for the request's own unit).
        self._units: list[int] = []
        self._row_units: list[int] = []  # per request: its own unit
        self._rows: list[dict[str, Any]] = []
        self._row: dict[str, Any] = {}
        self._base = 0  # slot of component 0 of the current unit
        self._row_base = 0  # slot of component 0 of the current request's own unit
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
        unit = len(self._units)
        self._units.append(0)
        self._row_units.append(unit)
        self._base = self._row_base = unit * NUM_COMPONENTS
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
            "old_messages": 0,
        }
        self._rows.append(self._row)

    def message(self, component: int, *, role: str | None, framing: int = 0) -> int:
        """Begin a message of the current request; return the slot of its component 0.

        Args:
            component: where the message's content goes (framing goes to overhead).
            role: the message's role (part of its identity for prefix caching).
            framing: the message's framing tokens.
        """
        unit = len(self._units)
        self._units.append(unit_word(role, framing) | (component + 1))
        self._base = unit * NUM_COMPONENTS
        return self._base

    def message_words(self) -> list[int]:
        """Return the list of unit words, for readers that append message units inline:
        appending `unit_word(role, framing) | (component + 1)` begins a message whose
        slot is its index times NUM_COMPONENTS (as `message` does, without setting where
        `text` and `tokens` go)."""
        return self._units

    def end_messages(self, *, old_messages: int = 0) -> None:
        """Come back to the request's own unit after its messages.

        Args:
            old_messages: the first messages that a rolling summary would replace (those
                before the turns it keeps; system messages among them are kept).
        """
        self._base = self._row_base
        self._row["old_messages"] = old_messages

    def text(self, component: int, text: str) -> None:
        """Count `text` into a component of the current request (or message)."""
        if not text:
            return
        uid = self._seen.get(text)
        if uid is None:
            uid = self._seen[text] = len(self._seen)
        self._occurrences.append((self._base + component) << 32 | uid << 3 | self._enc)

    def texts(self, slots: list[int], texts: list[str]) -> None:
        """Count each text into its slot (unit slot + component, as `message` returns)."""
        seen = self._seen
        append = self._occurrences.append
        low = self._enc
        for slot, text in zip(slots, texts, strict=True):
            if text:
                uid = seen.get(text)
                if uid is None:
                    uid = seen[text] = len(seen)
                append(slot << 32 | uid << 3 | low)

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
        self._splits.append((self._base, component, self._enc, uids[0], uids[1:]))

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
        base, self._base = self._base, self._row_base
        for text in texts:
            self.text(OUTPUT, text)
        self._base = base

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
            len(self._units),
        )

    def rollback(self, mark: tuple[int, ...]) -> None:
        """Forget every request started after `mark` (texts counted for nothing are harmless)."""
        rows, occurrences, constants, splits, units = mark
        del self._rows[rows:], self._row_units[rows:]
        del self._occurrences[occurrences:]
        del self._const_slot[constants:], self._const_tokens[constants:]
        del self._splits[splits:]
        del self._units[units:]

    def skip(self, line: int, kind: str, reason: str) -> None:
        """Record a skipped record."""
        self.skips.append(Skip(self.file_index, line, kind, reason))

    # Counting -----------------------------------------------------------------------------

    def build(self, kind: str = "requests") -> RequestBatch:
        """Count every gathered text and return the chunk's requests as columns."""
        units = len(self._units)
        cells = np.zeros(units * NUM_COMPONENTS, dtype=np.float64)
        texts = [list(unique) for unique in self._unique]
        counts = self._count_unique(texts)
        packed = np.array(self._occurrences, dtype=np.int64)
        occurrence_counts = self._occurrence_counts(counts, packed)
        if len(packed):
            cells += np.bincount(packed >> 32, occurrence_counts, units * NUM_COMPONENTS)
        self._resolve_splits(counts)
        if self._const_slot:
            cells += np.bincount(self._const_slot, self._const_tokens, units * NUM_COMPONENTS)
        # Weights go through float64; every partial sum is an integer below 2**53, so exact.
        unit_cells = np.rint(cells).astype(np.int64).reshape(units, NUM_COMPONENTS)
        words = np.array(self._units, dtype=np.int64)
        unit_cells[:, OVERHEAD] += words >> 16
        batch = self._columns(kind, self._sum_units(unit_cells))
        if self._savings and len(batch):
            self._add_savings(batch, unit_cells, words, texts, counts, packed)
        return batch

    def _sum_units(self, unit_cells: np.ndarray) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, NUM_COMPONENTS), dtype=np.int64)
        return np.add.reduceat(unit_cells, np.array(self._row_units, dtype=np.int64), axis=0)

    def _add_savings(
        self,
        batch: RequestBatch,
        unit_cells: np.ndarray,
        words: np.ndarray,
        texts: list[list[str]],
        counts: list[np.ndarray],
        packed: np.ndarray,
    ) -> None:
        # Per request: minified JSON, duplicate paragraphs, old turns; per message: prefix keys
        # and tokens.
        n = len(batch)
        row_units = np.array(self._row_units, dtype=np.int64)
        unit_rows = np.repeat(np.arange(n), np.diff(np.append(row_units, len(self._units))))
        occurrence_units = (packed >> 32) // NUM_COMPONENTS
        occurrences = savings.Occurrences(
            rows=unit_rows[occurrence_units],
            units=occurrence_units,
            components=(packed >> 32) % NUM_COMPONENTS,
            uids=(packed & 0xFFFFFFFF) >> 3,
            encodings=packed & 7,
            requests=n,
        )
        encoders = self._encoding_list()
        # Python's string hash, cached in each string (the dict of unique texts computed it).
        hashes = [np.fromiter(map(hash, unique), np.int64, len(unique)) for unique in texts]
        batch.minify_savings = savings.minify_savings(texts, counts, encoders, occurrences)
        batch.duplicate_savings = savings.duplicate_savings(
            texts, hashes, counts, encoders, occurrences
        )
        kinds = words & 0xFF
        rank = np.arange(len(self._units)) - row_units[unit_rows]
        old_messages = _ints(self._rows, "old_messages", np.int64)
        old = (rank >= 1) & (rank <= old_messages[unit_rows]) & (kinds != SYSTEM + 1)
        batch.old_tokens = np.add.reduceat(unit_cells * old[:, None], row_units, axis=0)
        self._prefixes(batch, unit_cells, words, rank, unit_rows, row_units, hashes, occurrences)

    def _prefixes(
        self,
        batch: RequestBatch,
        unit_cells: np.ndarray,
        words: np.ndarray,
        rank: np.ndarray,
        unit_rows: np.ndarray,
        row_units: np.ndarray,
        hashes: list[np.ndarray],
        occurrences: savings.Occurrences,
    ) -> None:
        # Tokens up to each message: the request's tools and text outside messages
        # (Anthropic's system), then its messages in order.
        is_message = (words & 0xFF) > 0
        totals = np.where(is_message, unit_cells.sum(axis=1), 0)
        before = np.cumsum(totals) - totals
        own = unit_cells[row_units]
        start = own[:, TOOLS] + own[:, SYSTEM] + own[:, CONTEXT]
        tokens = np.cumsum(totals) - before[row_units][unit_rows] + start[unit_rows]
        splits = self._splits
        keys = savings.prefix_keys(
            words,
            rank,
            unit_rows,
            row_units,
            hashes,
            occurrences,
            (
                np.array(self._const_slot, dtype=np.int64),
                np.array(self._const_tokens, dtype=np.int64),
            ),
            (
                np.array([split[0] // NUM_COMPONENTS for split in splits], dtype=np.int64),
                np.array([split[2] for split in splits], dtype=np.int64),
                np.array([split[3] for split in splits], dtype=np.int64),
            ),
            [row["model"] for row in self._rows],
        )
        batch.prefix_tokens = tokens[is_message]
        batch.prefix_keys = keys[is_message]
        per_row = np.bincount(unit_rows[is_message], minlength=len(batch))
        batch.prefix_offsets = np.concatenate(([0], np.cumsum(per_row)))

    def _encoding_list(self) -> list[Encoding]:
        return [encoding for _, encoding in sorted(self._encodings.values(), key=lambda e: e[0])]

    def _count_unique(self, texts: list[list[str]]) -> list[np.ndarray]:
        return [
            encoding.count_batch(texts[index], num_threads=self._num_threads)
            if texts[index]
            else np.empty(0, dtype=np.int64)
            for index, encoding in enumerate(self._encoding_list())
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
        for base, component, encoding, whole_uid, span_uids in self._splits:
            array = counts[encoding]
            whole = int(array[whole_uid])
            context = min(whole, sum(int(array[uid]) for uid in span_uids))
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
