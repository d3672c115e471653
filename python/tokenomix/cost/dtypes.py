"""Bytes per element of the weight and KV-cache data types, under the names users type."""

from __future__ import annotations

import difflib

# Bytes per element. The 4-bit microscaling formats carry one 8-bit scale per block of 32
# elements (OCP Microscaling Formats (MX) Specification v1.0, section 5: MXFP4 is FP4 E2M1
# with an E8M0 scale shared by 32 elements), so (32 * 4 + 8) / 32 = 4.25 bits. NVFP4 shares
# an FP8 scale per 16 elements: (16 * 4 + 8) / 16 = 4.5 bits (NVIDIA Blackwell NVFP4 format).
_BYTES = {
    "float32": 4.0,
    "bfloat16": 2.0,
    "float16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "mxfp4": 4.25 / 8,
    "nvfp4": 4.5 / 8,
    "int4": 0.5,
}

# Other spellings, including vLLM's `--kv-cache-dtype` values (vllm/config/cache.py:
# "auto", "fp8", "fp8_e4m3", "fp8_e5m2") and PyTorch's names.
_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "bf16": "bfloat16",
    "fp16": "float16",
    "half": "float16",
    "fp8_e4m3": "fp8",
    "fp8_e5m2": "fp8",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "e4m3": "fp8",
    "e5m2": "fp8",
}


def canonical_dtype(name: str) -> str:
    """Return the canonical name of a data type ("bf16" -> "bfloat16").

    Raises:
        ValueError: the name is not a known data type; the message lists close matches.
    """
    key = str(name).strip().lower().removeprefix("torch.")
    key = _ALIASES.get(key, key)
    if key in _BYTES:
        return key
    known = sorted({*_BYTES, *_ALIASES})
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown data type {name!r}{hint} (known: {', '.join(sorted(_BYTES))})")


def dtype_bytes(name: str) -> float:
    """Return the bytes per element of a data type, scales of block formats included."""
    return _BYTES[canonical_dtype(name)]
