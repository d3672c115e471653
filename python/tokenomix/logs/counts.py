"""Numbers of tokens as logs and traces write them."""

from __future__ import annotations

from typing import Any

#: The most tokens one request may have: 2**40, the cost estimator's bound as well.
MAX_TOKENS = 1 << 40


def token_count(value: Any, name: str) -> int:
    """The number of tokens a log or trace gives in its field or cell `name`.

    A whole number at least 0, given as an int, as a float with no fraction (a column with
    gaps is stored as floats: 100.0) or as text spelling either ("100", "1e3").

    Raises:
        ValueError: naming the field and what is wrong with the value.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"no {name}")
    number = value
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{name} is {value!r}, not a number of tokens") from None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"{name} is {number!r}, not a whole number of tokens")
    if number < 0:
        raise ValueError(f"{name} is {number}, a negative number of tokens")
    if number > MAX_TOKENS:
        raise ValueError(f"{name} is {number}, more than 2**40 tokens")
    return number
