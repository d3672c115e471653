"""Telling a log's format from its name and first records."""

from __future__ import annotations

import json
from typing import Any

import orjson

from tokenomix.logs.sources import BOM

_COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")
_ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking", "document"}
SAMPLE_RECORDS = 20


def table_kind(path: str) -> str | None:
    """Return "csv" or "parquet" for a tabular trace (by file name), else None."""
    name = path.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    return None


def sample_records(head: bytes) -> list[Any]:
    """Parse the first lines of a file; return the JSON values of those that parse."""
    values = []
    head = head.removeprefix(BOM)
    for line in head.split(b"\n")[:-1] or [head]:
        if not line.strip():
            continue
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            try:  # lone surrogate escapes: valid JSON that orjson refuses
                values.append(json.loads(line.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                continue
        if len(values) >= SAMPLE_RECORDS:
            break
    return values


def lines_of_objects(head: bytes) -> bool:
    """Whether the first lines of a file each look like one JSON object ("{...}"), parsed or
    not: JSON Lines, perhaps with bad lines, rather than one pretty-printed document."""
    lines = [line.strip() for line in head.split(b"\n")[:-1] or [head]]
    lines = [line.removeprefix(BOM) for line in lines if line]
    return bool(lines) and all(line[:1] == b"{" and line[-1:] == b"}" for line in lines)


def classify(record: Any) -> tuple[str, str | None] | None:
    """Return (format, role) of one record, or None when it fits no format."""
    if not isinstance(record, dict):
        return None
    if "custom_id" in record and "body" in record:
        return "openai-batch", "input"
    if "custom_id" in record and ("response" in record or "error" in record):
        return "openai-batch", "output"
    if "conversations" in record:
        return "sharegpt", None
    if "messages" in record:
        return ("anthropic", None) if looks_anthropic(record) else ("openai-chat", None)
    if any(key in record for key in ("input_length", "ContextTokens", "prompt_tokens")):
        return "trace", "jsonl"
    return None


def looks_anthropic(record: dict[str, Any]) -> bool:
    """Tell an Anthropic Messages request from an OpenAI chat request."""
    model = record.get("model")
    if "anthropic_version" in record or "system" in record:
        return True
    if isinstance(model, str) and model.startswith(("claude", "anthropic")):
        return True
    response = record.get("response")
    if isinstance(response, dict) and response.get("type") == "message":
        return True
    for message in record.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and (
                block.get("type") in _ANTHROPIC_BLOCKS
                or (block.get("type") == "image" and "source" in block)
            ):
                return True
    return False


def vote(records: list[Any]) -> tuple[str, str | None] | None:
    """Return the format most of the sampled records fit (the first one on a tie)."""
    tally: dict[tuple[str, str | None], int] = {}
    for record in records:
        kind = classify(record)
        if kind is not None:
            tally[kind] = tally.get(kind, 0) + 1
    return max(tally, key=tally.__getitem__) if tally else None
