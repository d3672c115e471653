"""Reading LLM request logs and recounting their tokens, request by request.

Readers stream OpenAI chat JSONL, OpenAI Batch API input and output files, Anthropic
Messages requests, ShareGPT conversations and token-count traces (CSV, Parquet, JSONL),
plain or compressed with gzip or zstd. Each request's input tokens are split into
components (system, tools, context, history, user, images, overhead) that add up to them,
beside its output tokens and any usage the provider reported.

>>> from tokenomix.logs import Recount, RecountOptions
>>> recount = Recount(["requests.jsonl.gz"], RecountOptions())     # doctest: +SKIP
>>> sum(int(batch.input_tokens.sum()) for batch in recount.batches())  # doctest: +SKIP
"""

from tokenomix.logs.batch import MISSING, RequestBatch, Skip
from tokenomix.logs.components import COMPONENTS, INPUT_COMPONENTS, Approximation
from tokenomix.logs.options import FALLBACK_ENCODING, FORMATS, RecountOptions, parse_image_size
from tokenomix.logs.pipeline import LogFile, Recount, SkipLog
from tokenomix.logs.usage import USAGE_FIELDS, Usage

__all__ = [
    "COMPONENTS",
    "FALLBACK_ENCODING",
    "FORMATS",
    "INPUT_COMPONENTS",
    "MISSING",
    "USAGE_FIELDS",
    "Approximation",
    "LogFile",
    "Recount",
    "RecountOptions",
    "RequestBatch",
    "Skip",
    "SkipLog",
    "Usage",
    "parse_image_size",
]
