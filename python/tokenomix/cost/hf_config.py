"""Read the fields of a Hugging Face `config.json` into the fields of a ModelSpec.

The names are those of the `transformers` configuration classes (LlamaConfig, MistralConfig,
MixtralConfig, Qwen2Config, DeepseekV3Config, GptOssConfig); architectures that reuse them
read the same way. Multimodal configs nest the language model under `text_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomix.cost.model import FULL, SLIDING

# Architectures whose q/k/v projections carry a bias although their config has no
# `attention_bias` field (transformers Qwen2Attention: q_proj, k_proj, v_proj with bias=True).
_QKV_BIAS_TYPES = {"qwen2", "qwen2_moe"}

# Quantization methods of `quantization_config` and the data type of the matrices they store.
# DeepSeek-V3 ships FP8 E4M3 weights with 128x128 block scales (its config.json); their
# float32 scales, 4 bytes per 16,384 weights, are left out. gpt-oss stores its MoE experts in
# MXFP4 and keeps attention, router and embeddings in BF16 (modules_to_not_convert).
_QUANTIZED = {"fp8": ("fp8", "fp8"), "mxfp4": (None, "mxfp4")}


def spec_fields(config: Mapping[str, Any], *, name: str, source: str) -> dict[str, Any]:
    """Return the ModelSpec keyword arguments that `config` describes."""
    if not isinstance(config, Mapping):
        raise ValueError(f"model config must be a JSON object, got {type(config).__name__}")
    text = config.get("text_config")
    c = {**config, **text} if isinstance(text, Mapping) else dict(config)
    model_type = str(c.get("model_type", ""))

    layers = _int(c, "num_hidden_layers")
    hidden = _int(c, "hidden_size")
    heads = _int(c, "num_attention_heads")
    fields: dict[str, Any] = {
        "name": name,
        "source": source,
        "num_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_kv_heads": _int(c, "num_key_value_heads", heads),
        "head_dim": _int(c, "head_dim", hidden // heads if heads else 0),
        "vocab_size": _int(c, "vocab_size"),
        "max_context": _int(c, "max_position_embeddings"),
        "intermediate_size": _int(c, "intermediate_size", 0),
        "tie_word_embeddings": bool(c.get("tie_word_embeddings", False)),
    }
    fields |= _moe_fields(c, fields["intermediate_size"])
    fields |= _mla_fields(c)
    fields |= _window_fields(c, model_type, layers)
    fields |= _bias_fields(c, model_type)
    fields |= _dtype_fields(c)
    return fields


def _int(c: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = c.get(key)
    if value is None:
        if default is None:
            raise ValueError(f"model config has no {key!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"model config field {key!r} must be an integer, got {value!r}")
    return value


def _moe_fields(c: Mapping[str, Any], intermediate: int) -> dict[str, Any]:
    experts = (
        _int(c, "n_routed_experts", 0)
        or _int(c, "num_local_experts", 0)
        or _int(c, "num_experts", 0)
    )
    if not experts:
        return {}
    per_token = _int(c, "num_experts_per_tok", 0) or _int(c, "experts_per_token", 0)
    # Mixtral and gpt-oss give the expert width as intermediate_size and have no dense block;
    # DeepSeek and Qwen-MoE give it as moe_intermediate_size beside a dense intermediate_size.
    moe_width = _int(c, "moe_intermediate_size", 0)
    dense = intermediate if moe_width else 0
    moe_width = moe_width or intermediate
    shared = _int(c, "shared_expert_intermediate_size", 0) or (
        _int(c, "n_shared_experts", 0) * moe_width
    )
    return {
        "num_experts": experts,
        "num_experts_per_token": per_token,
        "moe_intermediate_size": moe_width,
        "shared_expert_intermediate_size": shared,
        "intermediate_size": dense,
        "first_dense_layers": _int(c, "first_k_dense_replace", 0),
        "moe_layer_freq": _int(c, "moe_layer_freq", 0) or _int(c, "decoder_sparse_step", 1),
    }


def _mla_fields(c: Mapping[str, Any]) -> dict[str, Any]:
    if not c.get("kv_lora_rank"):
        return {}
    # MLA keeps one latent per token whatever the head count: vLLM serves it with one KV head.
    return {
        "q_lora_rank": _int(c, "q_lora_rank", 0),
        "kv_lora_rank": _int(c, "kv_lora_rank"),
        "qk_nope_head_dim": _int(c, "qk_nope_head_dim"),
        "qk_rope_head_dim": _int(c, "qk_rope_head_dim"),
        "v_head_dim": _int(c, "v_head_dim"),
        "head_dim": _int(c, "qk_nope_head_dim") + _int(c, "qk_rope_head_dim"),
        "num_kv_heads": _int(c, "num_attention_heads"),
    }


def _window_fields(c: Mapping[str, Any], model_type: str, layers: int) -> dict[str, Any]:
    window = c.get("sliding_window")
    types = c.get("layer_types")
    if types is not None:
        kinds = tuple(SLIDING if "sliding" in str(t) else FULL for t in types)
    elif not window or c.get("use_sliding_window") is False:
        kinds = (FULL,) * layers
    elif model_type in _QKV_BIAS_TYPES:
        # Qwen2: the first max_window_layers layers keep full attention (Qwen2Config).
        full = _int(c, "max_window_layers", layers)
        kinds = tuple(FULL if i < full else SLIDING for i in range(layers))
    else:
        kinds = (SLIDING,) * layers  # Mistral: every layer has the window
    if SLIDING not in kinds:
        return {"layer_types": kinds, "sliding_window": 0}
    return {"layer_types": kinds, "sliding_window": _int(c, "sliding_window")}


def _bias_fields(c: Mapping[str, Any], model_type: str) -> dict[str, Any]:
    attention_bias = bool(c.get("attention_bias", False))
    gpt_oss = model_type == "gpt_oss"
    return {
        "qkv_bias": attention_bias or model_type in _QKV_BIAS_TYPES,
        "o_bias": attention_bias,
        # gpt-oss: biased experts and router, one attention sink per head (GptOssExperts,
        # GptOssTopKRouter, GptOssAttention.sinks); DeepSeek-V3 routes with a bias per expert
        # (e_score_correction_bias, topk_method "noaux_tc").
        "expert_bias": gpt_oss or bool(c.get("mlp_bias", False)),
        "router_bias": gpt_oss or c.get("topk_method") == "noaux_tc",
        "attention_sinks": gpt_oss,
    }


def _dtype_fields(c: Mapping[str, Any]) -> dict[str, Any]:
    dtype = str(c.get("torch_dtype") or c.get("dtype") or "bfloat16")
    linear = expert = dtype
    quantization = c.get("quantization_config")
    if isinstance(quantization, Mapping):
        method = str(quantization.get("quant_method", ""))
        if method not in _QUANTIZED:
            raise ValueError(
                f"quantization method {method!r} is not supported; pass weight_dtype to the "
                "estimate to say how its weights are stored"
            )
        linear_q, expert_q = _QUANTIZED[method]
        linear = linear_q or dtype
        expert = expert_q or dtype
    return {"dtype": dtype, "linear_dtype": linear, "expert_dtype": expert}
