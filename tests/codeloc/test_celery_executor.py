"""The celery executor against the machine's RabbitMQ and a real ``tessera celery-worker``.

The broker is the ``celery_broker`` fixture's. Each test module uses a queue of its own, so
that nothing else on the broker takes these steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codeloc import materialize
from codeloc._errors import RunInterrupted, TesseraError
from codeloc.engine import EventType
from codeloc.engine import _celery as celery_module
from codeloc.engine._celery import CelerySettings, celery_app

RESOURCES = Path(__file__).resolve().parents[1] / "resources"

sys.path.insert(0, str(RESOURCES))
import celery_assets  # noqa: E402


@pytest.fixture(scope="module")
def celery_env(
    celery_broker: str,
    delete_celery_queue: Callable[[str], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """The settings a location and its workers share, set in this process too."""
    root = tmp_path_factory.mktemp("celery")
    env = {
        "TESSERA_CELERY_BROKER": celery_broker,
        "TESSERA_CELERY_QUEUE": f"tessera.test.{uuid.uuid4().hex[:12]}",
        "TESSERA_STORAGE": str(root / "storage"),
        "TESSERA_TEST_MARKS": str(root / "marks"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env
    delete_celery_queue(env["TESSERA_CELERY_QUEUE"])


@pytest.fixture(autouse=True)
def _shared_settings(celery_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The package's conftest clears TESSERA_STORAGE for every test; these share the workers'.
    for name, value in celery_env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def worker(celery_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``tessera celery-worker`` of ``celery_assets`` with two processes, until it answers."""
    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    command = [
        str(Path(sys.executable).with_name("tessera")),
        "celery-worker",
        "-m",
        "celery_assets",
        "-d",
        str(RESOURCES),
        "--concurrency",
        "2",
        "--hostname",
        hostname,
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **celery_env}, stdout=out, stderr=subprocess.STDOUT
        )
    app = celery_app(CelerySettings.from_env())
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[hostname], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the celery worker did not start:\n{log.read_text()}")
        yield hostname
    finally:
        celery_module._close(app)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_diamond_runs_on_the_workers(worker: str) -> None:
    result = materialize(celery_assets.defs.assets, selection="*joined", executor="celery")

    assert result.success
    assert result.asset_value("joined") == 6
    assert result.asset_value("source")["pid"] != os.getpid()
    events = result.all_events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = [(e.type, e.step_key) for e in events if e.type.value.startswith("STEP_")]
    for key in ("source", "left", "right", "joined"):
        assert steps.index((EventType.STEP_START, key)) < steps.index((EventType.STEP_SUCCESS, key))
    order = [k for t, k in steps if t is EventType.STEP_SUCCESS]
    assert order[0] == "source"
    assert order[-1] == "joined"

    source_events = [e for e in events if e.step_key == "source"]
    messages = [(e.type, e.level, e.message) for e in source_events]
    printed = (EventType.LOG, "INFO", "printed by source")
    complained = (EventType.LOG, "WARNING", "complained by source")
    assert printed in messages
    assert complained in messages
    # Printed lines come before the step's end, as the other executors report them.
    assert messages.index(printed) < [t for t, _, _ in messages].index(EventType.STEP_SUCCESS)
    assert any(e.type is EventType.LOG and f"of worker {worker}" in e.message for e in events)
    # A library's logger, heard on the worker as in every other executor.
    [library] = [e for e in events if e.type is EventType.LOG and "logger" in e.metadata]
    assert (library.step_key, library.level) == ("right", "WARNING")
    assert library.message == "a library warns in right"
    assert library.metadata["logger"].value == "celery_assets.library"

    [joined] = result.asset_materializations_for_node("joined")
    assert joined.code_version == "3"
    assert joined.metadata["product"].value == 6


def test_an_output_not_given_on_a_worker_skips_its_reader(worker: str) -> None:
    result = materialize(
        celery_assets.defs.assets, selection="optional or after_optional", executor="celery"
    )

    assert result.success
    assert result.get_asset_materialization_events() == []
    [skipped] = result.events_of_type("STEP_SKIPPED")
    assert skipped.step_key == "after_optional"
    assert "'optional' was not materialized" in skipped.message


def test_a_failing_step_skips_what_is_downstream(worker: str) -> None:
    result = materialize(
        celery_assets.defs.assets,
        selection="broken or after_broken",
        executor="celery",
        raise_on_error=False,
    )

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "broken"
    assert "this asset always fails" in (failure.error or "")
    skipped = [e for e in result.all_events if e.type is EventType.ENGINE_EVENT]
    assert [e.step_key for e in skipped] == ["after_broken"]
    assert result.outcome.skipped == ("after_broken",)


def test_a_step_sets_up_its_resources_on_the_worker(
    worker: str, celery_env: dict[str, str]
) -> None:
    result = materialize(
        celery_assets.defs.assets,
        selection="tracked",
        resources=celery_assets.defs.resources,
        executor="celery",
    )

    assert result.success
    log = Path(celery_env["TESSERA_TEST_MARKS"]) / "lifecycle.log"
    marks = [line.split() for line in log.read_text().splitlines()]
    assert [what for what, _ in marks] == ["setup", "asset", "teardown"]
    [pid] = {pid for _, pid in marks}
    assert pid != str(os.getpid())
    assert result.asset_value("tracked") == f"opened in {pid}"


def test_independent_steps_run_side_by_side(worker: str, celery_env: dict[str, str]) -> None:
    result = materialize(celery_assets.defs.assets, selection="slow_a or slow_b", executor="celery")

    assert result.success
    marks = Path(celery_env["TESSERA_TEST_MARKS"])
    (a_start, a_end, a_pid), (b_start, b_end, b_pid) = (
        [float(x) for x in (marks / f"{name}.txt").read_text().split()]
        for name in ("slow_a", "slow_b")
    )
    assert a_pid != b_pid
    assert a_start < b_end
    assert b_start < a_end


def test_without_a_broker_the_run_says_what_to_set(
    celery_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESSERA_CELERY_BROKER")
    with pytest.raises(TesseraError, match="TESSERA_CELERY_BROKER"):
        materialize(celery_assets.defs.assets, selection="source", executor="celery")


def test_a_step_no_worker_takes_is_said_to_wait(
    worker: str, delete_celery_queue: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(celery_module, "WAIT_WARNING_SECONDS", 0.5)
    queue = f"tessera.test.nobody.{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TESSERA_CELERY_QUEUE", queue)
    seen: list[str] = []

    def stop_when_warned(event: Any) -> None:
        if event.type is EventType.ENGINE_EVENT:
            seen.append(event.message)
            raise RunInterrupted("seen the warning")

    with pytest.raises(RunInterrupted):
        materialize(
            celery_assets.defs.assets,
            selection="source",
            executor="celery",
            on_event=stop_when_warned,
        )
    delete_celery_queue(queue)
    [warning] = seen
    assert "waited" in warning
    assert queue in warning


def test_a_worker_whose_code_does_not_import_says_so(celery_env: dict[str, str]) -> None:
    answer = subprocess.run(
        [str(Path(sys.executable).with_name("tessera")), "celery-worker", "-m", "no_such_module"],
        env={**os.environ, **celery_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert "No module named 'no_such_module'" in answer.stderr
    assert "Traceback" not in answer.stderr
