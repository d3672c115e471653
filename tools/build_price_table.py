"""Build the price table shipped in tokenomix/pricing/data/prices.json.

The source is LiteLLM's model_prices_and_context_window.json (MIT licence), which lists
prices in US dollars per token for thousands of models. This keeps the chat models of the
providers whose logs tokenomix reads, converts the prices to dollars per million tokens, and
stamps the table with the date of the snapshot and its sha256, so that a report can say how
old its prices are.

    python tools/build_price_table.py ../shared/pricing/litellm_model_prices_and_context_window.json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from tokenomix.pricing.table import price_from_litellm  # noqa: E402

OUTPUT = ROOT / "python" / "tokenomix" / "pricing" / "data" / "prices.json"

# LiteLLM provider names kept, and the modes that take chat-style requests.
PROVIDERS = {
    "openai",
    "azure",
    "anthropic",
    "gemini",
    "vertex_ai-language-models",
    "mistral",
    "deepseek",
    "xai",
}
MODES = {"chat", "responses"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path, help="model_prices_and_context_window.json")
    parser.add_argument(
        "--date", help="date of the snapshot, YYYY-MM-DD (default: the file's modification date)"
    )
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()

    raw = args.source.read_bytes()
    entries = json.loads(raw)
    date = args.date or datetime.date.fromtimestamp(args.source.stat().st_mtime).isoformat()
    prices = {}
    for model, entry in sorted(entries.items()):
        if not isinstance(entry, dict) or entry.get("litellm_provider") not in PROVIDERS:
            continue
        if entry.get("mode") not in MODES:
            continue
        price = price_from_litellm(model, entry)
        if price is not None:
            prices[model] = price.to_dict()

    document = {
        "date": date,
        "source": (
            "LiteLLM model_prices_and_context_window.json (MIT licence), snapshot of "
            f"{date}, sha256 {hashlib.sha256(raw).hexdigest()[:16]}"
        ),
        "unit": "US dollars per million tokens",
        "prices": prices,
    }
    args.output.write_text(_dump(document), encoding="utf-8")
    print(f"wrote {len(prices)} prices to {args.output}")
    return 0


def _dump(document: dict) -> str:
    # One model a line: small diffs when the snapshot is refreshed.
    head = {key: value for key, value in document.items() if key != "prices"}
    lines = [json.dumps(head)[:-1] + ', "prices": {']
    items = list(document["prices"].items())
    for index, (model, entry) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"  {json.dumps(model)}: {json.dumps(entry)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
