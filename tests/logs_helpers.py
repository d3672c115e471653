"""Small helpers of the log tests: write a log, recount it, read one request's figures."""

from __future__ import annotations

import json
from typing import Any

from tokenomix.logs import COMPONENTS, Recount, RecountOptions

from conftest import reference_encoding


def tokens(text: str, encoding: str = "o200k_base") -> int:
    """Count with tiktoken, independently of tokenomix."""
    return len(reference_encoding(encoding).encode_ordinary(text))


def write_lines(path: Any, records: list[Any]) -> str:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n",
        encoding="utf-8",
    )
    return str(path)


def recount(paths: list[str] | str, **options: Any) -> tuple[list[dict[str, Any]], Recount]:
    """Recount logs; return one dict per request and the Recount (for files and skips)."""
    options.setdefault("jobs", 1)
    run = Recount([paths] if isinstance(paths, str) else paths, RecountOptions(**options))
    rows = []
    for batch in run.batches():
        for i in range(len(batch)):
            row = dict(zip(COMPONENTS, batch.components[i].tolist(), strict=True))
            row.update(
                line=int(batch.lines[i]),
                model=batch.models[i],
                encoding=batch.encodings[i],
                input=int(batch.input_tokens[i]),
                output=int(batch.output_tokens[i]) if batch.has_output[i] else None,
                flags=int(batch.flags[i]),
                usage=[None if v == -1 else int(v) for v in batch.usage[i]],
                turn=int(batch.turns[i]),
                timestamp=float(batch.timestamps[i]),
                conversation=batch.conversations[i],
                custom_id=batch.custom_ids[i],
                image_count=int(batch.images[i]),
                images_unmeasured=int(batch.images_unmeasured[i]),
                attributed=bool(batch.attributed[i]),
            )
            rows.append(row)
    return rows, run


def one(path: Any, record: Any, **options: Any) -> dict[str, Any]:
    """Recount a log of one record and return its request."""
    rows, run = recount(write_lines(path, [record]), **options)
    assert run.skips.count == 0, run.skips.first
    assert len(rows) == 1
    return rows[0]
