"""Provider-reported usage, brought to one convention.

The convention is OpenAI's: `prompt_tokens` counts every input token (cached and
cache-write ones included) and `completion_tokens` every output token (reasoning included).
Anthropic reports `input_tokens` without the cache reads and writes; they are added back.
Usage that a record does not carry is None, never zero.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tokenomix.logs.counts import token_count
from tokenomix.logs.errors import RecordError, json_kind


class Usage(NamedTuple):
    """Billed tokens of one request; a field is None where the provider did not report it."""

    prompt_tokens: int | None
    cached_tokens: int | None
    cache_write_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None


USAGE_FIELDS = Usage._fields


def parse_usage(usage: Any, *, anthropic: bool = False) -> Usage | None:
    """Return the usage of a response, or None when there is none.

    Accepts chat-completions usage (`prompt_tokens`, `prompt_tokens_details.cached_tokens`,
    `completion_tokens_details.reasoning_tokens`), Responses usage (`input_tokens`,
    `input_tokens_details`, `output_tokens_details`) and Anthropic usage (`input_tokens`
    without `cache_read_input_tokens` and `cache_creation_input_tokens`).

    Raises:
        RecordError: a count is present but is not a non-negative integer.
    """
    if usage is None:
        return None
    if not isinstance(usage, dict):
        raise RecordError("wrong shape", f"usage is {json_kind(usage)}, not an object")
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return Usage(
            _count(usage, "prompt_tokens"),
            _count(usage.get("prompt_tokens_details"), "cached_tokens"),
            None,
            _count(usage, "completion_tokens"),
            _count(usage.get("completion_tokens_details"), "reasoning_tokens"),
        )
    if anthropic or "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
        return _anthropic(usage)
    if "input_tokens" in usage or "output_tokens" in usage:
        return Usage(
            _count(usage, "input_tokens"),
            _count(usage.get("input_tokens_details"), "cached_tokens"),
            None,
            _count(usage, "output_tokens"),
            _count(usage.get("output_tokens_details"), "reasoning_tokens"),
        )
    return None


def _anthropic(usage: dict[str, Any]) -> Usage:
    fresh = _count(usage, "input_tokens")
    read = _count(usage, "cache_read_input_tokens")
    write = _count(usage, "cache_creation_input_tokens")
    prompt = None if fresh is None else fresh + (read or 0) + (write or 0)
    return Usage(prompt, read, write, _count(usage, "output_tokens"), None)


def _count(mapping: Any, key: str) -> int | None:
    if not isinstance(mapping, dict):
        return None
    value = mapping.get(key)
    if value is None:
        return None
    try:
        return token_count(value, f"usage {key}")
    except ValueError as error:
        raise RecordError("wrong shape", str(error)) from None
