"""Every case of ../shared/cases/cases.jsonl for the bundled encodings: inputs that broke
other tokenizers and counters."""

import json

import pytest

import tokenomix

from conftest import SHARED, reference_encoding

CASES = [json.loads(line) for line in (SHARED / "cases" / "cases.jsonl").read_text().splitlines()]
OURS = [c for c in CASES if c["encoding_or_model"] in tokenomix.list_encoding_names()]


def case_input(case) -> str:
    if case.get("input_is_python_expr"):
        return eval(case["input"], {"__builtins__": {}})  # the cases file's documented use
    return case["input"]


def test_cases_cover_every_bundled_encoding_they_name():
    assert {c["encoding_or_model"] for c in OURS} >= {"cl100k_base", "r50k_base"}


@pytest.mark.parametrize("case", OURS, ids=lambda c: c["id"])
def test_case(case):
    text = case_input(case)
    encoding = tokenomix.get_encoding(case["encoding_or_model"])
    ids = encoding.encode(text, disallowed_special=())
    if case.get("expected_ids") is not None:
        assert ids == case["expected_ids"]
    if case.get("expected_count") is not None:
        assert len(ids) == case["expected_count"]
        assert encoding.count(text) == case["expected_count"]
    assert ids == reference_encoding(case["encoding_or_model"]).encode(text, disallowed_special=())
