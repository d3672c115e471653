"""The exceptions tokenomix raises for bad input, under one base class."""

from __future__ import annotations


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
