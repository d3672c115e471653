"""pytest hooks of the speed suites: check the data is there, print the summary at the end.

The settings (environment variables) are described in `bench_setup.py`.
"""

from __future__ import annotations

import pytest
from bench_setup import CORPUS, SHARED, SUMMARY_PATH


def pytest_configure(config: pytest.Config) -> None:
    if not (CORPUS.is_dir() and (SHARED / "vocab" / "openai").is_dir()):
        raise pytest.UsageError(
            f"benchmark data not found at {SHARED}; set TOKENOMIX_SHARED to the folder that "
            "holds corpus/ and vocab/openai/"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Save the summary before pytest-benchmark writes its own reports."""
    from racing import RESULTS, SKIPPED
    from summary import render, save

    if RESULTS:
        save(RESULTS, SKIPPED, SUMMARY_PATH, render(RESULTS, SKIPPED))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    markdown = SUMMARY_PATH.with_suffix(".md")
    from racing import RESULTS

    if not RESULTS or not markdown.exists():
        return
    terminalreporter.section("tokenomix race: ratios against tiktoken, same run")
    terminalreporter.write(markdown.read_text(encoding="utf-8"))
    terminalreporter.write_line(f"summary saved to {SUMMARY_PATH} and {markdown}")
