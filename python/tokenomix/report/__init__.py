"""The tokenomics report of request logs: terminal summary, JSON document, Parquet rows.

>>> from tokenomix.report import run_report
>>> report = run_report(["requests.jsonl"])          # doctest: +SKIP
>>> report.document["input_tokens"]["p95"]           # doctest: +SKIP
"""

from tokenomix.report.document import SCHEMA, build_document
from tokenomix.report.parquet import ParquetSink, request_costs
from tokenomix.report.run import Report, run_report

__all__ = ["SCHEMA", "ParquetSink", "Report", "build_document", "request_costs", "run_report"]
