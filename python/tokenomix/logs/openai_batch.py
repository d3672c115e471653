"""OpenAI Batch API files: input lines (`custom_id`, `url`, `body`) and output lines
(`custom_id`, `response.body`), joined on custom_id by the pipeline."""

from __future__ import annotations

from typing import Any

from tokenomix.logs.batch import BatchBuilder
from tokenomix.logs.components import Approximation
from tokenomix.logs.context import ReaderContext, parse_timestamp
from tokenomix.logs.errors import RecordError
from tokenomix.logs.openai_chat import ChatOutput, chat_output, plan_chat_request

CHAT_COMPLETIONS_URLS = ("/v1/chat/completions", "/chat/completions")


def plan_batch_input(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add the request of one line of a Batch API input file."""
    custom_id = record.get("custom_id")
    body = record.get("body")
    if not isinstance(custom_id, str) or not isinstance(body, dict):
        raise RecordError("wrong shape", "a batch input line needs 'custom_id' and a 'body' object")
    url = record.get("url", "/v1/chat/completions")
    if url not in CHAT_COMPLETIONS_URLS:
        raise RecordError(
            "unsupported", f"batch endpoint {url!r} is not read (chat completions only)"
        )
    plan_chat_request(body, b, ctx, line, metadata=record, custom_id=custom_id)


def plan_batch_output(
    record: dict[str, Any], b: BatchBuilder, ctx: ReaderContext, line: int
) -> None:
    """Add the response of one line of a Batch API output file, to be joined on custom_id."""
    custom_id = record.get("custom_id")
    if not isinstance(custom_id, str):
        raise RecordError("wrong shape", "a batch output line needs a 'custom_id'")
    response = record.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    output = chat_output(body) if isinstance(body, dict) else ChatOutput(None, None, None, False)
    # The output is counted with the encoding of the model that wrote it; the request it
    # joins keeps its own model and flags (only a tool call in the output adds one).
    info = ctx.model_info(output.model)
    b.start(line=line, model=info.name, encoding=info.encoding)
    if output.texts is not None:
        b.output(output.texts)
        if output.tool_calls:
            b.flag(Approximation.TOOLS)
    b.describe(
        usage=output.usage,
        custom_id=custom_id,
        timestamp=parse_timestamp(body.get("created") if isinstance(body, dict) else None),
    )
