"""count_batch and encode_batch: equal to one call per text, on any number of threads,
safe across fork and from several Python threads at once."""

import concurrent.futures
import multiprocessing

import numpy as np
import pytest

import tokenomix
from conftest import SHARED, reference_encoding

TEXTS = (SHARED / "corpus" / "prose" / "botchan_en.txt").read_text().split("\n\n")


@pytest.mark.parametrize("num_threads", [None, 1, 2, 7])
def test_count_batch_equals_counts(num_threads):
    encoding = tokenomix.get_encoding("o200k_base")
    counts = encoding.count_batch(TEXTS, num_threads=num_threads)
    assert counts.dtype == np.int64
    assert counts.tolist() == [encoding.count(t) for t in TEXTS]


def test_count_batch_accepts_arrays_tuples_and_iterables():
    encoding = tokenomix.get_encoding("cl100k_base")
    expected = [encoding.count(t) for t in TEXTS[:50]]
    assert encoding.count_batch(np.array(TEXTS[:50])).tolist() == expected
    assert encoding.count_batch(np.array(TEXTS[:50], dtype=object)).tolist() == expected
    assert encoding.count_batch(tuple(TEXTS[:50])).tolist() == expected
    assert encoding.count_batch(t for t in TEXTS[:50]).tolist() == expected
    assert encoding.count_batch([]).tolist() == []


def test_count_batch_rejects_bad_input():
    encoding = tokenomix.get_encoding("cl100k_base")
    with pytest.raises(TypeError, match="found int"):
        encoding.count_batch(["a", 3])
    with pytest.raises(TypeError, match="single str"):
        encoding.count_batch("abc")
    with pytest.raises(ValueError, match="num_threads"):
        encoding.count_batch(["a"], num_threads=0)


def test_encode_batch_equals_tiktoken():
    ours, ref = tokenomix.get_encoding("cl100k_base"), reference_encoding("cl100k_base")
    texts = [*TEXTS[:100], "a<|endoftext|>b"]
    assert ours.encode_ordinary_batch(texts) == ref.encode_ordinary_batch(texts)
    assert ours.encode_batch(texts, allowed_special="all") == ref.encode_batch(
        texts, allowed_special="all"
    )
    with pytest.raises(ValueError, match="disallowed"):
        ours.encode_batch(texts)


def _count_in_child(queue):
    queue.put(tokenomix.get_encoding("o200k_base").count_batch(TEXTS, num_threads=2).tolist())


def test_thread_pool_survives_fork():
    encoding = tokenomix.get_encoding("o200k_base")
    expected = encoding.count_batch(TEXTS, num_threads=2).tolist()  # the pool now runs
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_count_in_child, args=(queue,))
    child.start()
    assert queue.get(timeout=60) == expected
    child.join(timeout=60)
    assert child.exitcode == 0


def test_concurrent_python_threads():
    encoding = tokenomix.get_encoding("o200k_base")
    expected = encoding.count_batch(TEXTS).tolist()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: encoding.count_batch(TEXTS).tolist(), range(8)))
        singles = list(pool.map(encoding.count, TEXTS))
    assert all(r == expected for r in results)
    assert singles == expected
