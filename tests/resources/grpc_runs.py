"""Assets for the run tests: quick ones, chatty ones, failing ones, slow ones to cancel."""

import sys
import time
from pathlib import Path

from codeloc import AssetExecutionContext, Config, RunInterrupted, asset


@asset
def hello(context: AssetExecutionContext) -> int:
    print("hello on stdout")
    print("and on stderr", file=sys.stderr)
    context.log.info("hello from context.log")
    return 1


@asset
def double(hello: int) -> int:
    return hello * 2


class ScaleConfig(Config):
    factor: int


@asset
def scaled(config: ScaleConfig, double: int) -> int:
    return double * config.factor


@asset
def broken() -> int:
    raise ValueError("broken on purpose")


class SleepConfig(Config):
    seconds: float = 60.0
    marker: str = ""


@asset
def sleepy(config: SleepConfig) -> None:
    """Sleeps; when interrupted, leaves a marker file to prove the step saw it."""
    try:
        time.sleep(config.seconds)
    except RunInterrupted:
        if config.marker:
            Path(config.marker).write_text("interrupted")
        raise


@asset
def stubborn(config: SleepConfig) -> None:
    """Ignores the interruption: only SIGKILL ends it."""
    deadline = time.monotonic() + config.seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except RunInterrupted:
            if config.marker:
                Path(config.marker).write_text("ignored")


@asset
def chatty(config: SleepConfig) -> None:
    """Prints a line every 50 ms; when interrupted, leaves a marker file."""
    deadline = time.monotonic() + config.seconds
    try:
        while time.monotonic() < deadline:
            print("still working", flush=True)
            time.sleep(0.05)
    except RunInterrupted:
        if config.marker:
            Path(config.marker).write_text("interrupted")
        raise
