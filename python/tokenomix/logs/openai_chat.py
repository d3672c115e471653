"""OpenAI chat-completions requests: one JSON object a line, and the Batch API files.

A record is a request body (`messages`, `model`, `tools`, ...) with, optionally, its
response under `response` (a chat completion, or the list of chunks of a stream) and
metadata (`timestamp`, `conversation_id`, `user`). Without a response, a final assistant
message is the output. Attribution:

- each message: `per_message` framing tokens, plus the tokens of every string value;
  role, name (and its extra token) and other identifiers are overhead, content and refusal
  go to the message's component: system and developer -> system; tool and function
  results -> context; the last user message -> user; every other message -> history;
- content parts: texts joined, images by the model's tile formula;
- tool calls: function name and arguments, in the message's component;
- tool definitions: the published heuristic (rules.ToolRule) -> tools;
- reply priming -> overhead.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from tokenomix.logs.batch import BatchBuilder
from tokenomix.logs.components import (
    CONTEXT,
    HISTORY,
    NUM_COMPONENTS,
    OVERHEAD,
    SYSTEM,
    TOOLS,
    USER,
    Approximation,
)
from tokenomix.logs.context import ModelInfo, ReaderContext, parse_timestamp
from tokenomix.logs.errors import RecordError, json_kind
from tokenomix.logs.rules import ToolRule
from tokenomix.logs.usage import Usage, parse_usage

_ROLE_COMPONENT = {"system": SYSTEM, "developer": SYSTEM, "tool": CONTEXT, "function": CONTEXT}
_CONTENT_KEYS = {"content", "tool_calls", "function_call", "refusal", "audio"}


class ChatOutput(NamedTuple):
    """What a response says: its output text, usage and model."""

    texts: list[str] | None  # None: the response holds no output (an error)
    usage: Usage | None
    model: str | None
    tool_calls: bool


# Requests ---------------------------------------------------------------------------------


def plan_chat_record(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add the request of one openai-chat record."""
    plan_chat_request(record, b, ctx, line, metadata=record)


