"""The ids a tokenizer file may give: integers below the engine's limit, one token each.

A vocabulary is stored by id, so an id must be checked before anything is built from it: an
id of 2**40 cannot be stored, and one of 300,000,000 in a file of 50,000 tokens would cost
gigabytes of empty slots.
"""

from __future__ import annotations

from collections.abc import Mapping

from tokenomix import _core

RANK_LIMIT: int = _core.RANK_LIMIT


def check_ids(ids: Mapping[object, object], what: str, where: str) -> None:
    """Check the ids of `ids` (token -> id).

    Args:
        ids: the tokens and their ids.
        what: what the tokens are, for messages ("token", "special token").
        where: the file, or "" when there is none.

    Raises:
        ValueError: naming the first token whose id is not an integer from 0 to
            RANK_LIMIT - 1, or two tokens that share an id.
    """
    prefix = f"{where}: " if where else ""
    values = list(ids.values())
    if all(type(v) is int for v in values) and (
        not values or (min(values) >= 0 and max(values) < RANK_LIMIT)
    ):
        if len(set(values)) == len(values):
            return
        owner: dict[int, object] = {}
        for token, token_id in ids.items():
            other = owner.setdefault(token_id, token)
            if other != token:
                raise ValueError(f"{prefix}{what}s {other!r} and {token!r} share the id {token_id}")
    for token, token_id in ids.items():
        if type(token_id) is not int or not 0 <= token_id < RANK_LIMIT:
            raise ValueError(
                f"{prefix}{what} {token!r} has the id {token_id!r}; ids are integers from 0 "
                f"to {RANK_LIMIT - 1:,}"
            )
