"""Prices: the bundled dated table, price files, and costs that count no token twice."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from tokenomix.pricing import Price, PriceTable, default_prices, load_prices


def cost_case(shared_dir, case_id):
    lines = (shared_dir / "cases" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    record = next(json.loads(line) for line in lines if json.loads(line)["id"] == case_id)
    return json.loads(record["input"]), Decimal(record["expected_cost_usd"])


def test_cached_tokens_are_part_of_the_prompt(shared_dir):
    # cases.jsonl C28: right $0.006125; double-billed $0.009875; no discount $0.008.
    data, expected = cost_case(shared_dir, "C28")
    usage, per_million = data["usage"], data["price_per_1M"]
    price = Price("m", per_million["input"], per_million["output"], per_million["cached_input"])
    cost = price.cost_usd(
        input_tokens=usage["prompt_tokens"],
        cached_input_tokens=usage["prompt_tokens_details"]["cached_tokens"],
        output_tokens=usage["completion_tokens"],
    )
    assert cost == pytest.approx(float(expected), rel=1e-12)


def test_reasoning_tokens_are_part_of_the_completion(shared_dir):
    # cases.jsonl C29: right $0.7923; adding reasoning again gives $1.0371.
    data, expected = cost_case(shared_dir, "C29")
    usage, per_million = data["usage"], data["price_per_1M"]
    price = Price("m", per_million["input"], per_million["output"])
    cost = price.cost_usd(
        input_tokens=usage["prompt_tokens"],
        output_tokens=usage["completion_tokens"],
        reasoning_tokens=usage["completion_tokens_details"]["reasoning_tokens"],
    )
    assert cost == pytest.approx(float(expected), rel=1e-12)


def test_separate_prices_for_cache_writes_and_reasoning():
    price = Price("m", 3.0, 15.0, 0.3, 3.75, 20.0)
    cost = price.cost_usd(
        input_tokens=1000,
        cached_input_tokens=600,
        cache_write_input_tokens=300,
        output_tokens=100,
        reasoning_tokens=40,
    )
    assert cost == pytest.approx((100 * 3 + 600 * 0.3 + 300 * 3.75 + 60 * 15 + 40 * 20) / 1e6)


def test_costs_of_arrays():
    price = Price("m", 2.5, 10.0, 1.25)
    costs = price.cost_usd(
        input_tokens=np.array([1000, 2000]),
        output_tokens=np.array([10, 0]),
        cached_input_tokens=np.array([0, 2000]),
    )
    assert costs.tolist() == pytest.approx([0.0026, 0.0025])


def test_the_bundled_table_is_dated_and_sourced():
    prices = default_prices()
    assert len(prices) > 100
    assert prices.date == "2026-12-03"
    assert "LiteLLM" in prices.source
    gpt4o = prices["gpt-4o"]
    assert (
        gpt4o.price_per_million_input_tokens,
        gpt4o.price_per_million_cached_input_tokens,
        gpt4o.price_per_million_output_tokens,
    ) == (2.5, 1.25, 10.0)
    claude = prices["claude-sonnet-4-5"]
    assert claude.price_per_million_cache_write_input_tokens == 3.75
    assert prices["GPT-4o"] is gpt4o
    assert (
        prices.get("ft:gpt-4o-mini-2024-07-18:acme::abc123") is prices["ft:gpt-4o-mini-2024-07-18"]
    )
    assert prices.get("no-such-model") is None
    with pytest.raises(KeyError, match="--prices"):
        prices["no-such-model"]


def test_the_bundled_table_matches_its_source(shared_dir):
    source = json.loads(
        (shared_dir / "pricing" / "litellm_model_prices_and_context_window.json").read_text()
    )
    prices = default_prices()
    for model in ("gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1", "claude-sonnet-4-5"):
        entry = source[model]
        price = prices[model]
        assert price.price_per_million_input_tokens == pytest.approx(
            entry["input_cost_per_token"] * 1e6
        )
        assert price.price_per_million_output_tokens == pytest.approx(
            entry["output_cost_per_token"] * 1e6
        )
        assert price.price_per_million_cached_input_tokens == pytest.approx(
            entry["cache_read_input_token_cost"] * 1e6
        )


def test_model_names_as_logs_write_them():
    prices = default_prices()
    for name in ("GPT-4o", "openai/gpt-4o", "OpenAI/GPT-4o"):
        assert prices.get(name) == prices.get("gpt-4o"), name
    assert prices.get("azure/gpt-4o") is not None
    assert prices.get("openai/no-such-model") is None


def test_price_files_of_both_formats(tmp_path, shared_dir):
    native = tmp_path / "prices.json"
    native.write_text(
        json.dumps(
            {
                "date": "2025-01-01",
                "source": "our contract",
                "prices": {"house-model": {"input": 1, "output": 2}},
            }
        )
    )
    table = load_prices(native)
    assert (table.date, table.source) == ("2025-01-01", "our contract")
    assert table["house-model"].price_per_million_output_tokens == 2.0
    assert table["house-model"].price_per_million_cached_input_tokens is None
    litellm = load_prices(shared_dir / "pricing" / "litellm_model_prices_and_context_window.json")
    assert litellm["gpt-4o"].price_per_million_input_tokens == 2.5
    assert isinstance(litellm, PriceTable)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"a": 1}',
        '{"prices": {"m": {"input": 1}}}',
        '{"prices": {"m": {"input": -1, "output": 1}}}',
    ],
)
def test_bad_price_files(tmp_path, content):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=str(path).replace(".", r"\.")):
        load_prices(path)
    with pytest.raises(FileNotFoundError):
        load_prices(tmp_path / "missing.json")


def test_the_cost_estimator_takes_a_table_price():
    # tokenomix.cost.estimate accepts any object with the three per-million attributes.
    from tokenomix.cost import estimate

    price = default_prices()["gpt-4o"]
    result = estimate(
        [2000, 4000],
        [300, 0],
        cached_tokens=[1500, 0],
        model="Llama-3.1-8B",
        gpu="H100",
        price=price,
    )
    expected = [
        price.cost_usd(input_tokens=2000, cached_input_tokens=1500, output_tokens=300),
        price.cost_usd(input_tokens=4000, output_tokens=0),
    ]
    assert [float(x) for x in result.cost_usd] == pytest.approx(expected, rel=1e-9)
