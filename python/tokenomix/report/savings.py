"""The savings of token discipline, in tokens and dollars, over a whole log.

Measured on the recounted text (tokenomix/logs/savings.py finds them per request):

- **minified JSON** and **duplicate instructions**: the changed text, recounted;
- **output cap**: the output tokens above a cap, read off the exact output histograms.

Resting on an assumption, stated by its parameters:

- **rolling summaries**: history older than the last `summary_keep_turns` turns (text, tool
  results, images and framing of those messages) replaced by a summary of `summary_tokens`
  tokens, in each request where that is shorter;
- **prefix caching**: a provider cache of prompt prefixes, as OpenAI's automatic caching
  works: a request reuses the longest prefix (model, tools, then whole messages) of an earlier
  request of the log, used within `cache_ttl_seconds`, if it holds at least
  `cache_min_tokens` tokens; cached tokens come in steps of CACHE_INCREMENT_TOKENS and cost
  the cached-input price instead of the input price.

The savings overlap (minified JSON in an old turn is also replaced by its summary), so they
are not added up.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from typing import Any

import numpy as np

from tokenomix.analytics.histogram import Histogram
from tokenomix.analytics.stats import ReportStats
from tokenomix.logs.batch import RequestBatch
from tokenomix.logs.components import COMPONENTS, INPUT_COMPONENTS, OUTPUT
from tokenomix.logs.savings import MIN_PARAGRAPH_CHARS
from tokenomix.pricing import Price, PriceTable

# OpenAI prompt caching: prompts of 1,024 tokens or more; hits in steps of 128 tokens
# (platform.openai.com/docs/guides/prompt-caching); cached prefixes stay for 5 to 10
# minutes of inactivity, up to an hour off-peak: 300 s is the cautious end.
CACHE_MIN_TOKENS = 1024
CACHE_INCREMENT_TOKENS = 128
CACHE_TTL_SECONDS = 300.0
# Prefixes the cache pass remembers at most (least recently used dropped first).
CACHE_CAPACITY = 1 << 20

#: Parquet columns of the savings of each request.
REQUEST_COLUMNS = (
    "minified_json_saving",
    "duplicate_instructions_saving",
    "rolling_summary_saving",
    "prefix_cached_tokens",
)

_OUTPUT_CAP = re.compile(r"p(\d+(?:\.\d+)?)")


@dataclasses.dataclass(frozen=True)
class SavingsOptions:
    """The assumptions of the savings that rest on one.

    Attributes:
        summary_tokens: tokens of the summary that replaces older turns (framing included).
        output_cap: a number of tokens, or "pNN" for the log's NN-th output percentile.
        cache_min_tokens: the shortest prefix a cache serves.
        cache_ttl_seconds: how long a prefix stays cached after its last use (when both
            requests have a timestamp; otherwise it stays).
    """

    summary_tokens: int = 500
    output_cap: int | str = "p95"
    cache_min_tokens: int = CACHE_MIN_TOKENS
    cache_ttl_seconds: float = CACHE_TTL_SECONDS

    def __post_init__(self) -> None:
        if self.summary_tokens < 0:
            raise ValueError(f"summary_tokens must be 0 or more, got {self.summary_tokens}")
        if self.cache_min_tokens < 1:
            raise ValueError(f"cache_min_tokens must be at least 1, got {self.cache_min_tokens}")
        if not 0 <= self.cache_ttl_seconds < math.inf:
            raise ValueError(
                "cache_ttl_seconds must be a finite number, 0 or more, got "
                f"{self.cache_ttl_seconds}"
            )
        parse_output_cap(self.output_cap)

    def output_cap_tokens(self, outputs: Histogram) -> int | None:
        """Return the cap in tokens (a percentile read off `outputs`; None if it is empty)."""
        cap = parse_output_cap(self.output_cap)
        if isinstance(cap, int):
            return cap
        return outputs.percentile(cap[1])


def parse_output_cap(value: int | str) -> int | tuple[str, float]:
    """Return a cap of tokens (int) or ("p", percentile).

    Raises:
        ValueError: neither a positive number of tokens nor pNN with 0 < NN <= 100.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    text = str(value).strip().lower()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    match = _OUTPUT_CAP.fullmatch(text)
    if match and 0 < float(match[1]) <= 100:
        return ("p", float(match[1]))
    raise ValueError(
        f"output cap must be a number of tokens, 1 or more, or pNN with 0 < NN <= 100 (e.g. "
        f"p95), got {value!r}"
    )


# The prefix cache, in log order -----------------------------------------------------------


