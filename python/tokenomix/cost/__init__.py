"""What LLM requests cost to serve: FLOPs, KV-cache memory, concurrency, time and dollars.

Batched estimates over arrays of per-request token counts, computed in one native pass:

>>> from tokenomix.cost import capacity, estimate, get_model
>>> get_model("Llama-3.1-70B").kv_cache_bytes_per_token()
327680
>>> result = estimate([4000, 12000], [300, 800], model="Llama-3.1-70B", gpu="H100",
...                   tensor_parallel=4, price_per_million_input_tokens=0.6,
...                   price_per_million_output_tokens=0.8)
>>> [round(float(x), 6) for x in result.cost_usd]
[0.00264, 0.00784]
"""

from tokenomix.cost.capacity import Capacity, capacity, kv_cache_groups
from tokenomix.cost.dtypes import dtype_bytes
from tokenomix.cost.estimate import estimate
from tokenomix.cost.gpu import GpuSpec
from tokenomix.cost.inflight import InFlight, in_flight
from tokenomix.cost.model import ModelSpec, ParameterCounts
from tokenomix.cost.params import DoesNotFitError
from tokenomix.cost.presets import (
    UnknownPresetError,
    get_gpu,
    get_model,
    list_gpus,
    list_models,
    published_counts,
)
from tokenomix.cost.result import CostEstimate, Prices
from tokenomix.cost.traces import Trace, read_trace

__all__ = [
    "Capacity",
    "CostEstimate",
    "DoesNotFitError",
    "GpuSpec",
    "InFlight",
    "ModelSpec",
    "ParameterCounts",
    "Prices",
    "Trace",
    "UnknownPresetError",
    "capacity",
    "dtype_bytes",
    "estimate",
    "get_gpu",
    "get_model",
    "in_flight",
    "kv_cache_groups",
    "list_gpus",
    "list_models",
    "published_counts",
    "read_trace",
]
