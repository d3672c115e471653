"""The choices a recount takes: format, encoding, attribution and strictness."""

from __future__ import annotations

import dataclasses
import os
import re

#: The formats the readers understand, as `--format` names them.
FORMATS = ("openai-chat", "openai-batch", "anthropic", "sharegpt", "trace")

#: The encoding that counts the text of models with no known encoding (flagged as guessed).
FALLBACK_ENCODING = "o200k_base"


@dataclasses.dataclass(frozen=True)
class RecountOptions:
    """How to read and recount a log.

    Attributes:
        format: one of FORMATS, or None to detect each file's format from its content.
        model: count every request as this model (its encoding, framing and price).
        encoding: count every request's text with this encoding, whatever its model.
        tokenizer: count every request's text with the tokenizer in this file (a Hugging
            Face tokenizer.json, a Mistral Tekken file or a tiktoken rank file; see
            `Encoding.from_file`), whatever its model.
        tokenizer_model: with `tokenizer`, the open model whose split pattern and special
            tokens a rank file takes.
        context_pattern: a regular expression; text of system, user and history messages
            that it matches counts as `context` (retrieved documents pasted into prompts).
        image_size: (width, height) assumed for images given by URL.
        strict: stop at the first record that cannot be counted.
        jobs: parallel workers (None: every core; 1: one thread): threads of this process,
            or worker processes for logs over 512 MiB that are not plain chat records
            (logs/pipeline.py).
        input_column, output_column, timestamp_column, model_column: column names of traces
            (None: the names of the Azure and Mooncake traces and of common exports).
        savings: also gather what the savings of token discipline need (minified JSON and
            repeated paragraphs recounted, prefix keys); `run_report` sets it when savings
            are asked for. It recounts the changed text, so it costs time.
        summary_keep_turns: turns before the current one that a rolling summary would keep
            (the older ones are measured as what the summary replaces).
    """

    format: str | None = None
    model: str | None = None
    encoding: str | None = None
    tokenizer: str | None = None
    tokenizer_model: str | None = None
    context_pattern: str | None = None
    image_size: tuple[int, int] | None = None
    strict: bool = False
    jobs: int | None = None
    input_column: str | None = None
    output_column: str | None = None
    timestamp_column: str | None = None
    model_column: str | None = None
    savings: bool = False
    summary_keep_turns: int = 4

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"unknown log format {self.format!r}; choose one of {FORMATS}")
        given = [name for name in ("model", "encoding", "tokenizer") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(f"give one of a model, an encoding or a tokenizer, not {given}")
        if self.tokenizer_model is not None and self.tokenizer is None:
            raise ValueError("a tokenizer model goes with a tokenizer file")
        if self.context_pattern is not None:
            try:
                re.compile(self.context_pattern)
            except re.error as error:
                raise ValueError(
                    f"context pattern {self.context_pattern!r} is not a valid regular "
                    f"expression: {error}"
                ) from error
        if self.image_size is not None and min(self.image_size) < 1:
            raise ValueError(f"image size must be positive, got {self.image_size!r}")
        if self.summary_keep_turns < 0:
            raise ValueError(f"summary_keep_turns must be 0 or more, got {self.summary_keep_turns}")
        if self.jobs is not None and self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")

    def worker_count(self) -> int:
        """Return the number of parallel workers (threads or processes) to use."""
        if self.jobs is not None:
            return self.jobs
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)


def parse_image_size(text: str) -> tuple[int, int]:
    """Parse WIDTHxHEIGHT, e.g. "1024x768".

    Raises:
        ValueError: the text is not two positive integers joined by x.
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX\u00d7]\s*(\d+)\s*", text)
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ValueError(f"image size must read WIDTHxHEIGHT, e.g. 1024x768, got {text!r}")
    return int(match[1]), int(match[2])