def plan_chat_request(
    body: dict[str, Any],
    b: BatchBuilder,
    ctx: ReaderContext,
    line: int,
    *,
    metadata: dict[str, Any],
    custom_id: str | None = None,
) -> None:
    """Add one chat request (`body`), with its response and metadata when present."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RecordError("wrong shape", "the record has no 'messages' list, or it is empty")
    response = metadata.get("response", body.get("response"))
    output = chat_output(response) if response is not None else None
    if output is None and _is_assistant(messages[-1]):
        output = ChatOutput(
            message_output_texts(messages[-1], "the last message"),
            None,
            None,
            bool(messages[-1].get("tool_calls")),
        )
        messages = messages[:-1]
        if not messages:
            raise RecordError("wrong shape", "the record has an output but no input message")
    usage = output.usage if output is not None and output.usage is not None else None
    if usage is None:
        usage = parse_usage(metadata.get("usage"))
    info = ctx.model_info(body.get("model"), output.model if output else None)

    b.start(line=line, model=info.name, encoding=info.encoding, flags=info.flags)
    user_turns = add_messages(messages, b, ctx, info)
    add_tools(body, b, info)
    if _has_json_schema(body.get("response_format")):
        b.flag(Approximation.RESPONSE_SCHEMA)
    if output is not None and output.texts is not None:
        b.output(output.texts)
        if output.tool_calls:
            b.flag(Approximation.TOOLS)
    b.describe(
        usage=usage,
        timestamp=parse_timestamp(_timestamp(metadata, response)),
        conversation=_conversation(metadata),
        user_turns=user_turns,
        custom_id=custom_id,
    )


def add_messages(messages: list[Any], b: BatchBuilder, ctx: ReaderContext, info: ModelInfo) -> int:
    """Count the messages of a request and the reply priming; return its user turns.

    Each message is a unit of the request (BatchBuilder.message); those before the turns
    a rolling summary keeps are marked as old.
    """
    last_user = -1
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, dict) and message.get("role") == "user":
            last_user = index
            break
    framing = info.framing
    per_message = framing.per_message
    roles = ctx.role_words(info.encoding, per_message)
    plain = ctx.context_re is None
    words = b.message_words()
    slots: list[int] = []
    texts: list[str] = []
    users: list[int] = []
    for index, message in enumerate(messages):
        role = message.get("role") if type(message) is dict else None
        if type(role) is not str:
            raise RecordError("wrong shape", f"message {index + 1} is not an object with a role")
        if role == "user":
            users.append(index)
            component = USER if index == last_user else HISTORY
        else:
            component = _ROLE_COMPONENT.get(role, HISTORY)
        content = message.get("content")
        if type(content) is str and len(message) == 2 and plain:
            # The common message, {"role": ..., "content": "..."}: its unit appended here,
            # its text gathered and counted below in one call, without the general walk.
            word = roles.get(role)
            if word is None:
                word = ctx.role_word(roles, info.encoding, per_message, role)
            slots.append(len(words) * NUM_COMPONENTS + component)
            words.append(word | (component + 1))
            texts.append(content)
        else:
            b.message(component, role=role)
            b.tokens(
                OVERHEAD, add_message(message, component, b, ctx, info, f"message {index + 1}")
            )
    keep = ctx.options.summary_keep_turns
    b.end_messages(old_messages=users[-keep - 1] if len(users) > keep else 0)
    b.texts(slots, texts)
    b.tokens(OVERHEAD, framing.reply_priming)
    return len(users)


def add_message(
    message: dict[str, Any],
    component: int,
    b: BatchBuilder,
    ctx: ReaderContext,
    info: ModelInfo,
    where: str,
) -> int:
    """Count one message: identifiers, content, tool calls; return its framing tokens."""
    if message.get("content") is None and not any(
        message.get(key) for key in _CONTENT_KEYS - {"content"}
    ):
        raise RecordError("message without content", f"{where} ({message['role']}) has no content")
    framing = info.framing
    small = ctx.small_counts(info.encoding)
    overhead = framing.per_message
    for key, value in message.items():
        if key == "content":
            add_content(value, component, b, ctx, info, where)
        elif key == "tool_calls":
            add_tool_calls(value, component, b, where)
        elif key == "function_call":
            add_tool_calls([{"function": value}], component, b, where)
        elif key == "audio" and value is not None:
            b.flag(Approximation.CONTENT_UNMEASURED)
        elif isinstance(value, str):
            if key == "refusal":
                b.text(component, value)
            elif key in ("role", "name"):
                overhead += small(value) + (framing.per_name if key == "name" else 0)
            else:
                b.text(OVERHEAD, value)
    return overhead


def add_content(
    content: Any, component: int, b: BatchBuilder, ctx: ReaderContext, info: ModelInfo, where: str
) -> None:
    """Count a message's content: a string, or a list of parts whose texts are joined."""
    if content is None:
        return
    if isinstance(content, str):
        ctx.add_text(b, component, content)
        return
    if not isinstance(content, list):
        raise RecordError("wrong shape", f"{where}: content is {json_kind(content)}")
    texts = []
    for number, part in enumerate(content, 1):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
        elif kind == "image_url":
            ctx.add_openai_image(b, info, part.get("image_url"), f"{where}, part {number}")
        elif isinstance(part, str):
            texts.append(part)
        elif kind is None:
            raise RecordError("wrong shape", f"{where}: part {number} has no type")
        else:  # input_audio, file, and parts not known yet
            b.flag(Approximation.CONTENT_UNMEASURED)
    ctx.add_text(b, component, "".join(texts))


def add_tool_calls(calls: Any, component: int, b: BatchBuilder, where: str) -> None:
    """Count the function names and arguments of tool calls."""
    if calls is None:
        return
    if not isinstance(calls, list):
        raise RecordError("wrong shape", f"{where}: tool_calls is not a list")
    b.flag(Approximation.TOOLS)
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise RecordError("wrong shape", f"{where}: a tool call has no function")
        for text in call_texts(function):
            b.text(component, text)


def call_texts(function: dict[str, Any]) -> list[str]:
    """The texts of a tool call's function: its name, and its arguments as the JSON string
    the model wrote (arguments logged as a JSON value are written back compactly)."""
    texts = [function["name"]] if isinstance(function.get("name"), str) else []
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        texts.append(arguments)
    elif arguments is not None:
        texts.append(orjson.dumps(arguments).decode())
    return texts


def add_tools(body: dict[str, Any], b: BatchBuilder, info: ModelInfo) -> None:
    """Count tool (or legacy function) definitions by the published heuristic."""
    functions: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for key in ("tools", "functions"):
        entries = body.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise RecordError("wrong shape", f"'{key}' is not a list of objects")
        for entry in entries:
            if key == "functions":
                functions.append(entry)
            elif isinstance(entry.get("function"), dict):
                functions.append(entry["function"])
            else:
                others.append(entry)
    if not functions and not others:
        return
    b.flag(Approximation.TOOLS)
    rule = info.tool_rule
    for function in functions:
        add_function_definition(function, b, rule)
    for tool in others:
        # A built-in tool (web search, ...) has no published rule: its JSON is counted.
        b.tokens(TOOLS, rule.function_start)
        b.text(TOOLS, orjson.dumps(tool).decode())
    b.tokens(TOOLS, rule.functions_end)


