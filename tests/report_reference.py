"""A slow, plainly written recount of OpenAI chat logs with tiktoken, for the tests.

It follows the rules as docs/report.md states them, one request at a time, with none of the
fast path's batching, deduplication or vector arithmetic, and computes every figure of the
JSON report from the per-request results with NumPy.
"""

from __future__ import annotations

import base64
import collections
import datetime
import io
import json
import math
import re
from typing import Any

import imagesize
import numpy as np

from conftest import reference_encoding

ENCODING_OF = {  # the models the generated logs use, as tiktoken 0.14 maps them
    "gpt-4o": "o200k_base",
    "gpt-4o-mini": "o200k_base",
    "o3-mini": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
}
REASONING = ("o1", "o3", "o4-mini", "gpt-5")
TILES = {"gpt-4o-mini": (2833, 5667), "gpt-4o": (85, 170)}
TOOLS = {"o200k_base": (7, 3, 3, -3, 3, 12), "cl100k_base": (10, 3, 3, -3, 3, 12)}
COMPONENTS = ("system", "tools", "context", "history", "user", "images", "overhead", "output")


def count(encoding: str, text: str) -> int:
    return len(reference_encoding(encoding).encode_ordinary(text))


def recount_record(
    record: dict[str, Any],
    *,
    context_pattern: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Return one request's figures: components, output, flags, usage, model, ..."""
    messages = list(record["messages"])
    response = record.get("response")
    output_texts = None
    response_model = None
    usage = None
    tool_output = False
    if response is not None:
        response_model = response.get("model")
        if response.get("choices") is not None:
            output_texts = []
            for choice in response["choices"]:
                texts, calls = message_texts(choice["message"])
                output_texts += texts
                tool_output = tool_output or calls
        usage = response.get("usage")
    elif messages[-1].get("role") == "assistant":
        output_texts, tool_output = message_texts(messages.pop())
    if usage is None:
        usage = record.get("usage")

    model = record.get("model")
    names = [m for m in (model, response_model) if m]
    known = next((m for m in names if base_model(m) is not None), None)
    encoding = ENCODING_OF[base_model(known)] if known else "o200k_base"
    name = known or (names[0] if names else None)
    flags = set() if known else {"encoding_guessed", "framing_unpublished"}

    parts = dict.fromkeys(COMPONENTS, 0)
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    for index, message in enumerate(messages):
        role = message["role"]
        if index == last_user:
            component = "user"
        elif role in ("system", "developer"):
            component = "system"
        elif role in ("tool", "function"):
            component = "context"
        else:
            component = "history"
        parts["overhead"] += 3
        for key, value in message.items():
            if key == "content":
                text = content_text(value, parts, flags, known, image_size)
                add_text(parts, component, text, encoding, context_pattern)
            elif key == "tool_calls":
                flags.add("tools")
                for call in value:
                    parts[component] += count(encoding, call["function"]["name"])
                    parts[component] += count(encoding, call["function"]["arguments"])
            elif isinstance(value, str):
                parts["overhead"] += count(encoding, value)
                if key == "name":
                    parts["overhead"] += 1
    priming = 2 if known and known.startswith(REASONING) else 3
    parts["overhead"] += priming

    tools = record.get("tools") or []
    if tools:
        flags.add("tools")
        start, props, prop, enum_start, enum_item, end = TOOLS[encoding]
        for tool in tools:
            function = tool["function"]
            parts["tools"] += start
            parts["tools"] += count(
                encoding, f"{function['name']}:{drop(function.get('description', ''))}"
            )
            properties = (function.get("parameters") or {}).get("properties") or {}
            if properties:
                parts["tools"] += props
                for key, schema in properties.items():
                    parts["tools"] += prop
                    if "enum" in schema:
                        parts["tools"] += enum_start
                        for item in schema["enum"]:
                            parts["tools"] += enum_item + count(encoding, str(item))
                    parts["tools"] += count(
                        encoding,
                        f"{key}:{schema.get('type', '')}:{drop(schema.get('description', ''))}",
                    )
        parts["tools"] += end
    if tool_output:
        flags.add("tools")

    has_output = output_texts is not None
    parts["output"] = sum(count(encoding, t) for t in output_texts) if has_output else 0
    conversation = record.get("conversation_id")
    images = parts.pop("_images", 0)
    unmeasured = parts.pop("_unmeasured", 0)
    return {
        "model": name,
        "encoding": encoding,
        "components": parts,
        "input": sum(v for k, v in parts.items() if k != "output"),
        "output": parts["output"] if has_output else None,
        "flags": flags,
        "usage": normal_usage(usage),
        "day": day_of(record.get("timestamp")),
        "conversation": None if conversation is None else str(conversation),
        "user_turns": sum(m["role"] == "user" for m in messages),
        "images": images,
        "images_unmeasured": unmeasured,
    }


def base_model(model: str) -> str | None:
    for name in sorted(ENCODING_OF, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return name
    return None


def drop(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def message_texts(message: dict[str, Any]) -> tuple[list[str], bool]:
    texts = []
    if isinstance(message.get("content"), str):
        texts.append(message["content"])
    calls = message.get("tool_calls") or []
    for call in calls:
        texts += [call["function"]["name"], call["function"]["arguments"]]
    return texts, bool(calls)


def content_text(
    content: Any,
    parts: dict[str, int],
    flags: set[str],
    model: str | None,
    image_size: tuple[int, int] | None,
) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part["type"] == "text":
            texts.append(part["text"])
        elif part["type"] == "image_url":
            add_image(part["image_url"], parts, flags, model, image_size)
    return "".join(texts)


def add_image(
    image: dict[str, Any],
    parts: dict[str, int],
    flags: set[str],
    model: str | None,
    image_size: tuple[int, int] | None,
) -> None:
    rule = None
    if model is not None:
        for prefix in sorted(TILES, key=len, reverse=True):
            if model.startswith(prefix):
                rule = TILES[prefix]
                break
    if rule is None:
        flags.add("image_unmeasured")
        parts["_unmeasured"] = parts.get("_unmeasured", 0) + 1
        return
    base, tile = rule
    detail = image.get("detail")
    url = image["url"]
    if detail == "low":
        tokens = base
    else:
        if url.startswith("data:"):
            data = base64.b64decode(url.split(",", 1)[1])
            width, height = imagesize.get(io.BytesIO(data))
        elif image_size is not None:
            flags.add("image_assumed_size")
            width, height = image_size
        else:
            flags.add("image_unmeasured")
            parts["_unmeasured"] = parts.get("_unmeasured", 0) + 1
            return
        tokens = base + tile * tiles(width, height)
    parts["images"] += tokens
    parts["_images"] = parts.get("_images", 0) + 1


def tiles(width: int, height: int) -> int:
    # The published steps, in exact rational arithmetic.
    from fractions import Fraction

    w, h = Fraction(width), Fraction(height)
    if max(w, h) > 2048:
        w, h = w * 2048 / max(w, h), h * 2048 / max(w, h)
    if min(w, h) > 768:
        w, h = w * 768 / min(w, h), h * 768 / min(w, h)
    return math.ceil(w / 512) * math.ceil(h / 512)


def add_text(
    parts: dict[str, int], component: str, text: str, encoding: str, pattern: str | None
) -> None:
    whole = count(encoding, text)
    if pattern and component in ("system", "user", "history"):
        spans = [m.group(0) for m in re.finditer(pattern, text) if m.group(0)]
        context = min(whole, sum(count(encoding, s) for s in spans))
        parts["context"] += context
        parts[component] += whole - context
    else:
        parts[component] += whole


def normal_usage(usage: Any) -> tuple[int | None, ...] | None:
    if not usage:
        return None
    details = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return (
        usage.get("prompt_tokens"),
        details.get("cached_tokens"),
        None,
        usage.get("completion_tokens"),
        completion.get("reasoning_tokens"),
    )


def day_of(timestamp: Any) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.astimezone(datetime.timezone.utc).date().isoformat()


# The document -----------------------------------------------------------------------------


def summary(values: list[int]) -> dict[str, Any]:
    if not values:
        return {
            "count": 0,
            "sum": 0,
            "mean": None,
            "min": None,
            "p50": None,
            "p95": None,
            "p99": None,
            "max": None,
        }
    array = np.array(values, dtype=np.int64)
    result = {
        "count": len(values),
        "sum": int(array.sum()),
        "mean": int(array.sum()) / len(values),
        "min": int(array.min()),
    }
    for q in (50, 95, 99):
        result[f"p{q}"] = int(np.percentile(array, q, method="inverted_cdf"))
    result["max"] = int(array.max())
    return result


def bundled_prices() -> dict[str, dict[str, float]]:
    # Read the shipped file directly, not through tokenomix.pricing.
    import importlib.util
    import pathlib

    package = pathlib.Path(importlib.util.find_spec("tokenomix").origin).parent
    text = (package / "pricing" / "data" / "prices.json").read_text(encoding="utf-8")
    return json.loads(text)["prices"]


def dollars(
    entry: dict[str, float], *, prompt: int, output: int, cached: int = 0, reasoning: int = 0
) -> float:
    cached_price = entry.get("cached_input", entry["input"])
    reasoning_price = entry.get("reasoning", entry["output"])
    return (
        (prompt - cached) * entry["input"]
        + cached * cached_price
        + (output - reasoning) * entry["output"]
        + reasoning * reasoning_price
    ) / 1e6


def expected_document(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure of the JSON report that depends on the requests, computed plainly."""
    prices = bundled_prices()
    with_output = [r for r in requests if r["output"] is not None]
    doc: dict[str, Any] = {
        "requests": len(requests),
        "requests_attributed": len(requests),
        "requests_with_output": len(with_output),
        "input_tokens": summary([r["input"] for r in requests]),
        "output_tokens": summary([r["output"] for r in with_output]),
        "total_tokens": summary([r["input"] + r["output"] for r in with_output]),
        "components": {
            name: summary(
                [r["components"][name] for r in (with_output if name == "output" else requests)]
            )
            for name in COMPONENTS
        },
    }
    total_input = sum(r["input"] for r in requests)
    doc["input_shares"] = {
        name: sum(r["components"][name] for r in requests) / total_input for name in COMPONENTS[:-1]
    }
    output_sum = sum(r["output"] for r in with_output)
    doc["input_output_ratio"] = sum(r["input"] for r in with_output) / output_sum
    flags = collections.Counter(f for r in requests for f in r["flags"])
    doc["approximate"] = {
        "requests": sum(bool(r["flags"]) for r in requests),
        "by_reason": dict(sorted(flags.items())),
    }
    doc["encodings"] = dict(sorted(collections.Counter(r["encoding"] for r in requests).items()))
    doc["images"] = {
        "counted": sum(r["images"] for r in requests),
        "unmeasured": sum(r["images_unmeasured"] for r in requests),
    }

    by_model = collections.defaultdict(list)
    for r in requests:
        by_model[r["model"]].append(r)
    models = []
    recount_total = billed_total = 0.0
    any_billed = False
    for model, rows in sorted(by_model.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        entry = prices.get(model)
        outputs = [r["output"] for r in rows if r["output"] is not None]
        recount = billed = None
        if entry is not None:
            recount = dollars(entry, prompt=sum(r["input"] for r in rows), output=sum(outputs))
            billed_rows = [r for r in rows if r["usage"] is not None]
            if billed_rows:
                billed = dollars(
                    entry,
                    prompt=sum(r["usage"][0] or 0 for r in billed_rows),
                    cached=sum(r["usage"][1] or 0 for r in billed_rows),
                    output=sum(r["usage"][3] or 0 for r in billed_rows),
                    reasoning=sum(r["usage"][4] or 0 for r in billed_rows),
                )
        models.append(
            {
                "model": model,
                "encoding": rows[0]["encoding"],
                "requests": len(rows),
                "input_tokens": summary([r["input"] for r in rows]),
                "output_tokens": summary(outputs),
                "recount_usd": recount,
                "billed_usd": billed,
            }
        )
    for model in sorted(by_model, key=str):
        for entry in models:
            if entry["model"] == model and entry["recount_usd"] is not None:
                recount_total += entry["recount_usd"]
                if entry["billed_usd"] is not None:
                    billed_total += entry["billed_usd"]
                    any_billed = True
    doc["models"] = models
    priced = [r for r in requests if r["model"] in prices]
    doc["cost"] = {
        "requests_priced": len(priced),
        "requests_unpriced": len(requests) - len(priced),
        "unpriced_models": sorted(
            {r["model"] for r in requests if r["model"] not in prices}, key=str
        ),
        "recount_usd": recount_total if priced else None,
        "billed_usd": billed_total if any_billed else None,
    }

    days = collections.defaultdict(list)
    for r in requests:
        if r["day"] is not None:
            days[r["day"]].append(r)
    doc["days"] = [
        {
            "day": day,
            "requests": len(rows),
            "input_tokens": summary([r["input"] for r in rows]),
            "system_tokens": summary([r["components"]["system"] for r in rows]),
        }
        for day, rows in sorted(days.items())
    ]
    doc["undated_requests"] = sum(r["day"] is None for r in requests)

    seen: collections.Counter[str] = collections.Counter()
    turns = collections.defaultdict(list)
    for r in requests:
        if r["conversation"] is not None:
            seen[r["conversation"]] += 1
            turn = seen[r["conversation"]]
        else:
            turn = r["user_turns"]
        if turn > 0:
            turns[turn].append(r)
    doc["turns"] = [
        {
            "turn": turn,
            "requests": len(rows),
            "input_tokens": summary([r["input"] for r in rows]),
            "history_tokens": summary([r["components"]["history"] for r in rows]),
        }
        for turn, rows in sorted(turns.items())
    ]

    billed = [r for r in requests if r["usage"] is not None]
    prompt_rows = [r for r in billed if r["usage"][0] is not None]
    exact_rows = [r for r in prompt_rows if not r["flags"]]
    completion_rows = [r for r in billed if r["usage"][3] is not None and r["output"] is not None]
    prompt_diff = [r["input"] - r["usage"][0] for r in prompt_rows]
    exact_diff = [r["input"] - r["usage"][0] for r in exact_rows]
    completion_diff = [r["output"] - r["usage"][3] for r in completion_rows]
    doc["usage"] = {
        "requests": len(billed),
        "prompt_tokens": summary([r["usage"][0] for r in prompt_rows]),
        "cached_tokens": summary([r["usage"][1] for r in billed if r["usage"][1] is not None]),
        "cache_write_tokens": summary([]),
        "completion_tokens": summary([r["usage"][3] for r in billed if r["usage"][3] is not None]),
        "reasoning_tokens": summary([r["usage"][4] for r in billed if r["usage"][4] is not None]),
        "prompt_difference": summary(prompt_diff),
        "prompt_exact_matches": prompt_diff.count(0),
        "exact_rule_prompt_difference": summary(exact_diff),
        "exact_rule_prompt_exact_matches": exact_diff.count(0),
        "completion_difference": summary(completion_diff),
        "completion_exact_matches": completion_diff.count(0),
    }
    return doc