class PrefixCache:
    """Replays the log through a prompt cache and tells each request's cached tokens."""

    def __init__(self, options: SavingsOptions, *, capacity: int = CACHE_CAPACITY) -> None:
        self._min = options.cache_min_tokens
        self._ttl = options.cache_ttl_seconds
        self._capacity = capacity
        self._last_use: dict[int, float] = {}

    def feed(self, batch: RequestBatch) -> np.ndarray:
        """Return the cached input tokens of each request of the next batch."""
        cached = np.zeros(len(batch), dtype=np.int64)
        if batch.prefix_keys is None or len(batch.prefix_keys) == 0:
            return cached
        offsets = batch.prefix_offsets
        # Prefix tokens grow along a request's messages: only its longest prefix matters to
        # know whether any reaches the minimum.
        last = offsets[1:] - 1
        has = offsets[1:] > offsets[:-1]
        long_enough = np.zeros(len(batch), dtype=bool)
        long_enough[has] = batch.prefix_tokens[last[has]] >= self._min
        keys, tokens = batch.prefix_keys, batch.prefix_tokens
        for row in np.flatnonzero(long_enough).tolist():
            low, high = int(offsets[row]), int(offsets[row + 1])
            hit = self._request(
                keys[low:high].tolist(), tokens[low:high].tolist(), float(batch.timestamps[row])
            )
            cached[row] = hit // CACHE_INCREMENT_TOKENS * CACHE_INCREMENT_TOKENS
        return cached

    def _request(self, keys: list[int], tokens: list[int], now: float) -> int:
        hit = 0
        for index in range(len(keys) - 1, -1, -1):
            if tokens[index] < self._min:
                break
            used = self._last_use.get(keys[index])
            # A prefix serves the requests of the next ttl seconds, not earlier ones (files
            # read out of time order); undated requests are served by any.
            if used is not None and (
                math.isnan(now) or math.isnan(used) or 0 <= now - used <= self._ttl
            ):
                hit = tokens[index]
                break
        last_use = self._last_use
        for key, count in zip(keys, tokens, strict=True):
            if count >= self._min:
                used = last_use.pop(key, None)
                later = used is not None and not math.isnan(now) and used > now
                last_use[key] = used if later else now
        while len(last_use) > self._capacity:
            del last_use[next(iter(last_use))]
        return hit


# Statistics -------------------------------------------------------------------------------

_KINDS = ("minified_json", "duplicate_instructions", "rolling_summaries")


def request_savings(batch: RequestBatch, options: SavingsOptions) -> dict[str, np.ndarray | None]:
    """Return each request's saving (tokens) for the Parquet columns; None without text."""
    if batch.minify_savings is None or batch.old_tokens is None:
        return dict.fromkeys(REQUEST_COLUMNS)
    return {
        "minified_json_saving": batch.minify_savings.sum(axis=1),
        "duplicate_instructions_saving": batch.duplicate_savings.sum(axis=1),
        "rolling_summary_saving": np.maximum(
            batch.old_tokens.sum(axis=1) - options.summary_tokens, 0
        ),
        "prefix_cached_tokens": batch.prefix_cached_tokens,
    }


