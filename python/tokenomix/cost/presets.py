"""The bundled model and GPU presets (data/models.json, data/gpus.json) and name lookup."""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

from tokenomix.cost.gpu import GpuSpec
from tokenomix.cost.model import ModelSpec
from tokenomix.errors import TokenomixError


class UnknownPresetError(TokenomixError, KeyError):
    """A model or GPU name that no preset carries; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@functools.cache
def _data(file: str) -> dict[str, Any]:
    text = importlib.resources.files("tokenomix.cost").joinpath("data", file).read_text("utf-8")
    return json.loads(text)


def _normalize(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")


def _index(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Map every normalized name and alias to its preset key."""
    index: dict[str, str] = {}
    for key, entry in entries.items():
        for name in (key, *entry.get("aliases", ())):
            index[_normalize(name)] = key
    return index


def _lookup(kind: str, name: str, entries: Mapping[str, Mapping[str, Any]]) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a name (str) or a spec, got {type(name).__name__}")
    index = _index(entries)
    key = index.get(_normalize(name))
    if key is not None:
        return key
    names = {_normalize(k): k for k in entries} | {
        alias_key: key for alias_key, key in index.items()
    }
    close = difflib.get_close_matches(_normalize(name), list(names), n=4, cutoff=0.5)
    matches = list(dict.fromkeys(names[c] for c in close))
    hint = f"; did you mean {', '.join(matches)}?" if matches else ""
    raise UnknownPresetError(
        f"unknown {kind} {name!r}{hint} (presets: {', '.join(entries)}; or pass your own "
        f"{'ModelSpec or config.json' if kind == 'model' else 'GpuSpec'})"
    )


def list_models() -> list[str]:
    """Return the names of the bundled model presets."""
    return list(_data("models.json")["models"])


def list_gpus() -> list[str]:
    """Return the names of the bundled GPU presets."""
    return list(_data("gpus.json")["gpus"])


@functools.cache
def _preset_model(key: str) -> ModelSpec:
    entry = _data("models.json")["models"][key]
    return ModelSpec.from_config(entry["config"], name=key, source=entry["source"])


def get_model(model: str | ModelSpec | Mapping[str, Any]) -> ModelSpec:
    """Return the spec of a model preset by name or alias (case-insensitive).

    A ModelSpec is returned as is; a dict is read as a Hugging Face config.

    >>> from tokenomix.cost import get_model
    >>> get_model("Llama-3.1-8B").kv_cache_bytes_per_token()
    131072

    Raises:
        UnknownPresetError: (a KeyError) no preset has this name; the message lists the
            closest names.
    """
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, Mapping):
        return ModelSpec.from_config(model)
    return _preset_model(_lookup("model", model, _data("models.json")["models"]))


def published_counts(name: str) -> dict[str, dict[str, Any]]:
    """Return the parameter counts the authors of a preset publish, each with its source."""
    key = _lookup("model", name, _data("models.json")["models"])
    return dict(_data("models.json")["models"][key].get("published", {}))


def get_gpu(gpu: str | GpuSpec) -> GpuSpec:
    """Return the spec of a GPU preset by name or alias (case-insensitive).

    >>> from tokenomix.cost import get_gpu
    >>> get_gpu("H100").memory_bandwidth_bytes_per_second
    3350000000000.0

    Raises:
        UnknownPresetError: (a KeyError) no preset has this name; the message lists the
            closest names.
    """
    if isinstance(gpu, GpuSpec):
        return gpu
    entries = _data("gpus.json")["gpus"]
    key = _lookup("GPU", gpu, entries)
    return GpuSpec.from_preset(key, entries[key])
