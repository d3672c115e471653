"""Anthropic Messages API requests, one JSON object a line.

A record is a request body (`model`, `system`, `messages`, `tools`) with, optionally, its
response under `response` (a Message, or the events of a stream) and metadata as for
openai-chat. Anthropic publishes neither its tokenizer nor its framing, so every request is
approximate: text is counted with the fallback encoding (or `--encoding`) and framing is
zero. A final assistant message is a prefill, part of the input, not the output.
Attribution: system -> system; tool definitions (their JSON) -> tools; tool_result,
document and search_result blocks -> context; text and images of the last user turn ->
user and images; every other text, tool_use and thinking block -> history.
"""

from __future__ import annotations

from typing import Any

import orjson

from tokenomix.logs.batch import BatchBuilder
from tokenomix.logs.components import CONTEXT, HISTORY, SYSTEM, TOOLS, USER, Approximation
from tokenomix.logs.context import ReaderContext, parse_timestamp
from tokenomix.logs.errors import RecordError, json_kind
from tokenomix.logs.images import ANTHROPIC_AREA, ImageError, base64_image_size
from tokenomix.logs.openai_chat import _conversation, _timestamp
from tokenomix.logs.usage import Usage, parse_usage

_TURN_BLOCKS = {"text", "image", "document"}


def plan_anthropic_record(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add the request of one anthropic record."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RecordError("wrong shape", "the record has no 'messages' list")
    response = record.get("response")
    texts, usage, response_model = (
        _response(response) if response is not None else (None, None, None)
    )
    if usage is None:
        usage = parse_usage(record.get("usage"), anthropic=True)
    info = ctx.model_info(record.get("model"), response_model)

    b.start(line=line, model=info.name, encoding=info.encoding, flags=info.flags)
    b.flag(Approximation.FRAMING_UNPUBLISHED)
    _add_system(record.get("system"), b, ctx)
    _add_tools(record.get("tools"), b)
    user_turns = _add_messages(messages, b, ctx)
    if texts is not None:
        b.output(texts)
    b.describe(
        usage=usage,
        timestamp=parse_timestamp(_timestamp(record, None)),
        conversation=_conversation(record),
        user_turns=user_turns,
    )


def _add_system(system: Any, b: BatchBuilder, ctx: ReaderContext) -> None:
    if system is None:
        return
    if isinstance(system, str):
        ctx.add_text(b, SYSTEM, system)
        return
    if not isinstance(system, list):
        raise RecordError("wrong shape", f"system is {json_kind(system)}")
    for block in system:
        if not isinstance(block, dict) or not isinstance(block.get("text"), str):
            raise RecordError("wrong shape", "a system block has no text")
        ctx.add_text(b, SYSTEM, block["text"])


def _add_tools(tools: Any, b: BatchBuilder) -> None:
    if tools is None:
        return
    if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
        raise RecordError("wrong shape", "'tools' is not a list of objects")
    if tools:
        b.flag(Approximation.TOOLS)
    for tool in tools:
        # No published rule: the definition's JSON, without the cache marker, is counted.
        definition = {key: value for key, value in tool.items() if key != "cache_control"}
        b.text(TOOLS, orjson.dumps(definition).decode())


def _add_messages(messages: list[Any], b: BatchBuilder, ctx: ReaderContext) -> int:
    # Each message is a unit of the request (BatchBuilder.message).
    for index, message in enumerate(messages, 1):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise RecordError("wrong shape", f"message {index} is not a user or assistant message")
        if message.get("content") is None:
            raise RecordError("message without content", f"message {index} has no content")
    turns = [i for i, m in enumerate(messages) if m["role"] == "user" and _is_turn(m["content"])]
    last_turn = turns[-1] if turns else -1
    keep = ctx.options.summary_keep_turns
    for index, message in enumerate(messages):
        component = USER if index == last_turn else HISTORY
        b.message(component, role=message["role"])
        _add_content(message["content"], component, b, ctx, f"message {index + 1}")
    b.end_messages(old_messages=turns[-keep - 1] if len(turns) > keep else 0)
    return len(turns)


def _is_turn(content: Any) -> bool:
    # A user message holding only tool results continues the turn; it does not start one.
    if isinstance(content, str):
        return True
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") in _TURN_BLOCKS for block in content
    )


def _add_content(
    content: Any, component: int, b: BatchBuilder, ctx: ReaderContext, where: str
) -> None:
    if isinstance(content, str):
        ctx.add_text(b, component, content)
        return
    if not isinstance(content, list):
        raise RecordError("wrong shape", f"{where}: content is {json_kind(content)}")
    for number, block in enumerate(content, 1):
        if not isinstance(block, dict):
            raise RecordError("wrong shape", f"{where}: block {number} is not an object")
        _add_block(block, component, b, ctx, f"{where}, block {number}")


