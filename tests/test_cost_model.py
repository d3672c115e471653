"""Model and GPU presets: golden KV bytes, published parameter counts, configs, sources."""

from __future__ import annotations

import json

import pytest

from tokenomix.cost import (
    GpuSpec,
    ModelSpec,
    UnknownPresetError,
    dtype_bytes,
    get_gpu,
    get_model,
    list_gpus,
    list_models,
    published_counts,
)
from tokenomix.cost.presets import _data

ISSUE_MODELS = [
    "Llama-2-7B",
    "Llama-3.1-8B",
    "Llama-3.1-70B",
    "Llama-3.1-405B",
    "Mistral-7B-v0.1",
    "Mixtral-8x7B",
    "Qwen2.5-7B",
    "Qwen2.5-72B",
    "DeepSeek-V3",
    "gpt-oss-20b",
    "gpt-oss-120b",
]
ISSUE_GPUS = ["A100-40GB", "A100-80GB", "H100-SXM", "H100-PCIe", "H200", "B200", "L4", "L40S"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Llama-2-7B", 524_288),  # 2 x 32 layers x 32 KV heads x 128 x 2 bytes
        ("Llama-3.1-8B", 131_072),  # 2 x 32 x 8 x 128 x 2
        ("Llama-3.1-70B", 327_680),  # 2 x 80 x 8 x 128 x 2
        ("DeepSeek-V3", 70_272),  # 61 x (512 latent + 64 RoPE) x 2, no factor 2
    ],
)
def test_kv_cache_bytes_per_token_golden(name, expected):
    assert get_model(name).kv_cache_bytes_per_token() == expected


def test_kv_cache_bytes_follow_dtype_and_tensor_parallel():
    llama = get_model("Llama-3.1-8B")
    assert llama.kv_cache_bytes_per_token(kv_dtype="fp8") == 65_536
    assert llama.kv_cache_bytes_per_token(kv_dtype="float32") == 262_144
    # 8 KV heads over 8 GPUs: one each, nothing replicated; over 16: each head on 2 GPUs.
    assert llama.kv_cache_bytes_per_token(tensor_parallel=8) == 131_072
    assert llama.kv_cache_bytes_per_token(tensor_parallel=16) == 262_144
    # The MLA latent is whole on every GPU.
    assert get_model("DeepSeek-V3").kv_cache_bytes_per_token(tensor_parallel=8) == 8 * 70_272


@pytest.mark.parametrize(
    "name", [n for n in ISSUE_MODELS if "num_parameters" in published_counts(n)]
)
def test_parameter_counts_equal_published_exact_counts(name):
    assert get_model(name).num_parameters == published_counts(name)["num_parameters"]["value"]


@pytest.mark.parametrize(
    "name", [n for n in ISSUE_MODELS if "num_parameters_billions" in published_counts(n)]
)
def test_parameter_counts_round_to_published_billions(name):
    published = published_counts(name)["num_parameters_billions"]["value"]
    assert abs(get_model(name).num_parameters / 1e9 - published) < last_digit(published)


def last_digit(published: float) -> float:
    """One unit in the last digit a count is published with (7.61 -> 0.01): publishers round
    or truncate."""
    return 10.0 ** -len(str(published).partition(".")[2])


def test_active_parameters_against_published():
    # Mixtral counts the embeddings in its 12.9B; DeepSeek-V3 and the gpt-oss model card
    # leave the input embedding table out.
    mixtral = get_model("Mixtral-8x7B")
    assert round(mixtral.active_parameters / 1e9, 1) == 12.9
    for name in ("DeepSeek-V3", "gpt-oss-20b", "gpt-oss-120b"):
        spec = get_model(name)
        published = published_counts(name)["active_parameters_billions"]["value"]
        active = (spec.active_parameters - spec.embedding_parameters) / 1e9
        assert abs(active - published) < last_digit(published), name
    qwen = get_model("Qwen2.5-7B")
    assert round((qwen.num_parameters - 2 * qwen.embedding_parameters) / 1e9, 2) == 6.53


def test_architectures():
    kinds = {name: get_model(name).attention for name in ISSUE_MODELS}
    assert kinds["Llama-2-7B"] == "mha"
    assert kinds["DeepSeek-V3"] == "mla"
    assert {kinds[n] for n in ("Llama-3.1-8B", "Mixtral-8x7B", "gpt-oss-20b")} == {"gqa"}
    mistral = get_model("Mistral-7B-v0.1")
    assert (mistral.num_sliding_layers, mistral.sliding_window) == (32, 4096)
    oss = get_model("gpt-oss-20b")
    assert oss.num_sliding_layers == 12 and oss.layer_types[:2] == ("sliding", "full")
    assert get_model("Qwen2.5-72B").num_sliding_layers == 0  # use_sliding_window is false
    deepseek = get_model("DeepSeek-V3")
    assert deepseek.num_moe_layers == 58 and not deepseek.is_moe_layer(2)
    assert (deepseek.linear_dtype, deepseek.expert_dtype) == ("fp8", "fp8")
    assert (oss.linear_dtype, oss.expert_dtype) == ("bfloat16", "mxfp4")


