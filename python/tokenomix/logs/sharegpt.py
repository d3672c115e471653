"""ShareGPT conversations: `{"conversations": [{"from": ..., "value": ...}, ...]}`.

Each assistant turn is one request whose input is every message before it, framed by the
OpenAI chat rule (the served model is rarely known: give it with `--model`). Turn k of a
conversation is its k-th assistant reply.
"""

from __future__ import annotations

from typing import Any

import orjson

from tokenomix.logs.batch import BatchBuilder
from tokenomix.logs.context import ReaderContext, parse_timestamp
from tokenomix.logs.errors import RecordError
from tokenomix.logs.openai_chat import add_messages, add_tools

# Speaker names of the common ShareGPT variants, as chat roles.
ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "function_call": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_response": "tool",
}


def plan_sharegpt_record(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add one request per assistant turn of a conversation."""
    messages = _messages(record)
    if not any(message["role"] == "assistant" for message in messages):
        raise RecordError("wrong shape", "the conversation has no assistant turn")
    info = ctx.model_info(record.get("model"))
    tools = {"tools": _tools(record.get("tools"))}
    timestamp = parse_timestamp(record.get("timestamp"))
    turn = 0
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        turn += 1
        if index == 0:
            raise RecordError("wrong shape", "the conversation opens with an assistant turn")
        b.start(line=line, model=info.name, encoding=info.encoding, flags=info.flags)
        add_messages(messages[:index], b, ctx, info)
        add_tools(tools, b, info)
        b.output([message["content"]])
        b.describe(timestamp=timestamp, user_turns=turn)


def _messages(record: dict[str, Any]) -> list[dict[str, str]]:
    turns = record.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise RecordError("wrong shape", "the record has no 'conversations' list")
    messages = []
    if isinstance(record.get("system"), str) and record["system"]:
        messages.append({"role": "system", "content": record["system"]})
    for number, turn in enumerate(turns, 1):
        speaker = turn.get("from") if isinstance(turn, dict) else None
        role = ROLES.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise RecordError("wrong shape", f"turn {number} has an unknown speaker {speaker!r}")
        value = turn.get("value")
        if not isinstance(value, str):
            raise RecordError("message without content", f"turn {number} has no text value")
        messages.append({"role": role, "content": value})
    return messages


def _tools(tools: Any) -> Any:
    # Some ShareGPT exports store the tool definitions as a JSON string.
    if isinstance(tools, str):
        try:
            return orjson.loads(tools)
        except orjson.JSONDecodeError as error:
            raise RecordError(
                "wrong shape", f"'tools' is a string but not JSON: {error}"
            ) from error
    return tools
