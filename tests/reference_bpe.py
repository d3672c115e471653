"""A slow, plainly correct byte-pair encoder to check the native engine against.

Pieces come from the reference split pattern run by the `regex` module; each piece is merged
by the textbook rule: join the adjacent pair whose bytes form the lowest-ranked token, the
leftmost on ties, until no adjacent pair is a token. `merge_by_heap` does the same in
O(n log n) for the long pieces (a megabyte of spaces) where the obvious loop would take hours.

The `regex` module's Unicode tables are newer than those of tiktoken's engine, so pieces can
differ on characters assigned after Unicode 16.0: use this reference on text without them.
"""

from __future__ import annotations

import heapq

import regex


def merge_simple(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Merge one piece with the obvious quadratic loop."""
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            break
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    return [ranks[p] for p in parts]


def merge_by_heap(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Merge one piece by the same rule, with a heap of (rank, start) and linked parts."""
    n = len(piece)
    nxt = list(range(1, n + 1))  # part starting at s ends at nxt[s]
    prv = list(range(-1, n - 1))
    alive = [True] * n

    def pair_rank(s: int) -> int | None:
        e = nxt[s]
        return ranks.get(piece[s : nxt[e]]) if e < n else None

    heap = [(r, s) for s in range(n - 1) if (r := pair_rank(s)) is not None]
    heapq.heapify(heap)
    while heap:
        rank, s = heapq.heappop(heap)
        if not alive[s] or pair_rank(s) != rank:
            continue  # stale: the pair changed since it was pushed
        gone = nxt[s]
        alive[gone] = False
        nxt[s] = nxt[gone]
        if nxt[s] < n:
            prv[nxt[s]] = s
        for t in (s, prv[s]):
            if t >= 0 and (r := pair_rank(t)) is not None:
                heapq.heappush(heap, (r, t))
    ids = []
    s = 0
    while s < n:
        ids.append(ranks[piece[s : nxt[s]]])
        s = nxt[s]
    return ids


def encode_ordinary(text: str, pat_str: str, ranks: dict[bytes, int]) -> list[int]:
    """Encode text as ordinary text: split by the pattern, merge each piece."""
    ids: list[int] = []
    for piece in regex.findall(pat_str, text):
        data = piece.encode("utf-8")
        if data in ranks:
            ids.append(ranks[data])
        elif len(data) <= 64:
            ids.extend(merge_simple(data, ranks))
        else:
            ids.extend(merge_by_heap(data, ranks))
    return ids
