"""Build the sample request log that `tokenomix demo` reports on.

The log is OpenAI chat JSON Lines, built deterministically from public material in the
shared data folder (../shared beside the repository, or $TOKENOMIX_SHARED), never from
research-only text (the loghub logs are left out):

- a documentation assistant (gpt-4o) whose long system prompt is llama.cpp documentation
  (MIT) and grows over the two weeks (more sections, then a pasted-twice instruction
  block), asked the MT-bench questions (Apache-2.0) that come with GPT-4 reference
  answers, which are the responses; two turns per conversation, with a conversation_id;
- a chat assistant (gpt-4o-mini) replaying FastChat's ShareGPT-format conversations
  (Apache-2.0), every assistant turn one request;
- retrieval (gpt-4o-mini): sections of the Mooncake (Apache-2.0) and Azure public dataset
  (CC-BY-4.0) documentation pasted as <document> blocks into the user message; the answer
  is the section's first paragraph;
- tool use (o3-mini): Mistral's recorded function-calling requests (Apache-2.0), split at
  every assistant message, and a GitHub API agent whose tool results are the recorded
  responses of octokit/fixtures (MIT);
- images (gpt-4o): a few generated blank PNGs sent as data URIs (measured by the tile
  formula), and one image by URL (reported as unmeasured);
- arrival times: the times of day of the Azure LLM inference trace (conversation, CC-BY-4.0)
  spread over 14 days from 2024-05-06;
- two bad lines, as rotated logs have: a line cut short and a message without content.

The responses carry no `usage`: the material has no billed counts, and invented ones would
be misleading.

    python tools/build_sample_log.py            # writes python/tokenomix/report/data/
"""

from __future__ import annotations

import csv
import datetime
import gzip
import json
import os
import pathlib
import random
import re
import struct
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("TOKENOMIX_SHARED", ROOT.parent / "shared"))
OUTPUT = ROOT / "python" / "tokenomix" / "report" / "data" / "sample_requests.jsonl.gz"
START = datetime.datetime(2024, 5, 6, tzinfo=datetime.timezone.utc)
DAYS = 14


def main() -> None:
    rng = random.Random(20240506)
    clock = Clock(rng)
    records = []
    records += docs_assistant(rng, clock)
    records += chat_assistant(rng, clock)
    records += retrieval(rng, clock)
    records += tool_use(rng, clock)
    records += images(clock)
    records.sort(key=lambda record: record["timestamp"])
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    bad = bad_lines(rng, records)
    for position, line in bad:
        lines.insert(position, line)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # mtime=0: the same input builds the same bytes.
    OUTPUT.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(
        f"wrote {len(lines)} lines ({len(data):,} bytes, {OUTPUT.stat().st_size:,} "
        f"compressed) to {OUTPUT}"
    )


class Clock:
    """Arrival times: the Azure trace's times of day, on days spread over two weeks."""

    def __init__(self, rng: random.Random) -> None:
        path = SHARED / "traces" / "azure2023_AzureLLMInferenceTrace_conv.csv"
        with open(path, newline="") as file:
            stamps = [row["TIMESTAMP"] for row in csv.DictReader(file)]
        self._times = [datetime.datetime.fromisoformat(s[:26]).time() for s in stamps[::97]]
        self._rng = rng

    def at(self, day: int, step: int = 0) -> datetime.datetime:
        base = datetime.datetime.combine(
            (START + datetime.timedelta(days=day)).date(),
            self._rng.choice(self._times),
            datetime.timezone.utc,
        )
        return base + datetime.timedelta(minutes=3 * step)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def response(
    model: str,
    text: str | None = None,
    tool_calls: list | None = None,
    moment: datetime.datetime | None = None,
) -> dict:
    message: dict = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "object": "chat.completion",
        "created": int(moment.timestamp()) if moment else None,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
    }


# Documentation assistant ------------------------------------------------------------------


def llama_sections() -> list[str]:
    text = (SHARED / "corpus" / "markdown" / "llama.cpp_docs_MIT.md").read_text()
    parts = re.split(r"<!-- ===== llama\.cpp \(MIT\) :: [^>]*-->\n", text)
    return [part.strip() for part in parts if len(part.strip()) > 2000]


INSTRUCTIONS = (
    "You are the documentation assistant of a team that runs llama.cpp in production. "
    "Answer from the reference documentation below when it applies, say so when it does "
    "not, and keep answers short. Use Markdown for code."
)


