"""The reason a record is skipped."""

from __future__ import annotations


class RecordError(ValueError):
    """A record that cannot be counted: its kind (for tallies) and a message (for people).

    Kinds: "not JSON", "invalid UTF-8", "wrong shape", "message without content",
    "unreadable image", "unsupported", "line too long", "truncated file",
    "unmatched batch output", "duplicate custom_id", "bad trace row".
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def json_kind(value: object) -> str:
    """Name a parsed JSON value's kind as JSON does, with its article.

    >>> json_kind(3), json_kind([]), json_kind(None)
    ('a number', 'an array', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
