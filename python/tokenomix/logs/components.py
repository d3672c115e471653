"""Where a request's tokens come from, and why a recount may be approximate.

Every input token of a request belongs to exactly one of the input components, so that they
add up to the request's input tokens; `output` holds the tokens of the response.
"""

from __future__ import annotations

import enum

#: The input components, then the output, in the order reports list them.
COMPONENTS = ("system", "tools", "context", "history", "user", "images", "overhead", "output")
INPUT_COMPONENTS = COMPONENTS[:-1]

SYSTEM, TOOLS, CONTEXT, HISTORY, USER, IMAGES, OVERHEAD, OUTPUT = range(len(COMPONENTS))
NUM_COMPONENTS = len(COMPONENTS)


class Approximation(enum.IntFlag):
    """Why a request's recount may differ from what the provider billed.

    A request with no flag is counted by rules that matched billed usage exactly (OpenAI chat
    framing on text and images of known size); each flag names a part that no public rule
    counts exactly.
    """

    TOOLS = 1  # tool definitions or tool calls: the published rule is a heuristic
    RESPONSE_SCHEMA = 2  # response_format json_schema: unmodelled tokens are added
    IMAGE_UNMEASURED = 4  # an image by URL (no --image-size) or of a model without a rule
    IMAGE_ASSUMED_SIZE = 8  # an image by URL, counted at the --image-size given
    ENCODING_GUESSED = 16  # the model has no known encoding; a stand-in encoding counted it
    FRAMING_UNPUBLISHED = 32  # the provider publishes no chat-framing rule for the model
    CONTENT_UNMEASURED = 64  # audio, files, redacted thinking or an unknown content part


def approximation_names(flags: int) -> list[str]:
    """Return the lower-case names of the flags set in `flags`."""
    return [flag.name.lower() for flag in Approximation if flags & flag]
