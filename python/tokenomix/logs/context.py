"""What every reader needs while it walks records: models, encodings, patterns, images."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import re
from collections.abc import Callable
from typing import Any

from tokenomix.encoding import Encoding
from tokenomix.logs.batch import BatchBuilder, unit_word
from tokenomix.logs.components import Approximation
from tokenomix.logs.errors import RecordError
from tokenomix.logs.images import ImageError, TileRule, data_uri_size, openai_image_rule
from tokenomix.logs.options import FALLBACK_ENCODING, RecountOptions
from tokenomix.logs.rules import ChatFraming, ToolRule, chat_framing, tool_rule
from tokenomix.models import encoding_name_for_model
from tokenomix.registry import get_encoding

_GUESSED = Approximation.ENCODING_GUESSED | Approximation.FRAMING_UNPUBLISHED


def fixed_encoding(options: RecountOptions) -> Encoding | None:
    """Return the encoding that counts every request (`encoding` or `tokenizer` of the
    options), or None when each request's model chooses.

    Raises:
        OSError, ValueError: the tokenizer file cannot be read or is not supported.
    """
    if options.tokenizer:
        return _tokenizer(options.tokenizer, options.tokenizer_model)
    return get_encoding(options.encoding) if options.encoding else None


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str, model: str | None) -> Encoding:
    # Loaded once per process: to check the options, then to count.
    return Encoding.from_file(path, model=model)


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """How to count the requests of one model."""

    name: str | None  # as reports show it
    encoding: Encoding
    flags: int  # approximations that hold for every request of the model
    framing: ChatFraming
    tool_rule: ToolRule
    image_rule: TileRule | None  # OpenAI image formula; None: images unmeasured


class ReaderContext:
    """Per-process state of the readers: options, compiled pattern, and model lookups."""

    def __init__(self, options: RecountOptions, *, num_threads: int | None) -> None:
        self.options = options
        self.num_threads = num_threads
        self.context_re = re.compile(options.context_pattern) if options.context_pattern else None
        self._fixed_encoding = fixed_encoding(options)
        self._models: dict[tuple[Any, Any], ModelInfo] = {}
        self._image_sizes: dict[str, tuple[int, int]] = {}
        self._small: dict[str, Callable[[str], int]] = {}
        self._role_words: dict[tuple[str, int], dict[str, int]] = {}

    def builder(self, file_index: int) -> BatchBuilder:
        """Return a builder for one chunk of a file."""
        self._image_sizes.clear()
        return BatchBuilder(file_index, num_threads=self.num_threads, savings=self.options.savings)

    # Models -------------------------------------------------------------------------------

    def model_info(self, request_model: Any, response_model: Any = None) -> ModelInfo:
        """Resolve the model of a request (the response's model when the request names a
        deployment rather than a model), its encoding and its rules. A value that is not a
        string names no model."""
        key = tuple(m if isinstance(m, str) else None for m in (request_model, response_model))
        info = self._models.get(key)
        if info is None:
            info = self._models[key] = self._resolve(*key)
        return info

    def _resolve(self, request_model: Any, response_model: Any) -> ModelInfo:
        if self.options.model:
            candidates = [self.options.model]
        else:
            candidates = [m for m in (request_model, response_model) if isinstance(m, str) and m]
        # The name as written, and the name tiktoken knows it by (the rules go by that).
        written, known = next(
            ((m, k) for m in candidates if (k := _known_name(m)) is not None), (None, None)
        )
        name = written or (candidates[0] if candidates else None)
        if self._fixed_encoding is not None:
            encoding = self._fixed_encoding
            flags = 0 if known else Approximation.FRAMING_UNPUBLISHED
        elif known is not None:
            encoding = get_encoding(_encoding_name(known))
            flags = 0
        else:
            encoding = get_encoding(FALLBACK_ENCODING)
            flags = _GUESSED
        return ModelInfo(
            name=name,
            encoding=encoding,
            flags=int(flags),
            framing=chat_framing(known),
            tool_rule=tool_rule(encoding.name),
            image_rule=openai_image_rule(known),
        )

    # Text ---------------------------------------------------------------------------------

    def small_counts(self, encoding: Encoding) -> Callable[[str], int]:
        """Return a memoised counter for the short strings that recur (roles, names)."""
        counter = self._small.get(encoding.name)
        if counter is None:
            counter = self._small[encoding.name] = _memoised_count(encoding)
        return counter

    def role_words(self, encoding: Encoding, per_message: int) -> dict[str, int]:
        """Return a dict to fill with the unit word of a message of each role: its framing
        (per_message plus the tokens of the role) and role code, as `BatchBuilder.message`
        packs them (see `role_word`)."""
        return self._role_words.setdefault((encoding.name, per_message), {})

    def role_word(
        self, words: dict[str, int], encoding: Encoding, per_message: int, role: str
    ) -> int:
        """Return (and remember in `words`) the unit word of a message of this role."""
        if len(words) >= 1024:  # roles are few; a log of made-up ones must not grow this
            words.clear()
        word = words[role] = unit_word(role, per_message + self.small_counts(encoding)(role))
        return word

    def add_text(self, builder: BatchBuilder, component: int, text: str) -> None:
        """Count text into a component, moving what the context pattern matches to context."""
        if self.context_re is not None and text:
            spans = [match.group(0) for match in self.context_re.finditer(text)]
            spans = [span for span in spans if span]
            if spans:
                builder.split_text(component, text, spans)
                return
        builder.text(component, text)

    # Images -------------------------------------------------------------------------------

    def image_size(self, url: str, where: str) -> tuple[int, int] | None:
        """Return the size of an image given by URL or data URI, or None when unknown.

        Raises:
            RecordError: a data URI whose image cannot be read.
        """
        if url.startswith("data:"):
            size = self._image_sizes.get(url)
            if size is None:
                try:
                    size = self._image_sizes[url] = data_uri_size(url)
                except ImageError as error:
                    raise RecordError("unreadable image", f"{where}: {error}") from error
            return size
        return None

    def add_openai_image(
        self, builder: BatchBuilder, info: ModelInfo, image: Any, where: str
    ) -> None:
        """Count an OpenAI `image_url` part by the tile formula of the model."""
        if isinstance(image, str):
            image = {"url": image}
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise RecordError("wrong shape", f"{where}: image_url has no url")
        detail = image.get("detail")
        rule = info.image_rule
        if rule is None:
            builder.flag(Approximation.IMAGE_UNMEASURED)
            builder.image(None)
            return
        if detail == "low":
            builder.image(rule.base_tokens)
            return
        size = self.image_size(image["url"], where)
        if size is None:
            size = self._assumed_size(builder)
            if size is None:
                return
        builder.image(rule.tokens(size[0], size[1], detail))

    def _assumed_size(self, builder: BatchBuilder) -> tuple[int, int] | None:
        # An image by URL: measured only at the size the user assumes.
        if self.options.image_size is None:
            builder.flag(Approximation.IMAGE_UNMEASURED)
            builder.image(None)
            return None
        builder.flag(Approximation.IMAGE_ASSUMED_SIZE)
        return self.options.image_size


def _memoised_count(encoding: Encoding) -> Callable[[str], int]:
    memo: dict[str, int] = {}

    def count(text: str) -> int:
        tokens = memo.get(text)
        if tokens is None:
            if len(memo) >= 65_536:  # names are open-ended: keep the memo bounded
                memo.clear()
            tokens = memo[text] = encoding.count(text)
        return tokens

    return count


def _encoding_name(model: str) -> str | None:
    try:
        return encoding_name_for_model(model)
    except KeyError:
        return None


def _known_name(model: str) -> str | None:
    """The name tiktoken knows a model by: as written, in lower case, or without a provider
    prefix ("openai/gpt-4o", "azure/gpt-4o" as LiteLLM writes them); None if none is known."""
    for name in (model, model.lower(), model.rsplit("/", 1)[-1].lower()):
        if _encoding_name(name) is not None:
            return name
    return None


YEAR_10000 = 253_402_300_800.0  # 10000-01-01T00:00:00Z
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any) -> float:
    """Return seconds since the epoch (UTC) of a log timestamp, or NaN if it has none.

    Numbers are seconds, or milliseconds when above 1e11 (after 5138 in seconds), and
    offsets from the start of a trace (no date) below 1e9; strings are ISO 8601, read as UTC
    when they carry no offset.
    """
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e11:
            seconds /= 1000
        # Below 1e9 (September 2001) a number is an offset from the start of a trace, as in
        # the Mooncake traces, not a date; past year 9999 it is no date either.
        return seconds if 1e9 <= seconds < YEAR_10000 else math.nan
    if not isinstance(value, str):
        return math.nan
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    seconds = moment.timestamp()
    return seconds if 0 <= seconds < YEAR_10000 else math.nan
