"""The exceptions tokenomix raises for bad input, under one base class."""

from __future__ import annotations

from typing import Any

_JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}


def json_type(value: Any) -> str:
    """Name the JSON type of a parsed value, as messages about bad input say it."""
    return "null" if value is None else _JSON_TYPES.get(type(value), "object")


class TokenomixError(Exception):
    """Base of the errors tokenomix raises about its input."""


class InputError(TokenomixError, ValueError):
    """Input that cannot be read: names the file, the line (or byte offset) and the problem."""

    def __init__(
        self, path: str, problem: str, *, line: int | None = None, offset: int | None = None
    ) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.offset = offset
        where = path
        if line is not None:
            where += f", line {line}"
        if offset is not None:
            where += f" (byte {offset} of the file)" if line is not None else f", byte {offset}"
        super().__init__(f"{where}: {problem}")
