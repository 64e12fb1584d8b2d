"""Assets for the celery executor's tests: a diamond, a failure, two slow ones side by side,
an optional output."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import PrivateAttr

from codeloc import (
    AssetExecutionContext,
    ConfigurableResource,
    Definitions,
    MetadataValue,
    Output,
    asset,
)

MARKS = Path(os.environ.get("TESSERA_TEST_MARKS", "marks"))


def _celery_worker() -> str | None:
    """The node name of the Celery worker running this step, if one is."""
    from celery import current_task

    return getattr(current_task.request, "hostname", None) if current_task else None


@asset
def source(context: AssetExecutionContext) -> dict[str, int]:
    context.log.info("source in process %d of worker %s", os.getpid(), _celery_worker())
    print("printed by source")
    print("complained by source", file=sys.stderr)
    return {"pid": os.getpid(), "value": 1}


@asset
def left(source: dict[str, int]) -> int:
    return source["value"] + 1


@asset
def right(source: dict[str, int]) -> int:
    logging.getLogger("celery_assets.library").warning("a library warns in right")
    return source["value"] + 2


@asset(code_version="3")
def joined(left: int, right: int) -> Output:
    return Output(left * right, metadata={"product": MetadataValue.int(left * right)})


@asset
def broken() -> int:
    raise ValueError("this asset always fails")


@asset
def after_broken(broken: int) -> int:
    return broken


def _slow(name: str) -> int:
    MARKS.mkdir(parents=True, exist_ok=True)
    started = time.time()
    time.sleep(1.0)
    (MARKS / f"{name}.txt").write_text(f"{started} {time.time()} {os.getpid()}")
    return os.getpid()


@asset
def slow_a() -> int:
    return _slow("slow_a")


@asset
def slow_b() -> int:
    return _slow("slow_b")


@asset
def sleepy(context: AssetExecutionContext) -> int:
    """Long enough to be canceled while it runs; says which process to look for."""
    MARKS.mkdir(parents=True, exist_ok=True)
    (MARKS / "sleepy.pid").write_text(str(os.getpid()))
    context.log.info("sleeping in process %d", os.getpid())
    time.sleep(30)
    return 1


class Tracked(ConfigurableResource):
    """Notes its setup and teardown, with the process they happen in, under ``MARKS``."""

    _opened: str | None = PrivateAttr(default=None)

    def _note(self, what: str) -> None:
        MARKS.mkdir(parents=True, exist_ok=True)
        with (MARKS / "lifecycle.log").open("a") as f:
            f.write(f"{what} {os.getpid()}\n")

    def setup_for_execution(self, context: object) -> None:
        self._note("setup")
        self._opened = f"opened in {os.getpid()}"

    def teardown_after_execution(self, context: object) -> None:
        self._note("teardown")


@asset
def tracked(tracker: Tracked) -> str | None:
    tracker._note("asset")
    return tracker._opened


@asset(output_required=False)
def optional() -> Iterator[Output]:
    yield from ()


@asset
def after_optional(optional: int) -> int:
    return optional


defs = Definitions(
    assets=[
        source,
        left,
        right,
        joined,
        broken,
        after_broken,
        slow_a,
        slow_b,
        sleepy,
        tracked,
        optional,
        after_optional,
    ],
    resources={"tracker": Tracked()},
)