def _add_block(
    block: dict[str, Any], component: int, b: BatchBuilder, ctx: ReaderContext, where: str
) -> None:
    kind = block.get("type")
    if kind == "text":
        ctx.add_text(b, component, _text(block, "text", where))
    elif kind == "image":
        _add_image(block.get("source"), b, ctx, where)
    elif kind in ("tool_use", "server_tool_use"):
        b.flag(Approximation.TOOLS)
        b.text(HISTORY, _str(block.get("name")))
        b.text(HISTORY, orjson.dumps(block.get("input", {})).decode())
    elif kind == "tool_result":
        result = block.get("content")
        if result is not None:
            _add_content(result, CONTEXT, b, ctx, where)
    elif kind == "document":
        _add_document(block, b, ctx, where)
    elif kind == "search_result":
        b.text(CONTEXT, _str(block.get("title")))
        _add_content(block.get("content", []), CONTEXT, b, ctx, where)
    elif kind == "thinking":
        b.text(HISTORY, _text(block, "thinking", where))
    else:  # redacted_thinking, web search results, container uploads, ...
        b.flag(Approximation.CONTENT_UNMEASURED)


def _add_document(block: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, where: str) -> None:
    source = block.get("source")
    b.text(CONTEXT, _str(block.get("title")))
    if isinstance(source, dict) and source.get("type") == "text":
        b.text(CONTEXT, _text(source, "data", where))
    elif isinstance(source, dict) and source.get("type") == "content":
        _add_content(source.get("content", []), CONTEXT, b, ctx, where)
    else:  # PDFs and URLs: not measurable offline
        b.flag(Approximation.CONTENT_UNMEASURED)


def _add_image(source: Any, b: BatchBuilder, ctx: ReaderContext, where: str) -> None:
    if not isinstance(source, dict):
        raise RecordError("wrong shape", f"{where}: image has no source")
    if source.get("type") == "base64":
        try:
            width, height = base64_image_size(_text(source, "data", where))
        except ImageError as error:
            raise RecordError("unreadable image", f"{where}: {error}") from error
        b.image(ANTHROPIC_AREA.tokens(width, height))
    elif ctx.options.image_size is not None and source.get("type") == "url":
        b.flag(Approximation.IMAGE_ASSUMED_SIZE)
        b.image(ANTHROPIC_AREA.tokens(*ctx.options.image_size))
    else:
        b.flag(Approximation.IMAGE_UNMEASURED)
        b.image(None)


def _text(block: dict[str, Any], key: str, where: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise RecordError("wrong shape", f"{where}: {key!r} is not a string")
    return value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Responses --------------------------------------------------------------------------------


def _response(response: Any) -> tuple[list[str] | None, Usage | None, str | None]:
    if isinstance(response, list):
        return _stream(response)
    if not isinstance(response, dict):
        raise RecordError("wrong shape", f"response is {json_kind(response)}")
    usage = parse_usage(response.get("usage"), anthropic=True)
    model = response.get("model") if isinstance(response.get("model"), str) else None
    content = response.get("content")
    if content is None:
        return None, usage, model  # an error response
    if not isinstance(content, list):
        raise RecordError("wrong shape", "response content is not a list")
    return [text for block in content for text in _output_texts(block)], usage, model


def _output_texts(block: Any) -> list[str]:
    if not isinstance(block, dict):
        raise RecordError("wrong shape", "a response block is not an object")
    kind = block.get("type")
    if kind == "text":
        return [_str(block.get("text"))]
    if kind == "thinking":
        return [_str(block.get("thinking"))]
    if kind in ("tool_use", "server_tool_use"):
        return [_str(block.get("name")), orjson.dumps(block.get("input", {})).decode()]
    return []


def _stream(events: list[Any]) -> tuple[list[str], Usage | None, str | None]:
    # message_start carries the input usage; message_delta the output count, and often
    # repeats input_tokens: take each figure from its own event, never add them up.
    texts: dict[int, list[str]] = {}
    start_usage: dict[str, Any] = {}
    output_tokens = None
    model = None
    for event in events:
        if not isinstance(event, dict):
            raise RecordError("wrong shape", "a response event is not an object")
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            model = event["message"].get("model")
            start_usage = event["message"].get("usage") or {}
        elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
            delta = event["delta"]
            piece = delta.get("text", delta.get("thinking", delta.get("partial_json")))
            if isinstance(piece, str):
                texts.setdefault(int(event.get("index") or 0), []).append(piece)
        elif kind == "message_delta" and isinstance(event.get("usage"), dict):
            output_tokens = event["usage"].get("output_tokens", output_tokens)
    usage = None
    if start_usage or output_tokens is not None:
        usage = parse_usage({**start_usage, "output_tokens": output_tokens}, anthropic=True)
    return ["".join(parts) for parts in texts.values()], usage, model
