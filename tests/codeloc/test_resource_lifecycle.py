"""Resource lifecycles: setup before the steps that use a resource, teardown after, always."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import PrivateAttr

from codeloc import ConfigurableResource, RunFailedError, asset, materialize
from codeloc._config import InitResourceContext


class Recorded(ConfigurableResource):
    """Appends what happens to it to a file: the steps may run in other processes."""

    log: str
    name: str
    fail_setup: bool = False
    _client: str | None = PrivateAttr(default=None)

    def note(self, what: str) -> None:
        with open(self.log, "a") as f:
            f.write(f"{what} {self.name} {os.getpid()}\n")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self.note("setup")
        if self.fail_setup:
            raise ConnectionError("database unreachable")
        self._client = f"client of {context.resource_key} in {context.run_id}"

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.note("teardown")

    def client(self) -> str:
        assert self._client is not None, "used before setup"
        return self._client


def lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


@asset
def first(db: Recorded, cache: Recorded) -> str:
    db.note("asset-first")
    return db.client()


@asset
def second(first: str, db: Recorded) -> str:
    db.note("asset-second")
    return first.upper()


@asset
def broken(db: Recorded) -> None:
    raise ValueError("no")


def resources(log: Path, **overrides: bool) -> dict[str, Recorded]:
    return {
        "db": Recorded(log=str(log), name="db", fail_setup=overrides.get("db", False)),
        "cache": Recorded(log=str(log), name="cache", fail_setup=overrides.get("cache", False)),
    }


def test_in_process_sets_up_once_before_the_assets_and_tears_down_in_reverse(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    result = materialize([first, second], resources=resources(log), run_id="r1")

    assert result.success
    assert [line[:2] for line in lines(log)] == [
        ["setup", "db"],
        ["setup", "cache"],
        ["asset-first", "db"],
        ["asset-second", "db"],
        ["teardown", "cache"],
        ["teardown", "db"],
    ]
    assert {line[2] for line in lines(log)} == {str(os.getpid())}
    # what setup set on a private attribute is what the asset sees
    assert result.asset_value("first") == "client of db in r1"


def test_teardown_runs_after_a_failing_asset(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = materialize([broken], resources=resources(log), raise_on_error=False)

    assert not result.success
    assert [line[:2] for line in lines(log)] == [["setup", "db"], ["teardown", "db"]]


def test_a_failing_setup_fails_the_run_before_any_asset_and_names_the_resource(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    with pytest.raises(RunFailedError, match="resource 'cache' failed to set up") as info:
        materialize([first, second], resources=resources(log, cache=True))

    assert "database unreachable" in str(info.value)
    # no asset ran; the resource set up before the failing one is torn down
    assert [line[:2] for line in lines(log)] == [
        ["setup", "db"],
        ["setup", "cache"],
        ["teardown", "db"],
    ]
    result = materialize(
        [first, second], resources=resources(log, cache=True), raise_on_error=False
    )
    assert not result.success
    assert not result.events_of_type("STEP_START")
    failure = result.events_of_type("RUN_FAILURE")[0]
    assert "resource 'cache' failed to set up" in failure.message


def test_only_the_resources_the_run_uses_are_set_up(tmp_path: Path) -> None:
    log = tmp_path / "log"
    materialize([broken], resources=resources(log, cache=True), raise_on_error=False)

    assert [line[:2] for line in lines(log)] == [["setup", "db"], ["teardown", "db"]]


class Pooled(ConfigurableResource):
    log: str

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["Pooled"]:
        with open(self.log, "a") as f:
            f.write(f"enter {context.resource_key}\n")
        try:
            yield self
        finally:
            with open(self.log, "a") as f:
                f.write(f"exit {context.resource_key}\n")


@asset
def pooled(pool: Pooled) -> None:
    with open(pool.log, "a") as f:
        f.write("asset\n")
    raise ValueError("fails inside the block")


def test_yield_for_execution_is_entered_as_a_context_manager(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = materialize([pooled], resources={"pool": Pooled(log=str(log))}, raise_on_error=False)

    assert not result.success
    assert log.read_text().splitlines() == ["enter pool", "asset", "exit pool"]


def test_multiprocess_sets_up_in_each_step_process(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = materialize(
        [first, second], resources=resources(log), executor="multiprocess", run_id="r2"
    )

    assert result.success
    assert result.asset_value("second") == "CLIENT OF DB IN R2"
    # ``second`` waits for ``first``: each step's process sets up what that step uses
    assert [f"{what} {name}" for what, name, _ in lines(log)] == [
        "setup db",
        "setup cache",
        "asset-first db",
        "teardown cache",
        "teardown db",
        "setup db",
        "asset-second db",
        "teardown db",
    ]
    assert str(os.getpid()) not in {pid for _, _, pid in lines(log)}


def test_multiprocess_setup_failure_fails_the_step_before_it_starts(tmp_path: Path) -> None:
    log = tmp_path / "log"
    result = materialize(
        [first, second],
        resources=resources(log, db=True),
        executor="multiprocess",
        raise_on_error=False,
    )

    assert not result.success
    assert result.outcome.failed == ("first",)
    assert result.outcome.skipped == ("second",)
    [failure] = result.get_step_failure_events()
    assert "resource 'db' failed to set up" in failure.message
    assert [line[:2] for line in lines(log)] == [["setup", "db"]]


class LeakyTeardown(ConfigurableResource):
    log: str

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        raise OSError("socket already closed")


@asset
def leaky(leak: LeakyTeardown) -> int:
    return 1


def test_a_failing_teardown_is_reported_and_does_not_undo_the_run(tmp_path: Path) -> None:
    result = materialize([leaky], resources={"leak": LeakyTeardown(log=str(tmp_path))})

    assert result.success
    assert result.asset_value("leaky") == 1
    [report] = [e for e in result.events_of_type("ENGINE_EVENT") if e.level == "ERROR"]
    assert "resource 'leak' failed to tear down: OSError: socket already closed" in report.message
