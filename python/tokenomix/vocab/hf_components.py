"""The normalizer, pre-tokenizer and post-processor of a Hugging Face tokenizer.json.

Each is read from its JSON into what tokenomix runs:

- normalizer: NFC, NFD, NFKC, NFKD and sequences of them run natively, with the data of
  Unicode 9.0 that `tokenizers` uses (`hf_unicode.normalizer`); any other normalizer runs
  through the `tokenizers` package itself when it is installed.
- pre-tokenizer: the shapes of real byte-level models whose split regex has a hand-written
  scanner in the native engine (`KNOWN_SPLIT_PATTERNS`) run natively. Any other shape of
  the supported pre-tokenizers (`FALLBACK_PRE_TOKENIZERS`) is split by the `tokenizers`
  package, when installed, into pieces that the native engine then merges: slower, exact.
- post-processor: the ids it puts before and after the text when special tokens are asked
  for (TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from tokenomix.vocab.hf_unicode import normalizer as unicode_normalizer

# Split regexes of tokenizer.json files, by the native scanner that splits text exactly as
# the `tokenizers` package runs them (Oniguruma, Unicode 16.0 tables).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN2_PATTERN = LLAMA3_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}")
_O200K_LETTERS = (
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*""",
)
_CONTRACTIONS = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?"""
_O200K_REST = r"""| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
O200K_PATTERN = (
    f"{_O200K_LETTERS[0]}{_CONTRACTIONS}|{_O200K_LETTERS[1]}{_CONTRACTIONS}"
    rf"|\p{{N}}{{1,3}}{_O200K_REST}"
)
TEKKEN_PATTERN = rf"{_O200K_LETTERS[0]}|{_O200K_LETTERS[1]}|\p{{N}}{_O200K_REST}"

KNOWN_SPLIT_PATTERNS = {
    GPT2_PATTERN: "r50k",
    LLAMA3_PATTERN: "llama3",
    QWEN2_PATTERN: "qwen2",
    O200K_PATTERN: "o200k",
    TEKKEN_PATTERN: "tekken",
}

UNICODE_FORMS = ("NFC", "NFD", "NFKC", "NFKD")
FALLBACK_PRE_TOKENIZERS = (
    "ByteLevel",
    "Split",
    "Digits",
    "Punctuation",
    "Whitespace",
    "WhitespaceSplit",
    "Sequence",
)
HF_EXTRA = "pip install 'tokenomix[hf]'"


def _typed(component: object, kind: str, where: str) -> str:
    if not isinstance(component, dict) or not isinstance(component.get("type"), str):
        raise ValueError(f"{where}: the {kind} has no type")
    return component["type"]


# Normalizers ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Normalizer:
    """A normalizer: `forms`, Unicode forms run here in order, or `run`, the tokenizers
    package's own (for any other normalizer)."""

    forms: tuple[str, ...] = ()
    run: Callable[[str], str] | None = None

    def __call__(self, text: str) -> str:
        if self.run is not None:
            return self.run(text)
        return unicode_normalizer(self.forms)(text)


def read_normalizer(spec: object, where: str) -> Normalizer | None:
    """Return the normalizer of a tokenizer.json, None when it has none."""
    if spec is None:
        return None
    forms = _unicode_forms(spec, where)
    if forms is not None:
        return Normalizer(forms=tuple(forms)) if forms else None
    return Normalizer(run=_tokenizers_component("normalizer", spec, where).normalize_str)


def _unicode_forms(spec: object, where: str) -> list[str] | None:
    """The Unicode forms a normalizer runs, or None if it does anything else."""
    kind = _typed(spec, "normalizer", where)
    if kind in UNICODE_FORMS:
        return [kind]
    if kind != "Sequence":
        return None
    forms = []
    for part in spec.get("normalizers", []):
        sub = _unicode_forms(part, where)
        if sub is None:
            return None
        forms += sub
    return forms


# Pre-tokenizers ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PreTokenizer:
    """How text is cut into pieces: by a native scanner (`scanner`, with a space put before
    text that does not start with one when `add_prefix_space`), or by `split`, the tokenizers
    package's pre-tokenizer, which returns each piece as UTF-8 bytes."""

    pattern: str
    scanner: str | None = None
    add_prefix_space: bool = False
    split: Callable[[str], list[bytes]] | None = None


def read_pre_tokenizer(spec: object, where: str) -> PreTokenizer:
    """Return the pre-tokenizer of a byte-level BPE tokenizer.json.

    Raises:
        ValueError: the pre-tokenizer has no ByteLevel step, or a step tokenomix does not run.
        ImportError: the shape needs the tokenizers package, which is not installed.
    """
    steps = _flatten(spec, where)
    kinds = [_typed(step, "pre-tokenizer", where) for step in steps]
    if "ByteLevel" not in kinds:
        raise ValueError(
            f"{where}: the pre-tokenizer has no ByteLevel step ({kinds or 'none'}): not a "
            "byte-level BPE tokenizer, which is all tokenomix reads"
        )
    for kind in kinds:
        if kind not in FALLBACK_PRE_TOKENIZERS:
            raise ValueError(
                f"{where}: pre-tokenizer {kind!r} is not supported (supported: "
                f"{', '.join(FALLBACK_PRE_TOKENIZERS)})"
            )
    native = _native_pre_tokenizer(steps)
    if native is not None:
        return native
    pattern = next((_split_regex(s) for s in steps if s["type"] == "Split"), None) or ""
    return PreTokenizer(pattern, split=_fallback_split(spec, pattern, where))