def system_prompt(day: int, sections: list[str]) -> str:
    # Prompt inflation: a section more every four days; from day 9 the instructions are
    # pasted twice (an edit gone wrong).
    count = 1 + day // 4
    body = "\n\n".join(section[:3000] for section in sections[:count])
    prompt = f"{INSTRUCTIONS}\n\n# Reference documentation\n\n{body}"
    if day >= 9:
        prompt += f"\n\n{INSTRUCTIONS}"
    return prompt


def docs_assistant(rng: random.Random, clock: Clock) -> list[dict]:
    conversations = SHARED / "traces" / "conversations"
    questions = {
        json.loads(line)["question_id"]: json.loads(line)
        for line in (conversations / "mt_bench_question.jsonl").open()
    }
    answers = [
        json.loads(line)
        for line in (conversations / "mt_bench_reference_answer_gpt-4.jsonl").open()
    ]
    sections = llama_sections()
    records = []
    for number, answer in enumerate(answers):
        question = questions[answer["question_id"]]
        turns = answer["choices"][0]["turns"]
        day = rng.randrange(DAYS)
        messages = [{"role": "system", "content": system_prompt(day, sections)}]
        for turn, (asked, answered) in enumerate(zip(question["turns"], turns, strict=False)):
            moment = clock.at(day, turn)
            messages.append({"role": "user", "content": asked})
            records.append(
                {
                    "timestamp": iso(moment),
                    "conversation_id": f"docs-{number:04d}",
                    "model": "gpt-4o",
                    "messages": list(messages),
                    "response": response("gpt-4o-2024-08-06", answered, moment=moment),
                }
            )
            messages.append({"role": "assistant", "content": answered})
    return records


# Chat assistant ---------------------------------------------------------------------------


def chat_assistant(rng: random.Random, clock: Clock) -> list[dict]:
    path = SHARED / "traces" / "conversations" / "fastchat_dummy_conversation_sharegpt_format.json"
    conversations = json.loads(path.read_text())
    roles = {"human": "user", "gpt": "assistant"}
    records = []
    for conversation in rng.sample(conversations, 60):
        day = rng.randrange(DAYS)
        messages = [{"role": "system", "content": "You are a friendly assistant."}]
        for step, turn in enumerate(conversation["conversations"]):
            role = roles[turn["from"]]
            if role == "assistant":
                moment = clock.at(day, step)
                records.append(
                    {
                        "timestamp": iso(moment),
                        "conversation_id": conversation["id"],
                        "model": "gpt-4o-mini",
                        "messages": list(messages),
                        "response": response(
                            "gpt-4o-mini-2024-07-18", turn["value"], moment=moment
                        ),
                    }
                )
            messages.append({"role": role, "content": turn["value"]})
    return records


# Retrieval --------------------------------------------------------------------------------


def doc_sections() -> list[tuple[str, str, str]]:
    sections = []
    for name, source in (
        ("mooncake_docs_Apache-2.0.md", "Mooncake documentation"),
        ("azure_dataset_docs_CC-BY-4.0.md", "AzurePublicDataset documentation"),
    ):
        text = (SHARED / "corpus" / "markdown" / name).read_text()
        for chunk in re.split(r"\n(?=## )", text):
            heading, _, body = chunk.partition("\n")
            paragraphs = [p.strip() for p in body.split("\n\n") if len(p.strip()) > 200]
            if heading.startswith("## ") and 1200 < len(body) < 4000 and paragraphs:
                sections.append((source, heading[3:].strip(), body.strip()))
    return sections


def retrieval(rng: random.Random, clock: Clock) -> list[dict]:
    sections = doc_sections()
    records = []
    for _ in range(40):
        chosen = rng.sample(sections, 3)
        _source, heading, body = chosen[0]
        documents = "\n\n".join(
            f'<document source="{s}" title="{h}">\n{b}\n</document>' for s, h, b in chosen
        )
        question = f"What does the documentation say about {heading}?"
        answer = next(p.strip() for p in body.split("\n\n") if len(p.strip()) > 200)
        moment = clock.at(rng.randrange(DAYS))
        records.append(
            {
                "timestamp": iso(moment),
                "model": "gpt-4o-mini",
                "messages": [
                    {
                        "role": "system",
                        "content": "Answer using only the documents provided. "
                        "Cite the title of the document you use.",
                    },
                    {"role": "user", "content": f"{documents}\n\n{question}"},
                ],
                "response": response("gpt-4o-mini-2024-07-18", answer, moment=moment),
            }
        )
    return records


