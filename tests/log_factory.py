"""Generated OpenAI chat logs of real text, for tests and benchmarks.

`chat_log(seed)` builds records that use every feature the chat reader knows (names, tool
definitions with enums, tool calls and results, content parts, images as data URIs and as
URLs, responses with and without usage, a final assistant message as the output, streams of
requests in a conversation, several models) from the shared corpus, deterministically.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import random
import struct
import zlib
from typing import Any

from conftest import SHARED

MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "o3-mini",
    "gpt-4",
    "gpt-4o-2024-08-06",
    "gpt-4.1",
    "llama-3-70b-instruct",
)


@functools.cache
def corpus_text() -> str:
    parts = []
    for relative in (
        "prose/botchan_en.txt",
        "markdown/llama.cpp_docs_MIT.md",
        "code/python_tiktoken_MIT.py",
        "multilingual/udhr_fr.txt",
        "multilingual/udhr_ar.txt",
        "json/octokit/labels.json",
    ):
        parts.append((SHARED / "corpus" / relative).read_text(encoding="utf-8"))
    return "\n".join(parts)


def snippet(rng: random.Random, low: int, high: int) -> str:
    text = corpus_text()
    size = rng.randint(low, high)
    start = rng.randrange(0, len(text) - size)
    return text[start : start + size]


def png(width: int, height: int) -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(data).decode()


TOOL = {
    "type": "function",
    "function": {
        "name": "search_documents",
        "description": "Search the knowledge base.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "scope": {
                    "type": "string",
                    "description": "Where to look",
                    "enum": ["docs", "tickets", "code"],
                },
                "limit": {"type": "integer", "description": "At most this many results."},
            },
            "required": ["query"],
        },
    },
}


def chat_record(rng: random.Random, index: int) -> dict[str, Any]:
    model = rng.choice(MODELS)
    messages: list[dict[str, Any]] = [{"role": "system", "content": snippet(rng, 50, 1500)}]
    if rng.random() < 0.2:
        messages.append({"role": "system", "name": "example_user", "content": snippet(rng, 5, 80)})
    record: dict[str, Any] = {"model": model}
    for _ in range(rng.randint(0, 3)):
        messages.append({"role": "user", "content": snippet(rng, 5, 400)})
        if rng.random() < 0.3:
            call = {
                "id": f"call_{rng.randrange(10**6)}",
                "type": "function",
                "function": {
                    "name": "search_documents",
                    "arguments": json.dumps({"query": snippet(rng, 3, 30)}),
                },
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": snippet(rng, 50, 800)}
            )
            record["tools"] = [TOOL]
        messages.append(
            {
                "role": "assistant",
                "content": snippet(rng, 5, 400),
                "refusal": None,
                "annotations": [],
            }
        )
    user: dict[str, Any] = {"role": "user", "content": snippet(rng, 5, 500)}
    if rng.random() < 0.25:
        parts: list[dict[str, Any]] = [{"type": "text", "text": snippet(rng, 5, 200)}]
        if rng.random() < 0.7:
            size = (rng.randint(50, 3000), rng.randint(50, 3000))
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {
                        "url": png(*size) if rng.random() < 0.6 else "https://example.com/a.png",
                        "detail": rng.choice(["low", "high", "auto", None]),
                    },
                }
            )
        parts.append({"type": "text", "text": snippet(rng, 5, 100)})
        user["content"] = parts
    messages.append(user)
    record["messages"] = messages
    answer = snippet(rng, 1, 600)
    shape = rng.random()
    if shape < 0.6:
        response: dict[str, Any] = {
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
        }
        if rng.random() < 0.7:
            prompt = rng.randint(10, 5000)
            usage: dict[str, Any] = {
                "prompt_tokens": prompt,
                "completion_tokens": rng.randint(1, 700),
                "prompt_tokens_details": {"cached_tokens": rng.randint(0, prompt)},
            }
            if model == "o3-mini":
                usage["completion_tokens_details"] = {
                    "reasoning_tokens": rng.randint(0, usage["completion_tokens"])
                }
            response["usage"] = usage
        record["response"] = response
    elif shape < 0.8:
        messages.append({"role": "assistant", "content": answer})
    if rng.random() < 0.8:
        moment = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
            seconds=rng.randrange(0, 20 * 86400)
        )
        record["timestamp"] = moment.isoformat().replace("+00:00", "Z")
    if rng.random() < 0.4:
        record["conversation_id"] = f"c{rng.randrange(30)}"
    return record


def chat_log(seed: int, requests: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [chat_record(rng, index) for index in range(requests)]


def write_jsonl(path: Any, records: list[Any], bad_lines: dict[int, str] | None = None) -> None:
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    for position, line in sorted((bad_lines or {}).items()):
        lines.insert(position, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
