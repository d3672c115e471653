"""Counting rules of chat formats, as data: framing tokens and tool definitions.

A new model family is a new table entry. Each rule names where it comes from.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ChatFraming:
    """The tokens a chat format adds around messages.

    Every message costs `per_message` tokens plus the tokens of each of its string values
    (role, content, name, ...); a `name` costs `per_name` more; the reply is primed with
    `reply_priming` tokens.
    """

    per_message: int
    per_name: int
    reply_priming: int
    source: str


OPENAI_CHAT = ChatFraming(
    per_message=3,
    per_name=1,
    reply_priming=3,
    source="OpenAI cookbook, How to count tokens with tiktoken (num_tokens_from_messages); "
    "equal to billed prompt_tokens for gpt-3.5-turbo, gpt-4, gpt-4o, gpt-4o-mini, "
    "gpt-4.1-mini and gpt-4.1-nano in recorded API exchanges",
)

OPENAI_REASONING = dataclasses.replace(
    OPENAI_CHAT,
    reply_priming=2,
    source="recorded API exchanges: o3-mini, o4-mini, gpt-5, gpt-5-mini and gpt-5-nano are "
    "billed one token less than the chat rule gives, whatever the number of messages",
)

# Model-name prefixes whose framing differs from OPENAI_CHAT. The longest matching prefix
# wins. The gpt-5 chat models (gpt-5-chat-*) were not among the recorded exchanges.
FRAMING_BY_PREFIX: dict[str, ChatFraming] = {
    "o1": OPENAI_REASONING,
    "o3": OPENAI_REASONING,
    "o4-mini": OPENAI_REASONING,
    "gpt-5": OPENAI_REASONING,
}


def chat_framing(model: str | None) -> ChatFraming:
    """Return the framing rule of an OpenAI model (the chat rule for any other name)."""
    if model:
        matches = [prefix for prefix in FRAMING_BY_PREFIX if model.startswith(prefix)]
        if matches:
            return FRAMING_BY_PREFIX[max(matches, key=len)]
    return OPENAI_CHAT


@dataclasses.dataclass(frozen=True)
class ToolRule:
    """The published heuristic for the tokens of OpenAI function definitions.

    Per function: `function_start`, plus the tokens of "name:description" (one final period
    of the description dropped); if it has parameters: `properties_start`, then per
    property `property`, the tokens of "name:type:description" (same period rule) and, for
    an enum, `enum_start` plus `enum_item` and the tokens of each item. Once per request
    with functions: `functions_end`.
    """

    function_start: int
    properties_start: int
    property: int
    enum_start: int
    enum_item: int
    functions_end: int
    source: str


_COOKBOOK = "OpenAI cookbook, How to count tokens with tiktoken (num_tokens_for_tools)"

# Keyed by encoding: the cookbook gives one set of constants for gpt-4o and gpt-4o-mini
# (o200k_base) and one for gpt-3.5-turbo and gpt-4 (cl100k_base). It matched billed usage on
# its own example; on recorded exchanges it was exact for about one request in nine.
TOOL_RULES: dict[str, ToolRule] = {
    "o200k_base": ToolRule(7, 3, 3, -3, 3, 12, source=f"{_COOKBOOK}, gpt-4o constants"),
    "cl100k_base": ToolRule(10, 3, 3, -3, 3, 12, source=f"{_COOKBOOK}, gpt-4 constants"),
}


def tool_rule(encoding_name: str) -> ToolRule:
    """Return the tool rule for an encoding (the o200k_base constants for any other)."""
    return TOOL_RULES.get(encoding_name, TOOL_RULES["o200k_base"])
