"""Model prices per million tokens: a dated table shipped with the package, or your own.

>>> from tokenomix.pricing import default_prices
>>> price = default_prices()["gpt-4o"]
>>> price.price_per_million_input_tokens, price.price_per_million_output_tokens
(2.5, 10.0)
"""

from tokenomix.pricing.table import (
    Price,
    PriceTable,
    default_prices,
    load_prices,
    parse_prices,
    price_from_litellm,
)

__all__ = [
    "Price",
    "PriceTable",
    "default_prices",
    "load_prices",
    "parse_prices",
    "price_from_litellm",
]
