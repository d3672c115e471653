"""tiktoken rank files of open models ("<base64 token> <rank>" lines), read with a split
pattern and special tokens given by the caller or by a named model.

The split pattern is a name (`SPLIT_PATTERNS`) or a regex string spelled as one of them.
Rank files are read with tiktoken's rules: the rank is the id, a piece that is a token is
that token, and the split regex runs with the Unicode 16.0 tables of tiktoken's regex engine.
"""

from __future__ import annotations

from tokenomix import _core
from tokenomix.vocab.hf_components import LLAMA3_PATTERN, QWEN2_PATTERN, TEKKEN_PATTERN
from tokenomix.vocab.openai import CL100K_PATTERN, O200K_PATTERN, R50K_PATTERN

# Split patterns by name (the native scanner's), as tiktoken-compatible code spells them:
# r50k, cl100k and o200k as in tiktoken 0.14; llama3 as in Meta's Llama 3 tokenizer.py;
# qwen2 as in Qwen's tokenization_qwen.py; tekken as in Mistral's Tekken files.
SPLIT_PATTERNS = {
    "r50k": R50K_PATTERN,
    "cl100k": CL100K_PATTERN,
    "o200k": O200K_PATTERN,
    "llama3": LLAMA3_PATTERN,
    "qwen2": QWEN2_PATTERN,
    "tekken": TEKKEN_PATTERN,
}
_ALIASES = {
    "r50k_base": "r50k",
    "p50k_base": "r50k",
    "cl100k_base": "cl100k",
    "o200k_base": "o200k",
}


def split_pattern(pattern: str) -> tuple[str, str]:
    """Return (scanner name, regex) for a pattern name or regex string.

    Raises:
        ValueError: the pattern is neither a known name nor spelled as a known pattern.
    """
    name = _ALIASES.get(pattern, pattern)
    if name in SPLIT_PATTERNS:
        return name, SPLIT_PATTERNS[name]
    for name, regex in SPLIT_PATTERNS.items():
        if regex == pattern:
            return name, regex
    raise ValueError(
        f"split pattern {pattern!r} has no built-in pre-tokenizer; give one of the names "
        f"{sorted(SPLIT_PATTERNS)} or one of their regexes spelled exactly"
    )


def build_rank_file_core(
    contents: bytes, scanner: str, special_tokens: dict[str, int], where: str
) -> _core.CoreEncoder:
    """Build the engine of a tiktoken rank file.

    Raises:
        ValueError: a line is not "<base64> <rank>", a rank repeats, a byte has no token, or
            a special token's id is a rank of the file.
    """
    try:
        return _core.CoreEncoder.from_tiktoken(contents, scanner, list(special_tokens.items()))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
