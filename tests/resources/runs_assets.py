"""Assets for the end-to-end run tests: slow, flaky, chatty, failing, with metadata."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from codeloc import (
    AssetExecutionContext,
    Config,
    Definitions,
    MetadataValue,
    Output,
    RetryPolicy,
    asset,
)

MARKS = Path(os.environ.get("TESSERA_TEST_MARKS", "marks"))


class SlowConfig(Config):
    seconds: float = 5.0


@asset
def slow(context: AssetExecutionContext, config: SlowConfig) -> float:
    """Sleeps; records when it ran, so a test can measure how many ran at once."""
    MARKS.mkdir(parents=True, exist_ok=True)
    started = time.time()
    context.log.info("sleeping %.2fs", config.seconds)
    time.sleep(config.seconds)
    (MARKS / f"{context.run_id}.txt").write_text(f"{started} {time.time()}")
    return config.seconds


_attempts = {"flaky": 0}


@asset(retry_policy=RetryPolicy(max_retries=2, delay=0.05))
def flaky(context: AssetExecutionContext) -> int:
    _attempts["flaky"] += 1
    if _attempts["flaky"] == 1:
        raise ConnectionError("the first try always fails")
    context.log.info("worked on attempt %d", _attempts["flaky"])
    return _attempts["flaky"]


@asset(code_version="7", metadata={"team": "e2e"})
def measured(context: AssetExecutionContext) -> Output:
    print("to stdout from a step")
    print("to stderr from a step", file=sys.stderr)
    print("binary \x00 output")
    rows = [1, 2, 3]
    return Output(rows, metadata={"rows": len(rows), "preview": MetadataValue.md("| 1 | 2 |")})


class ChattyConfig(Config):
    lines: int = 100
    seconds: float = 3.0


@asset
def chatty(context: AssetExecutionContext, config: ChattyConfig) -> int:
    for i in range(config.lines):
        context.log.info("line %d", i)
        time.sleep(config.seconds / config.lines)
    return config.lines


@asset
def broken() -> None:
    raise ValueError("this asset always fails")


defs = Definitions(assets=[slow, flaky, measured, chatty, broken])
