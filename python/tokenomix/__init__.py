"""tokenomix: exact, fast token counts, and what the tokens of LLM traffic cost.

A drop-in for tiktoken's API (`get_encoding`, `encoding_for_model`, `Encoding`) with
`count` and `count_batch` added, backed by a native engine.
"""

from tokenomix.encoding import Encoding
from tokenomix.models import encoding_for_model, encoding_name_for_model
from tokenomix.registry import get_encoding, list_encoding_names

__version__ = "0.1.0"

__all__ = [
    "Encoding",
    "__version__",
    "encoding_for_model",
    "encoding_name_for_model",
    "get_encoding",
    "list_encoding_names",
]
