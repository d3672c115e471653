"""What a rank file of an open model does not say: its split pattern and special tokens.

`Encoding.from_file(path, model=NAME)` reads a tiktoken-format rank file with the pattern and
special tokens of a model named here (as on the Hugging Face Hub, case-insensitive, with or
without the organisation). Meta's Llama 3 rank file is also recognised by its sha256.
No vocabulary is bundled: the rank file is the user's.

Sources: Llama 3, the special tokens of meta-llama/llama3's tokenizer.py (equal to the added
tokens of the Meta-Llama-3 tokenizer.json files); Llama 3.1 to 3.3, those of the Hub's
Llama-3.1 tokenizer.json files (listed by transformers' convert_llama_weights_to_hf.py);
Qwen2.5, the added tokens of its tokenizer.json (ranks equal to its vocabulary ids); Mistral
Nemo, the default special tokens of Tekken files (mistral-common 1.13).
"""

from __future__ import annotations

import dataclasses

from tokenomix.vocab.tekken import DEFAULT_SPECIAL_TOKENS


@dataclasses.dataclass(frozen=True)
class OpenModel:
    """The split pattern (a name of rank_file.SPLIT_PATTERNS) and special tokens of a model."""

    name: str
    pattern: str
    special_tokens: dict[str, int]


def _llama3_special_tokens(named: list[str], first_reserved: int) -> dict[str, int]:
    reserved = [f"<|reserved_special_token_{i}|>" for i in range(first_reserved, 256)]
    names = [*named, *reserved][:256]
    return {name: 128000 + i for i, name in enumerate(names)}


LLAMA3_SPECIAL_TOKENS = _llama3_special_tokens(
    [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    ],
    first_reserved=5,
)
LLAMA3_1_SPECIAL_TOKENS = _llama3_special_tokens(
    [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|finetune_right_pad_id|>",
        "<|reserved_special_token_2|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
        "<|python_tag|>",
    ],
    first_reserved=3,
)
QWEN2_5_SPECIAL_TOKENS = {
    name: 151643 + i
    for i, name in enumerate(
        [
            "<|endoftext|>",
            "<|im_start|>",
            "<|im_end|>",
            "<|object_ref_start|>",
            "<|object_ref_end|>",
            "<|box_start|>",
            "<|box_end|>",
            "<|quad_start|>",
            "<|quad_end|>",
            "<|vision_start|>",
            "<|vision_end|>",
            "<|vision_pad|>",
            "<|image_pad|>",
            "<|video_pad|>",
            "<tool_call>",
            "</tool_call>",
            "<|fim_prefix|>",
            "<|fim_middle|>",
            "<|fim_suffix|>",
            "<|fim_pad|>",
            "<|repo_name|>",
            "<|file_sep|>",
        ]
    )
}
TEKKEN_SPECIAL_TOKENS = {
    **{name: rank for rank, name in enumerate(DEFAULT_SPECIAL_TOKENS)},
    **{f"<SPECIAL_{rank}>": rank for rank in range(len(DEFAULT_SPECIAL_TOKENS), 1000)},
}

_FAMILIES = {
    ("llama3", "llama3"): [
        "meta-llama/Meta-Llama-3-8B",
        "meta-llama/Meta-Llama-3-8B-Instruct",
        "meta-llama/Meta-Llama-3-70B",
        "meta-llama/Meta-Llama-3-70B-Instruct",
    ],
    ("llama3", "llama3_1"): [
        "meta-llama/Llama-3.1-8B",
        "meta-llama/Llama-3.1-8B-Instruct",
        "meta-llama/Llama-3.1-70B",
        "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama/Llama-3.1-405B",
        "meta-llama/Llama-3.1-405B-Instruct",
        "meta-llama/Llama-3.2-1B",
        "meta-llama/Llama-3.2-1B-Instruct",
        "meta-llama/Llama-3.2-3B",
        "meta-llama/Llama-3.2-3B-Instruct",
        "meta-llama/Llama-3.3-70B-Instruct",
    ],
    ("qwen2", "qwen2_5"): [
        f"Qwen/Qwen2.5-{size}{suffix}"
        for size in ("0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B")
        for suffix in ("", "-Instruct")
    ],
    ("tekken", "tekken"): [
        "mistralai/Mistral-Nemo-Base-2407",
        "mistralai/Mistral-Nemo-Instruct-2407",
    ],
}
_SPECIALS = {
    "llama3": LLAMA3_SPECIAL_TOKENS,
    "llama3_1": LLAMA3_1_SPECIAL_TOKENS,
    "qwen2_5": QWEN2_5_SPECIAL_TOKENS,
    "tekken": TEKKEN_SPECIAL_TOKENS,
}
OPEN_MODELS = {
    name: OpenModel(name, pattern, _SPECIALS[specials])
    for (pattern, specials), names in _FAMILIES.items()
    for name in names
}

# sha256 of rank files that say which model they are: Meta's Llama 3 tokenizer.model (shared
# by Llama 3 to 3.3), read with the special tokens of Llama 3.1.
KNOWN_RANK_FILES = {
    "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55": "meta-llama/Llama-3.1-8B",
}


def open_model(name: str) -> OpenModel:
    """Return the model of that name (case-insensitive; the organisation may be left out).

    Raises:
        KeyError: no model of that name; the message lists them.
    """
    wanted = name.lower()
    for model_name, model in OPEN_MODELS.items():
        if wanted in (model_name.lower(), model_name.split("/")[1].lower()):
            return model
    raise KeyError(
        f"unknown open model {name!r}; known: {', '.join(sorted(OPEN_MODELS))}; for another "
        "model, give Encoding.from_file its pattern= and special_tokens= (Python)"
    )