def add_function_definition(function: dict[str, Any], b: BatchBuilder, rule: ToolRule) -> None:
    """Count one function definition (rules.ToolRule says how)."""
    b.tokens(TOOLS, rule.function_start)
    b.text(TOOLS, f"{_str(function.get('name'))}:{_drop_period(_str(function.get('description')))}")
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict) or not properties:
        return
    b.tokens(TOOLS, rule.properties_start)
    for key, schema in properties.items():
        schema = schema if isinstance(schema, dict) else {}
        b.tokens(TOOLS, rule.property)
        enum = schema.get("enum")
        if isinstance(enum, list):
            b.tokens(TOOLS, rule.enum_start)
            for item in enum:
                b.tokens(TOOLS, rule.enum_item)
                b.text(TOOLS, _str(item))
        description = _drop_period(_str(schema.get("description")))
        b.text(TOOLS, f"{key}:{_str(schema.get('type'))}:{description}")


def _str(value: Any) -> str:
    # The published rule formats values with Python's str(); a missing one is empty.
    return "" if value is None else str(value)


def _drop_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def _has_json_schema(response_format: Any) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


def _is_assistant(message: Any) -> bool:
    return isinstance(message, dict) and message.get("role") == "assistant"


def _timestamp(metadata: dict[str, Any], response: Any) -> Any:
    for key in ("timestamp", "created_at", "time"):
        if metadata.get(key) is not None:
            return metadata[key]
    if isinstance(response, list) and response:  # a recorded stream: its first chunk's
        response = response[0]
    if isinstance(response, dict):
        return response.get("created")
    return None


def _conversation(metadata: dict[str, Any]) -> str | None:
    value = metadata.get("conversation_id")
    if value is None and isinstance(metadata.get("metadata"), dict):
        value = metadata["metadata"].get("conversation_id")
    return None if value is None else str(value)


# Responses --------------------------------------------------------------------------------


def chat_output(response: Any) -> ChatOutput:
    """Read a chat completion, or the chunks of a streamed one.

    Raises:
        RecordError: the response has an unexpected shape.
    """
    if isinstance(response, list):
        return _stream_output(response)
    if not isinstance(response, dict):
        raise RecordError("wrong shape", f"response is {json_kind(response)}")
    usage = parse_usage(response.get("usage"))
    model = response.get("model") if isinstance(response.get("model"), str) else None
    choices = response.get("choices")
    if choices is None:
        return ChatOutput(None, usage, model, False)  # an error response
    if not isinstance(choices, list):
        raise RecordError("wrong shape", "response choices is not a list")
    texts: list[str] = []
    tool_calls = False
    for number, choice in enumerate(choices, 1):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise RecordError("wrong shape", f"response choice {number} has no message")
        texts += message_output_texts(message, f"response choice {number}")
        tool_calls = tool_calls or bool(message.get("tool_calls") or message.get("function_call"))
    return ChatOutput(texts, usage, model, tool_calls)


def message_output_texts(message: dict[str, Any], where: str) -> list[str]:
    """Return the texts of an assistant message as output: content, refusal, tool calls."""
    texts = []
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        texts.append(
            "".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
        )
    elif content is not None:
        raise RecordError("wrong shape", f"{where}: content is {json_kind(content)}")
    if isinstance(message.get("refusal"), str):
        texts.append(message["refusal"])
    calls = message.get("tool_calls") or []
    if isinstance(message.get("function_call"), dict):
        calls = [*calls, {"function": message["function_call"]}]
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            texts += call_texts(function)
    return texts


def _stream_output(chunks: list[Any]) -> ChatOutput:
    # A recorded stream: content arrives in deltas, usage (if any) in the last chunk.
    pieces: dict[int, list[str]] = {}
    usage = None
    model = None
    tool_calls = False
    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise RecordError("wrong shape", "a response chunk is not an object")
        model = model or (chunk.get("model") if isinstance(chunk.get("model"), str) else None)
        if chunk.get("usage") is not None:
            usage = parse_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            parts = pieces.setdefault(int(choice.get("index") or 0), [])
            if isinstance(delta.get("content"), str):
                parts.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                tool_calls = True
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    parts += [
                        function[k]
                        for k in ("name", "arguments")
                        if isinstance(function.get(k), str)
                    ]
    return ChatOutput(["".join(parts) for parts in pieces.values()], usage, model, tool_calls)
