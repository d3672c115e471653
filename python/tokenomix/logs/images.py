"""Image tokens by the providers' published formulas, with sizes read from image headers.

Rules are data: a model family that prices images differently is one more table entry.
Sizes come from the header of the image (PNG, JPEG, GIF, WebP, ... through `imagesize`),
so only data URIs and base64 blocks can be measured; an image given by URL is measured only
at a size the user assumes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import math
import urllib.parse
from fractions import Fraction

import imagesize


class ImageError(ValueError):
    """An image whose header cannot be read."""


@dataclasses.dataclass(frozen=True)
class TileRule:
    """OpenAI's tile formula.

    Low detail costs `base_tokens`. High and auto detail: the image is scaled down (never
    up) to fit in `fit` x `fit`, then so that its short side is at most `short_side`; each
    `tile`-pixel square needed to cover it costs `tile_tokens`, plus `base_tokens` once.
    """

    base_tokens: int
    tile_tokens: int
    source: str
    fit: int = 2048
    short_side: int = 768
    tile: int = 512

    def tokens(self, width: int, height: int, detail: str | None) -> int:
        """Return the tokens of one image of this size at this detail level."""
        if detail == "low":
            return self.base_tokens
        w, h = Fraction(width), Fraction(height)
        if max(w, h) > self.fit:
            scale = Fraction(self.fit) / max(w, h)
            w, h = w * scale, h * scale
        if min(w, h) > self.short_side:
            scale = Fraction(self.short_side) / min(w, h)
            w, h = w * scale, h * scale
        tiles = math.ceil(w / self.tile) * math.ceil(h / self.tile)
        return self.base_tokens + self.tile_tokens * tiles


@dataclasses.dataclass(frozen=True)
class AreaRule:
    """Anthropic's area formula: about width x height / `pixels_per_token` tokens.

    An image whose long edge exceeds `max_long_edge`, or that would cost more than
    `max_tokens`, is first scaled down keeping its aspect ratio. Anthropic does not publish
    the exact resize or rounding: dimensions are rounded down and tokens up, which gives the
    figures of its documentation (200x200 -> 54, 1000x1000 -> 1334, 1092x1092 -> 1590).
    """

    pixels_per_token: int
    max_long_edge: int
    max_tokens: int
    source: str

    def tokens(self, width: int, height: int, detail: str | None = None) -> int:
        """Return the tokens of one image of this size (detail does not apply)."""
        scale = min(1.0, self.max_long_edge / max(width, height))
        budget = self.max_tokens * self.pixels_per_token
        if width * height * scale * scale > budget:
            scale = min(scale, math.sqrt(budget / (width * height)))
        w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
        return math.ceil(w * h / self.pixels_per_token)


_OPENAI_VISION = "OpenAI vision guide, calculating costs"
GPT_4O_TILES = TileRule(85, 170, source=f"{_OPENAI_VISION}; exact on recorded exchanges")
GPT_4O_MINI_TILES = TileRule(2833, 5667, source=f"{_OPENAI_VISION}, gpt-4o-mini constants")
ANTHROPIC_AREA = AreaRule(
    750, 1568, 1600, source="Anthropic vision guide, evaluate image size (tokens = w*h/750)"
)

# OpenAI model-name prefixes with a tile rule; the longest matching prefix wins. Models
# billed by 32-pixel patches (gpt-4.1-mini, o4-mini, gpt-5-mini, ...) have no entry yet:
# their images are reported as unmeasured rather than counted by the wrong formula.
OPENAI_IMAGE_RULES: dict[str, TileRule] = {
    "gpt-4o": GPT_4O_TILES,
    "chatgpt-4o": GPT_4O_TILES,
    "gpt-4-turbo": GPT_4O_TILES,
    "gpt-4-vision": GPT_4O_TILES,
    "gpt-4o-mini": GPT_4O_MINI_TILES,
}


def openai_image_rule(model: str | None) -> TileRule | None:
    """Return the tile rule of an OpenAI model, or None if no rule is known for it."""
    if not model:
        return None
    matches = [prefix for prefix in OPENAI_IMAGE_RULES if model.startswith(prefix)]
    return OPENAI_IMAGE_RULES[max(matches, key=len)] if matches else None


def data_uri_size(uri: str) -> tuple[int, int]:
    """Return (width, height) of the image in a `data:` URI.

    Raises:
        ImageError: the URI holds no readable image.
    """
    header, comma, payload = uri.partition(",")
    if not comma:
        raise ImageError("data URI without a comma before its data")
    if header.endswith(";base64"):
        return base64_image_size(payload)
    return _image_size(urllib.parse.unquote_to_bytes(payload))


def base64_image_size(payload: str) -> tuple[int, int]:
    """Return (width, height) of a base64-encoded image.

    Raises:
        ImageError: the data is not base64 or not a readable image.
    """
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as error:
        raise ImageError(f"image data is not valid base64 ({error})") from error
    return _image_size(data)


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        width, height = imagesize.get(io.BytesIO(data))
    except Exception:
        width = height = -1
    if width <= 0 or height <= 0:
        raise ImageError(f"image header not readable ({len(data)} bytes; PNG, JPEG, GIF, WebP)")
    return width, height
