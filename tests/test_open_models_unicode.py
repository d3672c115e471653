"""The Unicode versions behind `tokenizers` 0.23.3, checked code point by code point: its split
regexes (Oniguruma, Unicode 16.0), its normalizers (Unicode 9.0) and its word characters for
single_word added tokens (Rust regex, Unicode 16.0)."""

from __future__ import annotations

import functools
import runpy
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_unicode import probes

import tokenomix
from tokenomix.vocab import hf_unicode
from tokenomix.vocab.hf_unicode_data import NEWER_THAN_UNICODE_9

from conftest import REPO
from open_model_refs import HF_DIR, added_token, edited, hf_batch_ids, hf_ids, hf_reference, ours

FORMS = ("NFC", "NFD", "NFKC", "NFKD")


def test_data_matches_its_generator():
    generator = runpy.run_path(str(REPO / "tools" / "gen_hf_unicode.py"))
    files = generator["generate"]()
    assert {path.name for path in files} == {"hf_unicode_data.py", "normalize_data.inc"}
    for path, text in files.items():
        assert path.read_text() == text, path


@pytest.mark.parametrize("name", ["llama3_1", "qwen2_5", "gpt2"])
@pytest.mark.parametrize("plane", range(4))
def test_every_code_point_splits_as_in_tokenizers(name, plane):
    text = probes(range(plane * 0x10000, (plane + 1) * 0x10000))
    chunks = [text[i : i + 100_000] for i in range(0, len(text), 100_000)]
    path = HF_DIR / f"{name}.tokenizer.json"
    expected = hf_batch_ids(hf_reference(path, split_special_tokens=True), chunks)
    assert ours(path).encode_ordinary_batch(chunks) == expected


@functools.cache
def reference_normalizers():
    from tokenizers import normalizers

    return {form: getattr(normalizers, form)() for form in FORMS}


def normalization_probes(c: str) -> list[str]:
    # Alone, in canonical order against marks of class 220, 230, 1 and 240, composing with a
    # base before it and a mark after it, and after a Hangul leading consonant.
    return [
        c,
        "a\u0316" + c + "\u0301",
        c + "\u0334",
        "\u0345" + c,
        "a" + c,
        c + "\u0301",
        "\u1100" + c,
    ]


def test_normalization_of_every_character_that_normalization_moves():
    import unicodedata2

    reference = reference_normalizers()
    newer = {
        chr(cp)
        for i in range(0, len(NEWER_THAN_UNICODE_9), 2)
        for cp in range(NEWER_THAN_UNICODE_9[i], NEWER_THAN_UNICODE_9[i + 1] + 1)
    }
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    moved = [c for c in chars if unicodedata2.combining(c) or unicodedata2.decomposition(c)]
    for c in sorted(set(moved) | newer | set(chars[::97])):
        for probe in normalization_probes(c):
            for form in FORMS:
                assert hf_unicode.normalize(form, probe) == reference[form].normalize_str(probe)


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(
            "ae\u0301\u0316\u0334\u0345\u1100\u1161\u11a8\uac00\u212b\ufb01\u0f73\u0344\u1e9b"
            "\u0897\u1df6\u07fd\U00016d67\U00016d68\U000113b8\U000113c2\U000105c9\ufdfa\u0958"
            "\U000f0000\u0300\u05b0\u0e38\u3099\u309a"
        ),
        max_size=12,
    )
)
def test_normalization_of_mixed_sequences(text):
    reference = reference_normalizers()
    for form in FORMS:
        expected = reference[form].normalize_str(text)
        assert hf_unicode.normalize(form, text) == expected
        assert hf_unicode.is_normalized(form, text) == (expected == text)


@pytest.mark.parametrize("form", FORMS)
def test_batches_normalize_in_the_engine_as_in_tokenizers(tmp_path, form):
    # Texts that need normalizing and hold no added token are normalized inside the native
    # batch call. "<tool_call>", an added token that is not special, is unmade by composition
    # (">" and U+0338 make U+226F) and made by decomposition (U+226F under NFD and NFKD).
    import unicodedata2

    def edit(document):
        document["normalizer"] = {"type": form}

    path = edited("qwen2_5", tmp_path, edit)
    enc, ref = tokenomix.Encoding.from_file(path), hf_reference(path, split_special_tokens=True)
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    moved = [c for c in chars if unicodedata2.combining(c) or unicodedata2.decomposition(c)]
    texts = ["".join(normalization_probes(c)) + " x" for c in moved]
    texts = ["".join(texts[i : i + 10]) for i in range(0, len(texts), 10)]
    texts += ["<tool_call>\u0338", "e\u0301 <tool_call\u226f", "\ufb01<tool_call>e\u0301"]
    expected = hf_batch_ids(ref, texts)
    assert enc.encode_ordinary_batch(texts) == expected
    assert enc.count_batch(texts).tolist() == [len(ids) for ids in expected]


def test_newer_characters_are_newer_than_python_knows_or_unknown_to_tokenizers():
    # A character of the list that Python normalizes differently from tokenizers.
    c = "\u1df6"  # COMBINING KATO (Unicode 10.0): class 232 for Python, unassigned for 9.0
    assert unicodedata.normalize("NFD", c + "\u0334") != c + "\u0334"
    assert hf_unicode.normalize("NFD", c + "\u0334") == c + "\u0334"


@pytest.fixture(scope="module")
def single_word(tmp_path_factory):
    def edit(document):
        document["added_tokens"].append(added_token("qqq", 0, single_word=True))

    path = edited("gpt2", tmp_path_factory.mktemp("word"), edit)
    return tokenomix.Encoding.from_file(path), hf_reference(path)


@pytest.mark.parametrize("plane", [0, 1, 2, 3, 14])
def test_word_characters_of_every_code_point(single_word, plane):
    enc, ref = single_word
    chars = [
        chr(cp) for cp in range(plane * 0x10000, (plane + 1) * 0x10000) if not 0xD800 <= cp < 0xE000
    ]
    text = " ".join(f"{c}qqq qqq{c}" for c in chars)
    chunks = [text[i : i + 60_000] for i in range(0, len(text), 60_000)]
    assert enc.encode_batch(chunks, allowed_special="all") == hf_batch_ids(ref, chunks)


def test_white_space_for_lstrip_and_rstrip(tmp_path):
    def edit(document):
        document["added_tokens"].append(added_token("qqq", 0, lstrip=True, rstrip=True))

    path = edited("gpt2", tmp_path, edit)
    enc, ref = tokenomix.Encoding.from_file(path), hf_reference(path)
    # White_Space, and near misses that str.isspace() or older Unicode versions count.
    for cp in [*range(0x100), 0x1680, 0x180E, *range(0x2000, 0x2030), 0x205F, 0x3000, 0xFEFF]:
        text = f"a{chr(cp)}qqq{chr(cp)}b"
        assert enc.encode(text) == hf_ids(ref, text), hex(cp)


def test_word_table_is_of_unicode_16():
    assert hf_unicode.is_word_character("\u1c89")  # Unicode 16
    assert not hf_unicode.is_word_character("\U0001e6c0")  # Unicode 17
    assert hf_unicode.is_word_character("_") and not hf_unicode.is_word_character("-")
