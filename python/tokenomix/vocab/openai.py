"""The OpenAI encodings: rank files bundled in the package, split patterns, special tokens.

Facts from tiktoken 0.14.0 (`tiktoken_ext/openai_public.py`): the pattern strings, the
special tokens and their ids, and the sha256 of each rank file.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.resources

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

R50K_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)

# The pattern strings that have a hand-written scanner in the C++ core, by scanner name.
BUILTIN_PATTERNS = {R50K_PATTERN: "r50k", CL100K_PATTERN: "cl100k", O200K_PATTERN: "o200k"}


@dataclasses.dataclass(frozen=True)
class RankFile:
    """A rank file bundled in tokenomix/vocab/data, gzip-compressed."""

    name: str
    sha256: str

    def read(self) -> bytes:
        """Return the decompressed file, checked against its sha256.

        Raises:
            ValueError: the bundled file is damaged.
        """
        path = importlib.resources.files("tokenomix.vocab") / "data" / f"{self.name}.tiktoken.gz"
        contents = gzip.decompress(path.read_bytes())
        digest = hashlib.sha256(contents).hexdigest()
        if digest != self.sha256:
            raise ValueError(
                f"bundled rank file {self.name}.tiktoken.gz has sha256 {digest}, expected "
                f"{self.sha256}: the installation is damaged, reinstall tokenomix"
            )
        return contents


R50K = RankFile("r50k_base", "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930")
P50K = RankFile("p50k_base", "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069")
CL100K = RankFile("cl100k_base", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7")
O200K = RankFile("o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d")


@dataclasses.dataclass(frozen=True)
class EncodingSpec:
    """Everything needed to build one bundled encoding."""

    name: str
    rank_file: RankFile
    pat_str: str
    special_tokens: dict[str, int]
    explicit_n_vocab: int | None = None


def _harmony_special_tokens() -> dict[str, int]:
    named = {
        "<|startoftext|>": 199998,
        ENDOFTEXT: 199999,
        "<|return|>": 200002,
        "<|constrain|>": 200003,
        "<|channel|>": 200005,
        "<|start|>": 200006,
        "<|end|>": 200007,
        "<|message|>": 200008,
        "<|call|>": 200012,
        ENDOFPROMPT: 200018,
    }
    # As in tiktoken, <|reserved_200018|> and <|endofprompt|> share an id; decoding it gives
    # <|endofprompt|>, the name listed first.
    reserved = {
        f"<|reserved_{i}|>": i
        for i in [200000, 200001, 200004, 200009, 200010, 200011, *range(200013, 201088)]
    }
    return named | reserved


ENCODINGS: dict[str, EncodingSpec] = {
    spec.name: spec
    for spec in [
        EncodingSpec("gpt2", R50K, R50K_PATTERN, {ENDOFTEXT: 50256}, 50257),
        EncodingSpec("r50k_base", R50K, R50K_PATTERN, {ENDOFTEXT: 50256}, 50257),
        EncodingSpec("p50k_base", P50K, R50K_PATTERN, {ENDOFTEXT: 50256}, 50281),
        EncodingSpec(
            "p50k_edit",
            P50K,
            R50K_PATTERN,
            {ENDOFTEXT: 50256, FIM_PREFIX: 50281, FIM_MIDDLE: 50282, FIM_SUFFIX: 50283},
        ),
        EncodingSpec(
            "cl100k_base",
            CL100K,
            CL100K_PATTERN,
            {
                ENDOFTEXT: 100257,
                FIM_PREFIX: 100258,
                FIM_MIDDLE: 100259,
                FIM_SUFFIX: 100260,
                ENDOFPROMPT: 100276,
            },
        ),
        EncodingSpec("o200k_base", O200K, O200K_PATTERN, {ENDOFTEXT: 199999, ENDOFPROMPT: 200018}),
        EncodingSpec("o200k_harmony", O200K, O200K_PATTERN, _harmony_special_tokens()),
    ]
}
