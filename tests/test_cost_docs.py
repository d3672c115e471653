"""The examples in the docstrings of tokenomix.cost run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["tokenomix.cost", "tokenomix.cost.estimate", "tokenomix.cost.presets"]
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