def test_every_issue_preset_exists_with_its_sources():
    assert set(ISSUE_MODELS) <= set(list_models())
    assert set(ISSUE_GPUS) <= set(list_gpus())
    for name, entry in _data("models.json")["models"].items():
        assert entry["source"].startswith("config.json of huggingface.co/"), name
        for count in entry["published"].values():
            assert count["source"], name
    for name, entry in _data("gpus.json")["gpus"].items():
        for field in ("memory_gb", "runtime_memory", "memory_bandwidth", "bf16_flops", "fp8_flops"):
            assert entry[field]["source"], (name, field)
        assert get_gpu(name).sources["memory_bytes"], name


def test_gpu_presets():
    h100 = get_gpu("h100")
    assert h100.name == "H100-SXM"
    assert h100.memory_bytes == round(79.22 * 2**30)
    assert h100.memory_bandwidth_bytes_per_second == 3.35e12
    assert h100.flops_per_second("fp8") == 2 * h100.flops_per_second("bf16")
    assert h100.flops_per_second("bfloat16") == h100.flops_per_second("float16") == 989.5e12
    with pytest.raises(ValueError, match="compute_dtype must be 'bf16' or 'fp8', got 'int4'"):
        h100.flops_per_second("int4")
    assert get_gpu("A100-80GB").fp8_flops_per_second is None
    assert get_gpu("H100 PCIe").memory_bytes == 80 * 10**9  # no runtime figure published
    assert get_gpu("nvidia-l4").nominal_memory_gb == 24


def test_unknown_names_list_close_matches():
    with pytest.raises(UnknownPresetError) as raised:
        get_model("Mistral-7B-v0.2")
    assert "did you mean Mistral-7B-v0.1" in str(raised.value)
    assert isinstance(raised.value, KeyError)
    with pytest.raises(KeyError, match="unknown GPU 'A100'; did you mean") as raised:
        get_gpu("A100")
    assert "A100-40GB" in str(raised.value) and "A100-80GB" in str(raised.value)
    with pytest.raises(KeyError, match=r"unknown GPU 'TPU v5'"):
        get_gpu("TPU v5")
    with pytest.raises(TypeError):
        get_model(7)


def test_config_json_file_equals_preset(tmp_path):
    entry = _data("models.json")["models"]["Llama-3.1-70B"]
    path = tmp_path / "Llama-3.1-70B" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({**entry["config"], "architectures": ["LlamaForCausalLM"]}))
    spec = ModelSpec.from_config(path)
    preset = get_model("Llama-3.1-70B")
    assert spec.name == "Llama-3.1-70B"
    assert spec.num_parameters == preset.num_parameters
    assert spec.kv_cache_bytes_per_token() == preset.kv_cache_bytes_per_token()
    assert get_model(entry["config"]).num_parameters == preset.num_parameters


def test_config_with_text_config_and_user_dict():
    # A multimodal config nests the language model (Llama-3.2-11B-Vision-like: 40 layers).
    config = {
        "model_type": "mllama",
        "text_config": {
            "model_type": "mllama_text_model",
            "num_hidden_layers": 40,
            "hidden_size": 4096,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "intermediate_size": 14336,
            "vocab_size": 128256,
            "max_position_embeddings": 131072,
            "torch_dtype": "bfloat16",
        },
    }
    assert get_model(config).kv_cache_bytes_per_token() == 40 * 2 * 8 * 128 * 2


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"hidden_size": 8}, "no 'num_hidden_layers'"),
        (
            {
                "num_hidden_layers": "32",
                "hidden_size": 8,
                "num_attention_heads": 1,
                "vocab_size": 2,
                "max_position_embeddings": 4,
            },
            "must be an integer",
        ),
        (
            {
                "num_hidden_layers": 2,
                "hidden_size": 8,
                "num_attention_heads": 3,
                "num_key_value_heads": 2,
                "vocab_size": 2,
                "max_position_embeddings": 4,
            },
            "not a multiple",
        ),
        (
            {
                "num_hidden_layers": 2,
                "hidden_size": 8,
                "num_attention_heads": 1,
                "vocab_size": 2,
                "max_position_embeddings": 4,
                "quantization_config": {"quant_method": "gptq"},
            },
            "quantization method 'gptq' is not supported",
        ),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_configs(config, match):
    with pytest.raises(ValueError, match=match):
        ModelSpec.from_config(config) if isinstance(config, dict) else (
            __import__("tokenomix.cost.hf_config", fromlist=["x"]).spec_fields(
                config, name="x", source=""
            )
        )


def test_malformed_config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json: not valid JSON"):
        ModelSpec.from_config(path)
    with pytest.raises(FileNotFoundError):
        ModelSpec.from_config(tmp_path / "missing.json")


def test_dtypes():
    assert dtype_bytes("bf16") == 2 == dtype_bytes("torch.float16")
    assert dtype_bytes("fp8_e5m2") == 1
    assert dtype_bytes("mxfp4") == 4.25 / 8  # 4-bit values and an 8-bit scale per 32
    with pytest.raises(ValueError, match="did you mean"):
        dtype_bytes("bfloat61")


def test_custom_gpu_validation():
    with pytest.raises(ValueError, match="memory_bytes must be a positive number"):
        GpuSpec(
            name="x", memory_bytes=0, memory_bandwidth_bytes_per_second=1, bf16_flops_per_second=1
        )
