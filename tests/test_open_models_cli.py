"""`tokenomix count --tokenizer PATH`: tokenizer.json, Tekken and rank files, whole files and
per line, exact against the references."""

from __future__ import annotations

import json

import pytest

from tokenomix.cli import main

from conftest import SHARED
from open_model_refs import (
    HF_DIR,
    LLAMA3_RANK_FILE,
    TEKKEN_FILE,
    hf_batch_ids,
    hf_ids,
    hf_reference,
    llama3_tiktoken,
    tekken_ids,
)

PROSE = SHARED / "corpus" / "prose" / "botchan_en.txt"
MULTILINGUAL = sorted((SHARED / "corpus" / "multilingual").glob("*"))[0]


def run_json(capsys, *args):
    assert main(["count", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory):
    """Text with decomposed accents (normalized by Qwen), added tokens and long lines."""
    text = (
        PROSE.read_text()[:200_000]
        + "\ncafe\u0301 <tool_call>{}</tool_call> <|im_start|>user\n"
        + MULTILINGUAL.read_text()[:100_000]
    )
    path = tmp_path_factory.mktemp("cli") / "mixed.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["llama3_1", "qwen2_5", "gpt2"])
def test_tokenizer_json(capsys, mixed_file, name):
    path = HF_DIR / f"{name}.tokenizer.json"
    doc = run_json(capsys, str(mixed_file), "--tokenizer", str(path), "--jobs", "2")
    text = mixed_file.read_bytes().decode()
    expected = hf_ids(hf_reference(path, split_special_tokens=True), text)
    assert doc["total"]["tokens"] == len(expected)
    assert doc["encoding"] == path.name


def test_tokenizer_json_lines(capsys, mixed_file):
    path = HF_DIR / "qwen2_5.tokenizer.json"
    assert main(["count", "--lines", str(mixed_file), "--tokenizer", str(path)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = mixed_file.read_bytes().decode().removesuffix("\n").split("\n")
    expected = hf_batch_ids(hf_reference(path, split_special_tokens=True), lines)
    assert [r["tokens"] for r in records] == [len(ids) for ids in expected]


def test_rank_files(capsys):
    text = PROSE.read_bytes().decode()  # CRLF line ends kept
    doc = run_json(capsys, str(PROSE), "--tokenizer", str(LLAMA3_RANK_FILE))
    assert doc["total"]["tokens"] == len(llama3_tiktoken().encode_ordinary(text))
    doc = run_json(
        capsys,
        str(PROSE),
        "--tokenizer",
        str(LLAMA3_RANK_FILE),
        "--tokenizer-model",
        "meta-llama/Meta-Llama-3-8B",
    )
    assert doc["encoding"] == "meta-llama/Meta-Llama-3-8B"
    doc = run_json(capsys, str(PROSE), "--tokenizer", str(TEKKEN_FILE))
    assert doc["total"]["tokens"] == len(tekken_ids(text))


def test_option_errors(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["count", str(PROSE), "--tokenizer", "x.json", "--encoding", "cl100k_base"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["count", str(PROSE), "--tokenizer-model", "meta-llama/Llama-3.1-8B"]) == 1
    assert "--tokenizer-model goes with --tokenizer" in capsys.readouterr().err
    assert main(["count", str(PROSE), "--tokenizer", str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err
    rank_file = tmp_path / "ranks.tiktoken"
    rank_file.write_bytes(LLAMA3_RANK_FILE.read_bytes()[:-1])
    assert main(["count", str(PROSE), "--tokenizer", str(rank_file)]) == 1
    assert "name the model" in capsys.readouterr().err
    assert (
        main(
            [
                "count",
                str(PROSE),
                "--tokenizer",
                str(rank_file),
                "--tokenizer-model",
                "nobody/unknown",
            ]
        )
        == 1
    )
    assert "unknown open model 'nobody/unknown'" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_report_counts_with_the_tokenizer(capsys, tmp_path, monkeypatch, jobs):
    import tokenomix.logs.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BYTES_PER_WORKER", 1)  # two workers load the file too
    path = HF_DIR / "qwen2_5.tokenizer.json"
    reference = hf_reference(path, split_special_tokens=True)
    prose = PROSE.read_text()
    records = []
    for number in range(40):
        user = f"cafe\u0301 <|im_start|> {prose[number * 300 : number * 300 + 500]}"
        records.append(
            {
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "Answer in the style of the novel."},
                    {"role": "user", "content": user},
                ],
                "response": {"choices": [{"message": {"role": "assistant", "content": user}}]},
            }
        )
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    assert (
        main(["-q", "report", str(log), "--tokenizer", str(path), "--jobs", jobs, "--json", "-"])
        == 0
    )
    document = json.loads(capsys.readouterr().out)

    def tokens(text):
        return len(hf_ids(reference, text))

    inputs = [
        sum(3 + tokens(m["role"]) + tokens(m["content"]) for m in record["messages"]) + 3
        for record in records
    ]
    outputs = [tokens(record["messages"][1]["content"]) for record in records]
    assert document["options"]["tokenizer"] == str(path)
    assert document["input_tokens"]["sum"] == sum(inputs)
    assert document["input_tokens"]["max"] == max(inputs)
    assert document["output_tokens"]["sum"] == sum(outputs)
    user_sum = sum(tokens(record["messages"][1]["content"]) for record in records)
    assert document["components"]["user"]["sum"] == user_sum


def test_report_tokenizer_errors(capsys, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}\n')
    assert main(["report", str(log), "--tokenizer", str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err
    assert main(["report", str(log), "--tokenizer-model", "meta-llama/Llama-3.1-8B"]) == 1
    assert "tokenizer model goes with a tokenizer file" in capsys.readouterr().err