def _flatten(spec: object, where: str) -> list[dict]:
    if spec is None:
        return []
    if _typed(spec, "pre-tokenizer", where) != "Sequence":
        return [spec]
    return [step for part in spec.get("pretokenizers", []) for step in _flatten(part, where)]


def _split_regex(step: dict) -> str | None:
    pattern = step.get("pattern")
    return pattern.get("Regex") if isinstance(pattern, dict) else None


def _native_pre_tokenizer(steps: list[dict]) -> PreTokenizer | None:
    """The native form of ByteLevel alone (GPT-2's regex), or of Split(known regex, Isolated)
    then ByteLevel without its regex or prefix space; None for any other shape."""
    last = steps[-1]
    if last["type"] != "ByteLevel":
        return None
    use_regex = last.get("use_regex", True)
    prefix = bool(last.get("add_prefix_space", False))
    if len(steps) == 1 and use_regex:
        return PreTokenizer(GPT2_PATTERN, "r50k", add_prefix_space=prefix)
    if len(steps) != 2 or use_regex or prefix or steps[0]["type"] != "Split":
        return None
    split = steps[0]
    regex = _split_regex(split)
    if split.get("behavior") != "Isolated" or split.get("invert", False):
        return None
    scanner = KNOWN_SPLIT_PATTERNS.get(regex)
    return PreTokenizer(regex, scanner) if scanner else None


def _fallback_split(spec: object, pattern: str, where: str) -> Callable[[str], list[bytes]]:
    pre_tokenizer = _tokenizers_component("pre_tokenizer", spec, where, pattern=pattern)
    to_bytes = byte_level_decoding()

    def split(text: str) -> list[bytes]:
        pieces = pre_tokenizer.pre_tokenize_str(text)
        try:
            return [piece.translate(to_bytes).encode("latin-1") for piece, _ in pieces]
        except UnicodeEncodeError as error:
            raise ValueError(
                f"{where}: the pre-tokenizer made a piece outside the byte-level alphabet"
            ) from error

    return split


# Post-processors --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PostProcessor:
    """The ids put before and after one text when special tokens are asked for."""

    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()

    def __add__(self, other: PostProcessor) -> PostProcessor:
        return PostProcessor(self.before + other.before, self.after + other.after)


def read_post_processor(spec: object, where: str) -> PostProcessor:
    """Return what the post-processor of a tokenizer.json adds to a single text."""
    if spec is None:
        return PostProcessor()
    kind = _typed(spec, "post-processor", where)
    if kind == "ByteLevel":  # it only moves offsets
        return PostProcessor()
    if kind == "Sequence":
        result = PostProcessor()
        for part in spec.get("processors", []):
            result += read_post_processor(part, where)
        return result
    if kind in ("RobertaProcessing", "BertProcessing"):
        return PostProcessor((_pair_id(spec, "cls", where),), (_pair_id(spec, "sep", where),))
    if kind == "TemplateProcessing":
        return _template(spec, where)
    raise ValueError(f"{where}: post-processor {kind!r} is not supported")


def _pair_id(spec: dict, key: str, where: str) -> int:
    value = spec.get(key)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)):
        raise ValueError(f"{where}: post-processor {spec['type']} has no [token, id] {key!r}")
    return value[1]


def _template(spec: dict, where: str) -> PostProcessor:
    specials = spec.get("special_tokens", {})
    before: list[int] = []
    after: list[int] = []
    seen_text = False
    for piece in spec.get("single", []):
        if "Sequence" in piece:
            seen_text = True
            continue
        name = piece.get("SpecialToken", {}).get("id")
        if name not in specials:
            raise ValueError(f"{where}: template names an unknown special token {name!r}")
        (after if seen_text else before).extend(specials[name]["ids"])
    return PostProcessor(tuple(before), tuple(after))


# The tokenizers package -------------------------------------------------------------------


def byte_level_decoding() -> dict[int, int]:
    """The str.translate table from GPT-2's byte-level alphabet to bytes as code points.

    The alphabet spells the printable bytes as themselves and the 68 others as U+0100 to
    U+0143. Every character outside it maps to (or stays) above U+00FF, so that encoding the
    translation as Latin-1 fails for a string that is not spelled in the alphabet.
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    table = {b: b for b in printable}
    table.update({b: 0xFFFF for b in others})
    table.update({0x100 + i: b for i, b in enumerate(others)})
    return table


def _tokenizers_component(kind: str, spec: object, where: str, pattern: str = ""):
    """Build one component with the tokenizers package, inside an otherwise empty tokenizer."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        what = f"split pattern {pattern!r}" if pattern else f"{kind} {spec.get('type')!r}"
        raise ImportError(
            f"{where}: the {what} has no built-in implementation in tokenomix; it runs "
            f"through the tokenizers package, which is not installed ({HF_EXTRA})"
        ) from None
    empty_model = {"type": "BPE", "vocab": {}, "merges": []}
    document = {"version": "1.0", "model": empty_model, kind: spec}
    try:
        return getattr(Tokenizer.from_str(json.dumps(document)), kind)
    except Exception as error:  # the package raises its own exception type
        raise ValueError(
            f"{where}: the tokenizers package cannot read the {kind}: {error}"
        ) from None
