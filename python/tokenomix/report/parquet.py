"""One Parquet row per request: where it is in the log, its components, usage and cost."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tokenomix.logs.batch import MISSING, RequestBatch
from tokenomix.logs.components import COMPONENTS, approximation_names
from tokenomix.logs.usage import USAGE_FIELDS
from tokenomix.pricing import PriceTable
from tokenomix.report import savings as savings_of
from tokenomix.report.serving import REQUEST_COLUMNS

ROWS_PER_GROUP = 65_536


class ParquetSink:
    """Writes request batches to a Parquet file, row groups of about ROWS_PER_GROUP rows."""

    def __init__(
        self,
        path: str,
        *,
        files: list[str],
        prices: PriceTable | None,
        savings: savings_of.SavingsOptions | None = None,
    ) -> None:
        import pyarrow.parquet as pq

        self._files = files
        self._prices = prices
        self._savings = savings or savings_of.SavingsOptions()
        self._writer = pq.ParquetWriter(path, schema(), compression="zstd")
        self._pending: list[Any] = []
        self._rows = 0

    def add(self, batch: RequestBatch, estimate: Any = None) -> None:
        """Queue the rows of a batch (and their serving estimate, a CostEstimate, if any);
        write a row group when enough are queued."""
        if len(batch) == 0:
            return
        self._pending.append(table_of(batch, self._files, self._prices, estimate, self._savings))
        self._rows += len(batch)
        if self._rows >= ROWS_PER_GROUP:
            self._flush()

    def close(self) -> None:
        """Write what is queued and close the file."""
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._rows = [], 0


def schema() -> Any:
    """Return the Arrow schema of the request rows."""
    import pyarrow as pa

    fields = [
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("model", pa.string()),
        pa.field("encoding", pa.string()),
        pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
        pa.field("conversation_id", pa.string()),
        pa.field("turn", pa.int32()),
        pa.field("custom_id", pa.string()),
        pa.field("attributed", pa.bool_()),
        pa.field("approximate", pa.bool_()),
        pa.field("approximate_reasons", pa.string()),
    ]
    fields += [pa.field(name, pa.int64()) for name in COMPONENTS]
    fields += [
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("total_tokens", pa.int64()),
        pa.field("image_count", pa.int32()),
        pa.field("unmeasured_images", pa.int32()),
    ]
    fields += [pa.field(f"usage_{name}", pa.int64()) for name in USAGE_FIELDS]
    fields += [pa.field("recount_usd", pa.float64()), pa.field("billed_usd", pa.float64())]
    fields += [pa.field(name, pa.int64()) for name in savings_of.REQUEST_COLUMNS]
    fields += [
        pa.field(name, pa.int64() if name == "kv_cache_bytes" else pa.float64())
        for name in REQUEST_COLUMNS
    ]
    return pa.schema(fields)


def table_of(
    batch: RequestBatch,
    files: list[str],
    prices: PriceTable | None,
    estimate: Any = None,
    savings: savings_of.SavingsOptions | None = None,
) -> Any:
    """Return the Arrow table of a batch's requests (serving columns null without an
    estimate, savings null for rows without text)."""
    import pyarrow as pa

    n = len(batch)
    out = batch.has_output
    attributed = batch.attributed
    turns = batch.turns if batch.turns is not None else batch.user_turns
    timestamps = np.where(np.isnan(batch.timestamps), 0, np.floor(batch.timestamps * 1000))
    columns: dict[str, Any] = {
        "file": pa.array([files[batch.file_index]] * n, pa.string()),
        "line": pa.array(batch.lines, pa.int64()),
        "model": pa.array(batch.models, pa.string()),
        "encoding": pa.array(batch.encodings, pa.string()),
        "timestamp": pa.array(
            timestamps.astype(np.int64),
            pa.timestamp("ms", tz="UTC"),
            mask=np.isnan(batch.timestamps),
        ),
        "conversation_id": pa.array(batch.conversations, pa.string()),
        "turn": pa.array(turns, pa.int32(), mask=turns <= 0),
        "custom_id": pa.array(batch.custom_ids, pa.string()),
        "attributed": pa.array(attributed),
        "approximate": pa.array(batch.flags != 0),
        "approximate_reasons": pa.array(
            [",".join(approximation_names(int(f))) if f else None for f in batch.flags],
            pa.string(),
        ),
    }
    for column, name in enumerate(COMPONENTS):
        missing = ~attributed if name != "output" else ~(attributed & out)
        columns[name] = pa.array(batch.components[:, column], pa.int64(), mask=missing)
    columns["input_tokens"] = pa.array(batch.input_tokens, pa.int64())
    columns["output_tokens"] = pa.array(batch.output_tokens, pa.int64(), mask=~out)
    columns["total_tokens"] = pa.array(
        batch.input_tokens + batch.output_tokens, pa.int64(), mask=~out
    )
    columns["image_count"] = pa.array(batch.images, pa.int32())
    columns["unmeasured_images"] = pa.array(batch.images_unmeasured, pa.int32())
    for column, name in enumerate(USAGE_FIELDS):
        values = batch.usage[:, column]
        columns[f"usage_{name}"] = pa.array(values, pa.int64(), mask=values == MISSING)
    recount, billed = request_costs(batch, prices)
    columns["recount_usd"] = pa.array(recount, pa.float64(), mask=np.isnan(recount))
    columns["billed_usd"] = pa.array(billed, pa.float64(), mask=np.isnan(billed))
    per_request = savings_of.request_savings(batch, savings or savings_of.SavingsOptions())
    for name, values in per_request.items():
        if values is None:
            columns[name] = pa.array([None] * n, pa.int64())
        else:  # null for rows without text (traces of counts)
            columns[name] = pa.array(values, pa.int64(), mask=~batch.attributed)
    for name in REQUEST_COLUMNS:
        kind = pa.int64() if name == "kv_cache_bytes" else pa.float64()
        values = getattr(estimate, name) if estimate is not None else [None] * n
        columns[name] = pa.array(values, kind)
    return pa.table(columns, schema=schema())


def request_costs(batch: RequestBatch, prices: PriceTable | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the recount and billed dollars of each request (NaN where unpriced)."""
    n = len(batch)
    recount = np.full(n, math.nan)
    billed = np.full(n, math.nan)
    if prices is None:
        return recount, billed
    models = np.array(batch.models, dtype=object)
    usage = batch.usage
    has_usage = (usage != MISSING).any(axis=1)
    known = np.where(usage == MISSING, 0, usage)
    for model in set(batch.models):
        price = prices.get(model) if model is not None else None
        if price is None:
            continue
        rows = models == model
        output = np.where(batch.has_output[rows], batch.output_tokens[rows], 0)
        recount[rows] = price.cost_usd(input_tokens=batch.input_tokens[rows], output_tokens=output)
        charged = rows & has_usage
        billed[charged] = price.cost_usd(
            input_tokens=known[charged, 0],
            cached_input_tokens=known[charged, 1],
            cache_write_input_tokens=known[charged, 2],
            output_tokens=known[charged, 3],
            reasoning_tokens=known[charged, 4],
        )
    return recount, billed
