"""Prices of models per million tokens, and the dated table they come from.

Provider usage splits tokens differently, and a cost must not count any token twice:

- OpenAI-style `prompt_tokens` *include* the cached tokens (`cached_tokens` is a part of
  them, billed at the cached rate); `completion_tokens` *include* the reasoning tokens.
- Anthropic's `input_tokens` *exclude* cache reads and cache writes, which are reported
  beside them; `output_tokens` include thinking.

`Price.cost_usd` takes the OpenAI convention (inputs include cached and cache-write tokens,
outputs include reasoning tokens); the log readers convert Anthropic usage into it.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import pathlib
from collections.abc import Iterator, Mapping
from typing import Any

_BUNDLED = "prices.json"


@dataclasses.dataclass(frozen=True)
class Price:
    """What a model costs, in US dollars per million tokens.

    The cached-input, cache-write and reasoning prices are None where the source lists none:
    such tokens then cost the ordinary input (or output) price.
    """

    model: str
    price_per_million_input_tokens: float
    price_per_million_output_tokens: float
    price_per_million_cached_input_tokens: float | None = None
    price_per_million_cache_write_input_tokens: float | None = None
    price_per_million_reasoning_tokens: float | None = None
    provider: str = ""

    def cost_usd(
        self,
        *,
        input_tokens: Any,
        output_tokens: Any = 0,
        cached_input_tokens: Any = 0,
        cache_write_input_tokens: Any = 0,
        reasoning_tokens: Any = 0,
    ) -> Any:
        """Return the dollars of a request (or of arrays of requests, element-wise).

        Args:
            input_tokens: every input token, cached and cache-write ones included (OpenAI's
                `prompt_tokens`).
            output_tokens: every output token, reasoning included (`completion_tokens`).
            cached_input_tokens: the part of the input read from the prompt cache.
            cache_write_input_tokens: the part of the input written to the prompt cache.
            reasoning_tokens: the part of the output spent on reasoning.

        >>> Price("m", 2.5, 10.0, 1.25).cost_usd(
        ...     input_tokens=2000, cached_input_tokens=1500, output_tokens=300)
        0.006125
        """
        fresh = input_tokens - cached_input_tokens - cache_write_input_tokens
        answer = output_tokens - reasoning_tokens
        input_price = self.price_per_million_input_tokens
        output_price = self.price_per_million_output_tokens
        micro = (
            fresh * input_price
            + cached_input_tokens * _or(self.price_per_million_cached_input_tokens, input_price)
            + cache_write_input_tokens
            * _or(self.price_per_million_cache_write_input_tokens, input_price)
            + answer * output_price
            + reasoning_tokens * _or(self.price_per_million_reasoning_tokens, output_price)
        )
        return micro / 1_000_000

    def to_dict(self) -> dict[str, Any]:
        """Return the prices under the keys of the price-file format."""
        entry = {
            "provider": self.provider,
            "input": self.price_per_million_input_tokens,
            "cached_input": self.price_per_million_cached_input_tokens,
            "cache_write_input": self.price_per_million_cache_write_input_tokens,
            "output": self.price_per_million_output_tokens,
            "reasoning": self.price_per_million_reasoning_tokens,
        }
        return {key: value for key, value in entry.items() if value not in (None, "")}


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class PriceTable(Mapping[str, Price]):
    """Prices by model name, with the date and source they were taken from.

    Lookups try the name as given, then in lower case, then, for a fine-tuned model named
    `ft:BASE:org::id`, the `ft:BASE` entry. Nothing fuzzier: a model not in the table is
    reported as unpriced rather than priced as a look-alike.
    """

    def __init__(self, prices: Mapping[str, Price], *, date: str, source: str) -> None:
        self._prices = dict(prices)
        self.date = date
        self.source = source

    def __getitem__(self, model: str) -> Price:
        price = self.get(model)
        if price is None:
            raise KeyError(f"no price for model {model!r}; add it with a price file (--prices)")
        return price

    def get(self, model: str, default: Price | None = None) -> Price | None:  # type: ignore[override]
        """Return the price of a model, or `default` when the table has none."""
        if not isinstance(model, str):
            return default
        for name in _candidates(model):
            price = self._prices.get(name)
            if price is not None:
                return price
        return default

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    def describe(self) -> dict[str, str]:
        """Return the date and source of the table, as reports print them."""
        return {"date": self.date, "source": self.source}


def _candidates(model: str) -> Iterator[str]:
    yield model
    yield model.lower()
    if "/" in model:  # a provider prefix, as in "openai/gpt-4o"
        yield model.rsplit("/", 1)[-1].lower()
    if model.startswith("ft:"):
        yield "ft:" + model[3:].split(":", 1)[0]


def default_prices() -> PriceTable:
    """Return the price table shipped with the package (its date says how old it is)."""
    text = importlib.resources.files(__package__).joinpath("data", _BUNDLED).read_text("utf-8")
    return parse_prices(json.loads(text), origin="the bundled price table")


def load_prices(path: str | pathlib.Path) -> PriceTable:
    """Read a price file: this package's format, or LiteLLM's model_prices JSON.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not JSON of either format.
    """
    path = pathlib.Path(path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON price file: {error}") from error
    table = parse_prices(document, origin=str(path))
    if table.source == "":
        table.source = str(path)
    return table


def parse_prices(document: Any, *, origin: str) -> PriceTable:
    """Build a table from a parsed price document (either supported format)."""
    if isinstance(document, dict) and isinstance(document.get("prices"), dict):
        return _parse_native(document, origin)
    if isinstance(document, dict) and any(
        isinstance(entry, dict) and "input_cost_per_token" in entry for entry in document.values()
    ):
        prices = {
            name: price
            for name, entry in document.items()
            if (price := price_from_litellm(name, entry)) is not None
        }
        return PriceTable(prices, date="", source=f"LiteLLM model prices from {origin}")
    raise ValueError(
        f"{origin}: not a price file: expected {{'date', 'source', 'prices': {{model: {{input, "
        "output, ...}}} or LiteLLM's model_prices_and_context_window.json"
    )


def _parse_native(document: dict[str, Any], origin: str) -> PriceTable:
    prices = {}
    for model, entry in document["prices"].items():
        try:
            prices[model] = Price(
                model,
                _number(entry["input"]),
                _number(entry["output"]),
                _optional(entry.get("cached_input")),
                _optional(entry.get("cache_write_input")),
                _optional(entry.get("reasoning")),
                str(entry.get("provider", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"{origin}: the price of {model!r} needs numbers 'input' and 'output' (USD per "
                f"million tokens), and optionally 'cached_input', 'cache_write_input', "
                f"'reasoning': {error}"
            ) from error
    return PriceTable(
        prices, date=str(document.get("date", "")), source=str(document.get("source", ""))
    )


def price_from_litellm(model: str, entry: Any) -> Price | None:
    """Convert one LiteLLM entry (USD per token) to a Price, or None if it lacks one."""
    if not isinstance(entry, dict):
        return None
    per_token = {key: entry.get(key) for key in _LITELLM_KEYS}
    if not all(isinstance(per_token[key], (int, float)) for key in _LITELLM_KEYS[:2]):
        return None
    per_million = {key: _per_million(value) for key, value in per_token.items()}
    return Price(
        model,
        per_million["input_cost_per_token"],
        per_million["output_cost_per_token"],
        per_million["cache_read_input_token_cost"],
        per_million["cache_creation_input_token_cost"],
        per_million["output_cost_per_reasoning_token"],
        str(entry.get("litellm_provider", "")),
    )


_LITELLM_KEYS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "output_cost_per_reasoning_token",
)


def _per_million(value: Any) -> float | None:
    # 2.5e-06 * 1e6 is 2.4999999999999996 in binary floating point; going through the
    # decimal text of the number gives back the price as the provider lists it.
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    from decimal import Decimal

    return float(Decimal(repr(value)) * 1_000_000)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative number")
    return float(value)


def _optional(value: Any) -> float | None:
    return None if value is None else _number(value)
