"""Exact, mergeable statistics of recounted requests: overall, per model, per day, per turn.

Everything here is a sum or a histogram of integers, so statistics built on separate parts
of a log (chunks, files, machines) merge into exactly those of the whole (`merge`). Costs
are computed last, from per-model token sums and the model's price, so that they do not
depend on the order in which requests were added.
"""

from __future__ import annotations

import collections
import datetime
import math
from collections.abc import Hashable, Iterable

import numpy as np

from tokenomix.analytics.histogram import Histogram
from tokenomix.logs.batch import MISSING, RequestBatch
from tokenomix.logs.components import COMPONENTS, OUTPUT, Approximation

# Token sums kept per model for costs: recounted input and output, and billed usage split so
# that no token is counted twice (cached and cache-write tokens are part of the prompt,
# reasoning tokens part of the completion).
COST_SUMS = (
    "input_tokens",
    "output_tokens",
    "usage_requests",
    "billed_prompt_tokens",
    "billed_cached_tokens",
    "billed_cache_write_tokens",
    "billed_completion_tokens",
    "billed_reasoning_tokens",
)

USAGE_METRICS = (
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
)


class GroupedHistograms:
    """One Histogram per key (model, day, turn, ...)."""

    def __init__(self) -> None:
        self.groups: dict[Hashable, Histogram] = {}

    def add(self, keys: Iterable[Hashable], values: np.ndarray) -> None:
        """Add each value to the histogram of its key."""
        keys = list(keys)
        if not keys:
            return
        self.add_coded(*_codes(keys), values)

    def add_coded(self, codes: np.ndarray, keys: list[Hashable], values: np.ndarray) -> None:
        """Add each value to the histogram of keys[code]; keys no value has are left out."""
        for code, key in enumerate(keys):
            chosen = codes == code
            if not chosen.any():
                continue
            histogram = self.groups.get(key)
            if histogram is None:
                histogram = self.groups[key] = Histogram()
            histogram.add(values[chosen])

    def merge(self, other: GroupedHistograms) -> None:
        """Add every histogram of `other` to this one's."""
        for key, histogram in other.groups.items():
            self.groups.setdefault(key, Histogram()).merge(histogram)


def _codes(keys: list[Hashable]) -> tuple[np.ndarray, list[Hashable]]:
    if keys.count(keys[0]) == len(keys):  # one model, one day: the common case, at C speed
        return np.zeros(len(keys), np.int64), [keys[0]]
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(key, len(index)) for key in keys), np.int64, len(keys))
    return codes, list(index)