class SavingsStats:
    """Savings summed per model and component, batch by batch (merge adds two parts)."""

    def __init__(self, options: SavingsOptions) -> None:
        self.options = options
        # Per model: tokens saved per kind (rows, in _KINDS order) and component; for rolling
        # summaries, the tokens replaced in the requests where the summary is shorter.
        self.tokens: dict[str | None, np.ndarray] = {}
        self.summary_net: collections.Counter[str | None] = collections.Counter()
        self.summarised_turns = 0
        self.cached: collections.Counter[str | None] = collections.Counter()
        self.requests: collections.Counter[str] = collections.Counter()

    def add(self, batch: RequestBatch) -> None:
        """Add the savings of a batch's requests (those with text)."""
        if batch.minify_savings is None or batch.old_tokens is None or len(batch) == 0:
            return
        removed = batch.old_tokens.sum(axis=1)
        pays = removed > self.options.summary_tokens
        net = np.where(pays, removed - self.options.summary_tokens, 0)
        kinds = np.stack(
            [batch.minify_savings, batch.duplicate_savings, batch.old_tokens * pays[:, None]],
            axis=1,
        )
        cached = batch.prefix_cached_tokens
        self.requests["minified_json"] += int((batch.minify_savings.sum(axis=1) > 0).sum())
        self.requests["duplicate_instructions"] += int(
            (batch.duplicate_savings.sum(axis=1) > 0).sum()
        )
        self.requests["rolling_summaries"] += int(pays.sum())
        self.summarised_turns += int((removed > 0).sum())
        if cached is not None:
            self.requests["prefix_caching"] += int((cached > 0).sum())
        models = np.array(batch.models, dtype=object)
        for model in dict.fromkeys(batch.models):
            rows = models == model
            sums = kinds[rows].sum(axis=0)
            if model in self.tokens:
                self.tokens[model] += sums
            else:
                self.tokens[model] = sums
            self.summary_net[model] += int(net[rows].sum())
            if cached is not None:
                self.cached[model] += int(cached[rows].sum())

    def merge(self, other: SavingsStats) -> None:
        """Add the savings of another part of the log (gathered with the same options)."""
        for model, sums in other.tokens.items():
            self.tokens[model] = self.tokens.get(model, 0) + sums
        self.summary_net.update(other.summary_net)
        self.cached.update(other.cached)
        self.requests.update(other.requests)
        self.summarised_turns += other.summarised_turns

    # The JSON section ---------------------------------------------------------------------

    def document(
        self, stats: ReportStats, prices: PriceTable | None, *, summary_keep_turns: int
    ) -> dict[str, Any]:
        """Return the `savings` section of the JSON report (`summary_keep_turns` as the
        recount kept them)."""
        attributed_input = sum(stats.components[name].sum for name in INPUT_COMPONENTS)
        output = stats.components["output"].sum
        cap = self.options.output_cap_tokens(stats.output)
        return {
            "assumptions": {
                "duplicate_min_chars": MIN_PARAGRAPH_CHARS,
                "summary_keep_turns": summary_keep_turns,
                "summary_tokens": self.options.summary_tokens,
                "output_cap": str(self.options.output_cap),
                "cache_min_tokens": self.options.cache_min_tokens,
                "cache_increment_tokens": CACHE_INCREMENT_TOKENS,
                "cache_ttl_seconds": self.options.cache_ttl_seconds,
            },
            "minified_json": self._measured(0, prices, attributed_input + output),
            "duplicate_instructions": self._measured(1, prices, attributed_input),
            "rolling_summaries": self._summaries(prices, attributed_input),
            "output_cap": self._output_cap(stats, prices, cap),
            "prefix_caching": self._caching(stats, prices, attributed_input),
        }

    def _measured(self, kind: int, prices: PriceTable | None, base: int) -> dict[str, Any]:
        by_component = self._by_component(kind)
        tokens = sum(by_component.values())
        usd = self._usd(prices, lambda price, sums: _dollars(price, sums[kind]))
        return {
            "requests": self.requests[_KINDS[kind]],
            "tokens": tokens,
            "share": tokens / base if base else None,
            "by_component": by_component,
            "usd": usd,
        }

    def _summaries(self, prices: PriceTable | None, base: int) -> dict[str, Any]:
        net = sum(self.summary_net.values())
        requests = self.requests["rolling_summaries"]
        return {
            "requests": requests,
            "requests_with_older_turns": self.summarised_turns,
            "tokens": net,
            "share": net / base if base else None,
            "replaced_tokens": sum(self._by_component(2).values()),
            "summary_tokens": requests * self.options.summary_tokens,
            "replaced_by_component": self._by_component(2),
            "usd": self._usd(
                prices,
                lambda price, sums, model: (
                    self.summary_net[model] * price.price_per_million_input_tokens / 1e6
                ),
                with_model=True,
            ),
        }

    def _output_cap(
        self, stats: ReportStats, prices: PriceTable | None, cap: int | None
    ) -> dict[str, Any]:
        if cap is None:
            return {"cap_tokens": None, "requests": 0, "tokens": 0, "share": None, "usd": None}
        tokens = stats.output.excess_above(cap)
        usd = 0.0
        priced = False
        for model, histogram in stats.model_output.groups.items():
            price = prices.get(model) if prices is not None and model is not None else None
            if price is not None:
                priced = True
                usd += histogram.excess_above(cap) * price.price_per_million_output_tokens / 1e6
        return {
            "cap_tokens": cap,
            "requests": stats.output.count_above(cap),
            "tokens": tokens,
            "share": tokens / stats.output.sum if stats.output.sum else None,
            "usd": usd if priced else None,
        }

    def _caching(self, stats: ReportStats, prices: PriceTable | None, base: int) -> dict[str, Any]:
        cached = sum(self.cached.values())
        usd = 0.0
        priced = False
        for model, tokens in self.cached.items():
            price = prices.get(model) if prices is not None and model is not None else None
            if price is not None:
                priced = True
                usd += tokens * _cache_discount(price) / 1e6
        return {
            "requests": self.requests["prefix_caching"],
            "cached_tokens": cached,
            "share": cached / base if base else None,
            "usd": usd if priced else None,
            "billed_cached_tokens": (
                stats.usage["cached_tokens"].sum if stats.usage["cached_tokens"].count else None
            ),
        }

    def _by_component(self, kind: int) -> dict[str, int]:
        total = sum((sums[kind] for sums in self.tokens.values()), np.zeros(len(COMPONENTS)))
        return {name: int(total[i]) for i, name in enumerate(COMPONENTS)}

    def _usd(self, prices: PriceTable | None, cost: Any, *, with_model: bool = False) -> Any:
        usd = 0.0
        priced = False
        for model, sums in self.tokens.items():
            price = prices.get(model) if prices is not None and model is not None else None
            if price is None:
                continue
            priced = True
            usd += cost(price, sums, model) if with_model else cost(price, sums)
        return usd if priced else None


def _dollars(price: Price, by_component: np.ndarray) -> float:
    inputs = int(by_component[:OUTPUT].sum())
    outputs = int(by_component[OUTPUT])
    return (
        inputs * price.price_per_million_input_tokens
        + outputs * price.price_per_million_output_tokens
    ) / 1e6


def _cache_discount(price: Price) -> float:
    # Dollars per million tokens that caching takes off; none without a cached price.
    cached = price.price_per_million_cached_input_tokens
    return 0.0 if cached is None else price.price_per_million_input_tokens - cached
