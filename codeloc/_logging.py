"""Logging of every ``tessera`` process: one handler on the root logger, text or JSON lines.

``configure_logging(settings)`` runs first in every ``tessera`` command (and in the fork
server a code location starts): ``TESSERA_LOG_LEVEL`` sets the root level,
``TESSERA_LOG_FORMAT`` the format. Every library that logs through the standard ``logging``
module, uvicorn's access and error lines included, comes out through the same handler::

    2026-05-04 12:00:00,123 INFO codeloc.grpc.server: serving a on 127.0.0.1:4000  location=a
    {"time": "2026-05-04T12:00:00.123Z", "level": "INFO", "logger": "codeloc.grpc.server",
     "message": "serving a on 127.0.0.1:4000", "location": "a"}

A record's fields beyond the standard ones (``extra={...}``, and the fields bound with
``bind_log_fields`` or ``log_fields``) follow the message: ``key=value`` pairs in text, keys
of the object in JSON. A code location binds ``location``, a run worker ``run_id``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from codeloc._settings import LogFormat, Settings

__all__ = [
    "ContextFieldsFilter",
    "JsonFormatter",
    "TextFormatter",
    "bind_log_fields",
    "configure_logging",
    "log_fields",
]

# Fields of every record that say nothing beyond the message, level and logger; the rest of a
# record's attributes are its extra fields. uvicorn's ``color_message`` repeats the message
# with terminal colours.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

# Libraries that say at INFO what only a developer wants to read: alembic's plugin set-up,
# httpx's every request, Celery's every task with its whole result (a step's events). They
# speak at WARNING unless the level asked for is DEBUG.
_QUIET_AT_INFO = ("alembic", "httpx", "celery")

_process_fields: dict[str, object] = {}
_context_fields: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "tessera_log_fields", default=None
)


def bind_log_fields(**fields: object) -> None:
    """Add ``fields`` to every record this process logs from now on, in every thread.

    A forked child inherits them: a run worker forked from the fork server adds its
    ``run_id`` to what it already has.
    """
    _process_fields.update(fields)


@contextlib.contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Add ``fields`` to the records logged inside the block, in this context only."""
    token = _context_fields.set({**(_context_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _context_fields.reset(token)


class ContextFieldsFilter(logging.Filter):
    """Copies the bound fields onto each record, unless the record sets them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_process_fields | (_context_fields.get() or {})).items():
            if name not in record.__dict__:
                setattr(record, name, value)
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, then the record's extra fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = _extra_fields(record)
        if not extra:
            return line
        pairs = " ".join(f"{k}={v}" for k, v in sorted(extra.items()))
        # After the first line, so that a traceback below the message stays in one piece.
        first, newline, rest = line.partition("\n")
        return f"{first}  {pairs}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message``, the extra fields, and ``exc_info`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extra_fields(record).items():
            entry.setdefault(name, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an extra field of any type still gives a line, never an error.
        return json.dumps(entry, default=str, ensure_ascii=False)


def _utc_iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


@functools.cache
def _stderr_copy() -> TextIO | None:
    """A copy of descriptor 2 as it is now, kept open for the life of the process (like
    ``sys.stderr``: a library that reconfigures logging and closes handlers leaves it be)."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, errors="backslashreplace")
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None  # a stand-in stderr without a descriptor (a test's capture)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the standard error this process had when logging was first configured.

    A copy of descriptor 2, not descriptor 2 itself: a run worker points 2 into its run's
    events, and the process's own log lines belong to the operator, not to the run.
    """

    def __init__(self) -> None:
        super().__init__(_stderr_copy() or sys.stderr)


_FORMATTERS: dict[LogFormat, type[logging.Formatter]] = {
    "text": TextFormatter,
    "json": JsonFormatter,
}


def configure_logging(settings: Settings | None = None) -> None:
    """Send every record at ``settings.log_level`` or above to standard error, formatted as
    ``settings.log_format``; ``settings`` defaults to ``Settings.from_env()``.

    Replaces what an earlier call configured; loggers created before stay enabled.
    """
    settings = settings or Settings.from_env()
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"fields": {"()": ContextFieldsFilter}},
        "formatters": {"tessera": {"()": _FORMATTERS[settings.log_format]}},
        "handlers": {
            "stderr": {"()": StderrHandler, "formatter": "tessera", "filters": ["fields"]},
        },
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        # uvicorn's loggers pass their records up to the root handler (uvicorn is told
        # ``log_config=None``): one format for the whole process.
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
    quiet = "NOTSET" if settings.log_level == "DEBUG" else "WARNING"
    for name in _QUIET_AT_INFO:
        config["loggers"][name] = {"level": quiet}
    logging.config.dictConfig(config)
