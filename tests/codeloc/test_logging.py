"""``codeloc._logging``: the text and JSON formats, the fields they carry, where lines go."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeloc._logging import ContextFieldsFilter, JsonFormatter, TextFormatter, log_fields

TESSERA = str(Path(sys.executable).with_name("tessera"))
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A logger of its own whose one handler writes to a string, with the fields filter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFieldsFilter())
    logger = logging.getLogger("tessera.test.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, out, handler
    logger.removeHandler(handler)


def test_text_puts_the_fields_after_the_message(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, out, handler = capture
    handler.setFormatter(TextFormatter())
    with log_fields(run_id="r1", location="loc"):
        logger.info("step %s done", "a", extra={"attempt": 2})
    logger.warning("no fields")
    first, second = out.getvalue().splitlines()
    assert first.endswith(
        " INFO tessera.test.logging: step a done  attempt=2 location=loc run_id=r1"
    )
    assert second.endswith(" WARNING tessera.test.logging: no fields")


def test_text_keeps_a_traceback_below_the_line_with_the_fields(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, out, handler = capture
    handler.setFormatter(TextFormatter())
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("failed", extra={"run_id": "r2"})
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("ERROR tessera.test.logging: failed  run_id=r2")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad value"


def test_json_is_one_object_a_line_with_the_fields(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, out, handler = capture
    handler.setFormatter(JsonFormatter())
    with log_fields(location="loc"), log_fields(run_id="r1"):
        logger.info("two\nlines", extra={"path": Path("/x")})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logger.error("with a traceback", exc_info=True)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert set(first) == {"time", "level", "logger", "message", "location", "run_id", "path"}
    assert first["level"] == "INFO"
    assert first["logger"] == "tessera.test.logging"
    assert first["message"] == "two\nlines"
    assert (first["location"], first["run_id"], first["path"]) == ("loc", "r1", "/x")
    assert first["time"].endswith("Z")
    assert first["time"][10] == "T"
    assert second["level"] == "ERROR"
    assert "run_id" not in second  # the block ended
    assert second["exc_info"].splitlines()[-1] == "ZeroDivisionError: division by zero"


def test_a_field_the_record_sets_itself_wins(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, out, handler = capture
    handler.setFormatter(JsonFormatter())
    with log_fields(run_id="outer"):
        logger.info("m", extra={"run_id": "inner"})
    assert json.loads(out.getvalue())["run_id"] == "inner"


PROCESS = textwrap.dedent(
    """
    import logging, os, sys
    from codeloc._logging import bind_log_fields, configure_logging
    from codeloc._settings import Settings

    configure_logging(Settings.from_env())
    bind_log_fields(location="loc")
    log = logging.getLogger("probe")
    log.debug("not at INFO")
    log.info("before")
    # What a run worker does: descriptor 2 into a pipe (here a file) that becomes events.
    with open(sys.argv[1], "w") as captured:
        os.dup2(captured.fileno(), 2)
    bind_log_fields(run_id="r1")
    log.info("after")
    print("printed to stderr", file=sys.stderr, flush=True)
    """
)


def test_a_process_logs_to_the_stderr_it_started_with(tmp_path: Path) -> None:
    captured = tmp_path / "captured"
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, str(captured)],
        env={"TESSERA_LOG_FORMAT": "json", "PYTHONPATH": str(RESOURCES.parent.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["message"], e.get("run_id"), e["location"]) for e in lines] == [
        ("before", None, "loc"),
        ("after", "r1", "loc"),
    ]
    assert captured.read_text() == "printed to stderr\n"


def test_a_bad_log_level_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [TESSERA, "materialize", "-m", "grpc_runs", "-d", str(RESOURCES), "--select", "hello"],
        env={"PATH": "/usr/bin:/bin", "TESSERA_LOG_LEVEL": "loud"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: invalid settings: TESSERA_LOG_LEVEL must be one of DEBUG, INFO, WARNING, "
        "ERROR, CRITICAL; got 'loud'"
    ]
    assert done.stdout == ""


def test_a_library_that_reconfigures_logging_does_not_break_the_handler() -> None:
    # uvicorn's own default configuration does this: dictConfig closes every handler there
    # is, the root's included, and configures only its own loggers.
    script = textwrap.dedent(
        """
        import logging, logging.config
        from codeloc._logging import configure_logging
        configure_logging()
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        logging.getLogger("after").warning("still here")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(RESOURCES.parent.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    assert line.endswith(" WARNING after: still here")
