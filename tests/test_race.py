"""The race's building blocks: the tokenizer.json builder, contestants, timing one call."""

from __future__ import annotations

import base64
import json

import pytest

from tokenomix.race import Contestant, Unavailable, VocabSource, build_contestants
from tokenomix.race.contestants import _import
from tokenomix.race.hf_json import byte_to_unicode, merge_rules, tokenizer_json
from tokenomix.race.timing import time_counts
from tokenomix.vocab.openai import CL100K_PATTERN, ENCODINGS, O200K_PATTERN

from conftest import reference_encoding


def test_byte_to_unicode_maps_every_byte_to_its_own_printable_character():
    table = byte_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert table[ord("A")] == "A"
    assert table[ord(" ")] == "\u0120"  # the "Ġ" that marks a leading space in GPT-2 vocabularies


def test_merge_rules_list_every_split_in_rank_order():
    ranks = {b"a": 0, b"b": 1, b"ab": 2, b"abb": 3, b"bb": 4, b"xyz": 5}
    assert merge_rules(ranks) == [
        (b"a", b"b"),  # ab, rank 2
        (b"a", b"bb"),  # abb, rank 3: halves ranked (0, 4) ...
        (b"ab", b"b"),  # ... before (2, 1)
        (b"b", b"b"),  # bb, rank 4
    ]


def test_tokenizer_json_spells_tokens_with_the_byte_table():
    ranks = {bytes([b]): b for b in range(256)} | {b" a": 256}
    document = json.loads(tokenizer_json(ranks, O200K_PATTERN))
    model = document["model"]
    assert model["vocab"]["\u0120a"] == 256
    assert model["merges"] == [["\u0120", "a"]]
    assert model["ignore_merges"] is True
    assert document["added_tokens"] == []
    assert document["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] == O200K_PATTERN


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_tokenizer_json_counts_as_tiktoken_does(name, shared_dir):
    tokenizers = pytest.importorskip("tokenizers")
    spec = ENCODINGS[name]
    path = shared_dir / "vocab" / "openai" / f"{spec.rank_file.name}.tiktoken"
    source = VocabSource(name, path, spec.pat_str, spec.special_tokens)
    tok = tokenizers.Tokenizer.from_file(str(source.tokenizer_json_path))
    text = (shared_dir / "corpus" / "code" / "python_tiktoken_MIT.py").read_text(encoding="utf-8")
    text += " 1234567 <|endoftext|> \U0001f469\u200d\U0001f4bb\tdone!\n\n   x"
    reference = reference_encoding(name)
    assert len(tok.encode(text, add_special_tokens=False)) == len(reference.encode_ordinary(text))


def test_vocab_source_parses_a_rank_file(tmp_path):
    path = tmp_path / "tiny.tiktoken"
    path.write_bytes(
        b"".join(base64.b64encode(t) + b" %d\n" % r for t, r in [(b"a", 0), (b"b", 1), (b"ab", 2)])
    )
    source = VocabSource("tiny", path, CL100K_PATTERN, {})
    assert source.ranks == {b"a": 0, b"b": 1, b"ab": 2}


def test_a_missing_library_is_unavailable_with_the_package_to_install():
    with pytest.raises(Unavailable, match=r"pip install some-package"):
        _import("tokenomix_no_such_module", "some-package")


def test_build_contestants_reports_unknown_names(shared_dir):
    spec = ENCODINGS["o200k_base"]
    path = shared_dir / "vocab" / "openai" / "o200k_base.tiktoken"
    built, skipped = build_contestants(
        VocabSource("o200k_base", path, spec.pat_str, spec.special_tokens),
        ["tokenomix", "no-such-counter"],
    )
    assert list(built) == ["tokenomix"]
    assert "unknown contestant" in skipped["no-such-counter"]
    assert list(built["tokenomix"].counter("single")(["hello world", ""])) == [2, 0]


def _fake(counter, max_chars=None):
    return Contestant("fake", "fake", {"single": ("fake(texts)", counter)}, max_chars=max_chars)


def test_time_counts_keeps_counts_and_time():
    timing = time_counts(_fake(lambda texts: [len(t) for t in texts]), "single", ["ab", "c"])
    assert timing.counts == [2, 1]
    assert timing.seconds is not None and timing.seconds >= 0
    assert timing.problem is None


def test_time_counts_reports_a_failure_instead_of_raising():
    def fails(texts):
        raise RuntimeError("stack overflow\nwith a backtrace")

    timing = time_counts(_fake(fails), "single", ["x"])
    assert timing.counts is None
    assert timing.problem == "RuntimeError: stack overflow"


def test_time_counts_respects_a_length_limit():
    timing = time_counts(_fake(lambda texts: [1] * len(texts), max_chars=3), "single", ["abcd"])
    assert timing.counts is None
    assert timing.problem == "refuses texts over 3 characters"
