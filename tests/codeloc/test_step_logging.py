"""A step's logs: ``context.log`` is a real logger, and other loggers are heard while it runs."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeloc import AssetExecutionContext, asset, materialize
from codeloc._runs import Event, EventType

LIBRARY = logging.getLogger("some_lib")


def logs_of(result: object) -> list[Event]:
    return [e for e in result.all_events if e.type is EventType.LOG]  # type: ignore[attr-defined]


@asset
def upstream_warns() -> int:
    LIBRARY.warning("cache miss for %s", "upstream_warns")
    return 1


@asset
def downstream_warns(upstream_warns: int) -> int:
    LIBRARY.error("downstream saw %d", upstream_warns)
    return upstream_warns + 1


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_library_logger_inside_an_asset_is_a_log_event_of_its_step(executor: str) -> None:
    result = materialize([upstream_warns, downstream_warns], executor=executor)

    assert [(e.step_key, e.level, e.message) for e in logs_of(result)] == [
        ("upstream_warns", "WARNING", "cache miss for upstream_warns"),
        ("downstream_warns", "ERROR", "downstream saw 1"),
    ]
    assert {e.metadata["logger"].value for e in logs_of(result)} == {"some_lib"}
    # Reported while the step runs: after its start, before its end.
    types = [(e.type, e.step_key) for e in result.all_events]
    log_at = types.index((EventType.LOG, "upstream_warns"))
    assert types.index((EventType.STEP_START, "upstream_warns")) < log_at
    assert log_at < types.index((EventType.STEP_SUCCESS, "upstream_warns"))


@pytest.fixture
def library_settings() -> Iterator[logging.Logger]:
    """``LIBRARY``, its level and propagation restored after the test."""
    level, propagate = LIBRARY.level, LIBRARY.propagate
    yield LIBRARY
    LIBRARY.setLevel(level)
    LIBRARY.propagate = propagate


def test_library_records_follow_the_logging_configuration(
    library_settings: logging.Logger,
) -> None:
    @asset
    def chatty_library() -> None:
        LIBRARY.info("an info record")
        LIBRARY.debug("a debug record")
        logging.getLogger("quiet_lib").info("below the default level")

    # By default only WARNING and up get to the root logger: nothing here is captured...
    assert logs_of(materialize([chatty_library])) == []

    # ...until the library's logger is given a lower level, as for any other handler.
    library_settings.setLevel(logging.INFO)
    assert [e.message for e in logs_of(materialize([chatty_library]))] == ["an info record"]

    # A logger that does not propagate keeps its records from the root logger.
    library_settings.propagate = False

    @asset
    def isolated_library() -> None:
        LIBRARY.warning("kept to itself")

    assert logs_of(materialize([isolated_library])) == []


def test_context_log_is_a_logger_with_every_level_and_extra(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[object] = []

    @asset
    def uses_the_logger(context: AssetExecutionContext) -> None:
        seen.append(context.log)
        context.log.debug("debug %d", 1)
        context.log.log(25, "between info and warning")
        context.log.warning("with extra", extra={"rows": 3})

    with caplog.at_level(logging.INFO, logger="tessera.user"):
        result = materialize([uses_the_logger])

    [logger] = seen
    assert isinstance(logger, logging.Logger)
    # Every level is an event, whatever the logging configuration...
    assert [(e.level, e.message) for e in logs_of(result)] == [
        ("DEBUG", "debug 1"),
        ("Level 25", "between info and warning"),
        ("WARNING", "with extra"),
    ]
    assert all(e.step_key == "uses_the_logger" for e in logs_of(result))
    assert all(e.metadata == {} for e in logs_of(result))
    # ...and tessera.user shows what its level lets through, each record once.
    forwarded = [r for r in caplog.records if r.name.startswith("tessera")]
    assert [(r.name, r.getMessage()) for r in forwarded] == [
        ("tessera.user", "[uses_the_logger] between info and warning"),
        ("tessera.user", "[uses_the_logger] with extra"),
    ]
    assert forwarded[1].rows == 3  # type: ignore[attr-defined]


def test_context_log_exception_carries_the_traceback() -> None:
    @asset
    def recovers(context: AssetExecutionContext) -> int:
        try:
            {}["missing"]
        except KeyError:
            context.log.exception("lookup failed for %s", "missing")
        context.log.info("no exception here", exc_info=False)
        return 1

    result = materialize([recovers])

    failed, plain = logs_of(result)
    assert failed.level == "ERROR"
    first, *rest = failed.message.splitlines()
    assert first == "lookup failed for missing"
    assert rest[0] == "Traceback (most recent call last):"
    assert 'in recovers\n    {}["missing"]' in failed.message
    assert rest[-1] == "KeyError: 'missing'"
    assert plain.message == "no exception here"


def test_records_outside_a_step_are_not_captured() -> None:
    step_running = threading.Event()
    may_end = threading.Event()

    @asset
    def waits() -> int:
        LIBRARY.warning("inside the step")
        step_running.set()
        assert may_end.wait(10)
        return 1

    @asset
    def after(waits: int) -> int:
        return waits

    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        # Whatever receives the events logs in the step's thread: not the step's record.
        LIBRARY.warning("the receiver saw %s", event.type.value)

    def other_thread() -> None:
        assert step_running.wait(10)
        LIBRARY.warning("from another thread, while the step runs")
        may_end.set()

    root_handlers = list(logging.getLogger().handlers)
    LIBRARY.warning("before the run")
    helper = threading.Thread(target=other_thread)
    helper.start()
    result = materialize([waits, after], on_event=on_event)
    helper.join(10)
    LIBRARY.warning("after the run")

    assert [(e.step_key, e.message) for e in logs_of(result)] == [("waits", "inside the step")]
    assert logging.getLogger().handlers == root_handlers  # the capture is gone with the steps


def test_steps_in_threads_keep_their_records_apart() -> None:
    both_running = threading.Barrier(2)

    def logging_asset(tag: str):
        @asset(name=f"logs_{tag}")
        def logs_tag() -> str:
            both_running.wait(10)
            for i in range(20):
                LIBRARY.warning("%s %d", tag, i)
            both_running.wait(10)
            return tag

        return logs_tag

    results: dict[str, object] = {}

    def run(tag: str) -> None:
        results[tag] = materialize([logging_asset(tag)])

    threads = [threading.Thread(target=run, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    for tag in ("a", "b"):
        logs = logs_of(results[tag])
        assert [e.message for e in logs] == [f"{tag} {i}" for i in range(20)]
        assert {e.step_key for e in logs} == {f"logs_{tag}"}


def test_without_logging_configured_a_warning_is_still_printed(tmp_path: Path) -> None:
    # With no handler anywhere, Python prints WARNING records on stderr (logging.lastResort);
    # the capture, a handler only while steps run, must not take that away.
    script = textwrap.dedent(
        """
        import logging
        from codeloc import AssetExecutionContext, asset, materialize

        @asset
        def warns(context: AssetExecutionContext):
            logging.getLogger("some_lib").warning("the library warns")
            context.log.warning("the step warns")

        result = materialize([warns])
        print([e.message for e in result.all_events if e.type == "LOG"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )

    assert done.stdout.strip() == "['the library warns', 'the step warns']"
    assert done.stderr.splitlines() == ["the library warns", "[warns] the step warns"]
