"""count_batch and encode_batch: equal to one call per text, on any number of threads,
safe across fork and from several Python threads at once."""

import concurrent.futures
import multiprocessing
import re

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


ARROW_TEXTS = ["hello world", None, "héllo <|endoftext|> and a text longer than twelve bytes", ""]


def _expected(encoding, texts):
    return [encoding.count(t or "") for t in texts]


@pytest.mark.parametrize("kind", ["string", "large_string", "string_view"])
def test_count_batch_reads_arrow_arrays(kind):
    import pyarrow as pa

    encoding = tokenomix.get_encoding("o200k_base")
    array = pa.array(ARROW_TEXTS, getattr(pa, kind)())
    assert encoding.count_batch(array).tolist() == _expected(encoding, ARROW_TEXTS)
    assert encoding.count_batch(array.slice(2)).tolist() == _expected(encoding, ARROW_TEXTS[2:])
    chunked = pa.chunked_array([ARROW_TEXTS, ["a b"]], getattr(pa, kind)())
    assert encoding.count_batch(chunked).tolist() == _expected(encoding, [*ARROW_TEXTS, "a b"])


def test_count_batch_reads_dataframe_columns():
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    encoding = tokenomix.get_encoding("cl100k_base")
    expected = _expected(encoding, ARROW_TEXTS)
    assert encoding.count_batch(pl.Series(ARROW_TEXTS)).tolist() == expected
    series = pd.Series(ARROW_TEXTS, dtype="string[pyarrow]")
    assert encoding.count_batch(series).tolist() == expected
    assert encoding.count_batch(pa.array(ARROW_TEXTS).dictionary_encode()).tolist() == expected
    assert encoding.count_batch(pd.Series(ARROW_TEXTS, dtype="category")).tolist() == expected
    assert encoding.count_batch(pl.Series(ARROW_TEXTS, dtype=pl.Categorical)).tolist() == expected


def test_arrow_column_of_another_type_is_refused():
    import pyarrow as pa

    with pytest.raises(TypeError, match=r"type format 'l'.*only string columns"):
        tokenomix.get_encoding("o200k_base").count_batch(pa.array([1, 2]))


def test_encode_batch_reads_arrow_and_checks_special_tokens():
    import pyarrow as pa

    ours, ref = tokenomix.get_encoding("cl100k_base"), reference_encoding("cl100k_base")
    texts = ["a<|endoftext|>b", "plain"]
    assert ours.encode_batch(pa.array(texts), allowed_special="all") == ref.encode_batch(
        texts, allowed_special="all"
    )
    with pytest.raises(
        ValueError, match=re.escape("text 0 contains the special token '<|endoftext|>'")
    ):
        ours.encode_batch(pa.array(texts))