# Tool use ---------------------------------------------------------------------------------

GITHUB_TOOL = {
    "type": "function",
    "function": {
        "name": "github_request",
        "description": "Call the GitHub REST API and return the JSON response.",
        "parameters": {
            "type": "object",
            "properties": {
                "method": {
                    "type": "string",
                    "description": "HTTP method.",
                    "enum": ["get", "post", "put", "patch", "delete"],
                },
                "path": {"type": "string", "description": "Path of the endpoint, with query."},
                "body": {"type": "string", "description": "JSON body of the request, if any."},
            },
            "required": ["method", "path"],
        },
    },
}


def tool_use(rng: random.Random, clock: Clock) -> list[dict]:
    return mistral_requests(rng, clock) + github_agent(rng, clock)


def mistral_requests(rng: random.Random, clock: Clock) -> list[dict]:
    records = []
    folder = SHARED / "corpus" / "json" / "mistral_chat_requests"
    for path in sorted(folder.glob("*.json")):
        request = json.loads(path.read_text())
        messages = request["messages"]
        for _ in range(2):
            day = rng.randrange(DAYS)
            for index, message in enumerate(messages):
                if message["role"] != "assistant" or index == 0:
                    continue
                moment = clock.at(day, index)
                record = {
                    "timestamp": iso(moment),
                    "model": "o3-mini",
                    "messages": messages[:index],
                    "response": response(
                        "o3-mini-2025-01-31",
                        message.get("content"),
                        message.get("tool_calls"),
                        moment,
                    ),
                }
                if request.get("tools"):
                    record["tools"] = request["tools"]
                records.append(record)
    return records


def github_agent(rng: random.Random, clock: Clock) -> list[dict]:
    records = []
    folder = SHARED / "corpus" / "json" / "octokit"
    system = (
        "You operate the GitHub organisation octokit-fixture-org through the "
        "github_request tool. Report what each call returned."
    )
    for path in sorted(folder.glob("*.json")):
        exchanges = [e for e in json.loads(path.read_text()) if isinstance(e, dict)][:2]
        day = rng.randrange(DAYS)
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Run the '{path.stem}' task."},
        ]
        for step, exchange in enumerate(exchanges):
            call = {
                "id": f"call_{path.stem[:12]}_{step}",
                "type": "function",
                "function": {
                    "name": "github_request",
                    "arguments": json.dumps(
                        {"method": exchange["method"], "path": exchange["path"]}
                    ),
                },
            }
            moment = clock.at(day, step)
            records.append(
                {
                    "timestamp": iso(moment),
                    "model": "o3-mini",
                    "messages": list(messages),
                    "tools": [GITHUB_TOOL],
                    "response": response("o3-mini-2025-01-31", None, [call], moment),
                }
            )
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "content": json.dumps(exchange.get("response"), indent=2),
                }
            )
        records.append(
            {
                "timestamp": iso(clock.at(day, len(exchanges))),
                "model": "o3-mini",
                "messages": messages,
                "tools": [GITHUB_TOOL],
            }
        )
    return records


# Images -----------------------------------------------------------------------------------


def blank_png(width: int, height: int) -> bytes:
    """A white PNG of this size (generated: the shared material has no images)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def images(clock: Clock) -> list[dict]:
    import base64

    records = []
    for day, (width, height, detail) in enumerate(
        ((1024, 768, "high"), (512, 512, "auto"), (2048, 1536, "high"), (800, 600, "low"))
    ):
        uri = "data:image/png;base64," + base64.b64encode(blank_png(width, height)).decode()
        records.append(
            {
                "timestamp": iso(clock.at(day * 3)),
                "model": "gpt-4o",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "Is there anything on this scan?"},
                            {"type": "image_url", "image_url": {"url": uri, "detail": detail}},
                        ],
                    }
                ],
                "response": response("gpt-4o-2024-08-06", "No: the page is blank."),
            }
        )
    records.append(
        {
            "timestamp": iso(clock.at(12)),
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is shown here?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/scan.png"}},
                    ],
                }
            ],
        }
    )
    return records


def bad_lines(rng: random.Random, records: list[dict]) -> list[tuple[int, str]]:
    cut = json.dumps(records[40])[:300]  # a write interrupted by log rotation
    empty = {
        "timestamp": records[80]["timestamp"],
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a friendly assistant."},
            {"role": "user"},
        ],
    }
    return [(41, cut), (120, json.dumps(empty))]


if __name__ == "__main__":
    main()