class ReportStats:
    """The statistics of a recount, fed batch by batch."""

    def __init__(self) -> None:
        self.requests = 0
        self.attributed = 0
        self.with_output = 0
        self.input = Histogram()
        self.output = Histogram()
        self.total = Histogram()
        self.components = {name: Histogram() for name in COMPONENTS}
        self.approximate = 0
        self.approximation: collections.Counter[str] = collections.Counter()
        self.images = 0
        self.images_unmeasured = 0
        self.encodings: collections.Counter[str] = collections.Counter()
        self.model_requests: collections.Counter[str | None] = collections.Counter()
        self.model_encodings: dict[str | None, str | None] = {}
        self.model_input = GroupedHistograms()
        self.model_output = GroupedHistograms()
        self.model_sums: dict[str | None, collections.Counter[str]] = {}
        self.day_input = GroupedHistograms()
        self.day_system = GroupedHistograms()
        self.undated = 0
        self.turn_input = GroupedHistograms()
        self.turn_history = GroupedHistograms()
        self.usage = {name: Histogram() for name in USAGE_METRICS}
        self.usage_requests = 0
        self.prompt_difference = Histogram()
        self.completion_difference = Histogram()
        self.exact_prompt_difference = Histogram()

    # Adding -------------------------------------------------------------------------------

    def add(self, batch: RequestBatch) -> None:
        """Add every request of a batch."""
        if len(batch) == 0:
            return
        self._add_totals(batch)
        self._add_models(batch)
        self._add_days(batch)
        self._add_turns(batch)
        self._add_usage(batch)

    def _add_totals(self, batch: RequestBatch) -> None:
        out = batch.has_output
        attributed = batch.attributed
        self.requests += len(batch)
        self.attributed += int(attributed.sum())
        self.with_output += int(out.sum())
        self.input.add(batch.input_tokens)
        self.output.add(batch.output_tokens[out])
        self.total.add(batch.input_tokens[out] + batch.output_tokens[out])
        for column, name in enumerate(COMPONENTS):
            keep = attributed & out if column == OUTPUT else attributed
            self.components[name].add(batch.components[keep, column])
        self.approximate += int((batch.flags != 0).sum())
        for flag in Approximation:
            self.approximation[flag.name.lower()] += int(((batch.flags & flag) != 0).sum())
        self.images += int(batch.images.sum())
        self.images_unmeasured += int(batch.images_unmeasured.sum())
        self.encodings.update(e for e in batch.encodings if e is not None)

    def _add_models(self, batch: RequestBatch) -> None:
        codes, models = _codes(batch.models)
        requests = np.bincount(codes, minlength=len(models))
        first = np.unique(codes, return_index=True)[1]  # codes number models as they come
        out = batch.has_output
        self.model_input.add_coded(codes, models, batch.input_tokens)
        self.model_output.add_coded(codes[out], models, batch.output_tokens[out])
        usage = batch.usage
        has_usage = (usage != MISSING).any(axis=1)
        prompt, cached, write, completion, reasoning = (
            np.where(usage[:, i] == MISSING, 0, usage[:, i]) for i in range(usage.shape[1])
        )
        for code, model in enumerate(models):
            self.model_requests[model] += int(requests[code])
            self.model_encodings.setdefault(model, batch.encodings[first[code]])
            rows = codes == code
            sums = self.model_sums.setdefault(model, collections.Counter())
            sums["input_tokens"] += int(batch.input_tokens[rows].sum())
            sums["output_tokens"] += int(batch.output_tokens[rows & out].sum())
            billed = rows & has_usage
            sums["usage_requests"] += int(billed.sum())
            sums["billed_prompt_tokens"] += int(prompt[billed].sum())
            sums["billed_cached_tokens"] += int(cached[billed].sum())
            sums["billed_cache_write_tokens"] += int(write[billed].sum())
            sums["billed_completion_tokens"] += int(completion[billed].sum())
            sums["billed_reasoning_tokens"] += int(reasoning[billed].sum())

    def _add_days(self, batch: RequestBatch) -> None:
        dated = ~np.isnan(batch.timestamps)
        self.undated += int((~dated).sum())
        if not dated.any():
            return
        # Days since the epoch (UTC) of each request, named once per distinct day.
        numbers = np.floor(batch.timestamps[dated]).astype(np.int64) // 86_400
        distinct, codes = np.unique(numbers, return_inverse=True)
        days = [_day(float(number) * 86_400) for number in distinct.tolist()]
        self.day_input.add_coded(codes, days, batch.input_tokens[dated])
        attributed = batch.attributed[dated]
        system = batch.components[dated, COMPONENTS.index("system")]
        self.day_system.add_coded(codes[attributed], days, system[attributed])

    def _add_turns(self, batch: RequestBatch) -> None:
        turns = batch.turns if batch.turns is not None else batch.user_turns
        known = turns > 0
        if not known.any():
            return
        distinct, codes = np.unique(turns[known], return_inverse=True)
        keys = distinct.tolist()
        self.turn_input.add_coded(codes, keys, batch.input_tokens[known])
        attributed = batch.attributed[known]
        history = batch.components[known, COMPONENTS.index("history")]
        self.turn_history.add_coded(codes[attributed], keys, history[attributed])

    def _add_usage(self, batch: RequestBatch) -> None:
        usage = batch.usage
        for column, name in enumerate(USAGE_METRICS):
            present = usage[:, column] != MISSING
            self.usage[name].add(usage[present, column])
        self.usage_requests += int((usage != MISSING).any(axis=1).sum())
        prompt = usage[:, 0] != MISSING
        self.prompt_difference.add(batch.input_tokens[prompt] - usage[prompt, 0])
        exact = prompt & (batch.flags == 0)
        self.exact_prompt_difference.add(batch.input_tokens[exact] - usage[exact, 0])
        completion = (usage[:, 3] != MISSING) & batch.has_output
        self.completion_difference.add(batch.output_tokens[completion] - usage[completion, 3])

    # Merging ------------------------------------------------------------------------------

    def merge(self, other: ReportStats) -> None:
        """Add the statistics of another part of the log to these."""
        for name in (
            "requests",
            "attributed",
            "with_output",
            "approximate",
            "images",
            "images_unmeasured",
            "undated",
            "usage_requests",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in (
            "input",
            "output",
            "total",
            "prompt_difference",
            "completion_difference",
            "exact_prompt_difference",
        ):
            getattr(self, name).merge(getattr(other, name))
        for mine, theirs in ((self.components, other.components), (self.usage, other.usage)):
            for key, histogram in theirs.items():
                mine[key].merge(histogram)
        self.approximation.update(other.approximation)
        self.encodings.update(other.encodings)
        self.model_requests.update(other.model_requests)
        for model, encoding in other.model_encodings.items():
            self.model_encodings.setdefault(model, encoding)
        for model, sums in other.model_sums.items():
            self.model_sums.setdefault(model, collections.Counter()).update(sums)
        for name in (
            "model_input",
            "model_output",
            "day_input",
            "day_system",
            "turn_input",
            "turn_history",
        ):
            getattr(self, name).merge(getattr(other, name))

    # Derived figures ----------------------------------------------------------------------

    def input_output_ratio(self) -> float | None:
        """Input tokens per output token, over the requests whose output the log carries."""
        output = self.output.sum
        if output == 0:
            return None
        return (self.total.sum - output) / output


def _day(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(math.floor(seconds), datetime.timezone.utc)
    return moment.date().isoformat()
