"""A step's logs: what ``context.log`` and other loggers say while it runs, as ``LOG`` events.

Two kinds of records become ``LOG`` events of a step (its level name, its message with the
traceback of ``exc_info`` and the stack of ``stack_info`` appended, the step's key):

- those of ``context.log``, a ``logging.Logger`` of the step: every level from ``DEBUG``
  up, from any thread, whatever the logging configuration. Each then goes on to the
  standard ``tessera.user`` logger as ``[step_key] message`` (its ``extra`` kept), where the
  logging configuration decides whether and where it is shown;
- those of any other logger that reach the root logger from the thread running the step,
  while it runs (loading its inputs and storing its outputs included), with the logger's
  name as ``logger`` metadata. The logging configuration decides what gets there, as it
  would for any handler on the root logger: ``WARNING`` and up by default, more from a
  logger given a lower level, nothing from a logger that does not propagate.

Not captured: records of other threads (the step's own helper threads included, whose
``context.log`` records are), records logged between steps, and records logged by whatever
receives the step's events. Steps running side by side in threads keep their records apart.

The capture is a handler on the root logger, there only while a step runs (or, for a run
whose steps run in this process, while the run does). Everything else behaves as if it were
not there: the other handlers see every record as before, and a record no other handler
takes still goes to ``logging.lastResort``, printed on stderr.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable

from codeloc._metadata import MetadataValue
from codeloc._runs import Event, EventType

__all__ = ["StepLogs", "capture_installed", "capture_logs"]

_USER_LOGGER = logging.getLogger("tessera.user")


class _Quiet(threading.local):
    """Set while this thread reports a step's events: what gets logged meanwhile is not
    the step's (and capturing it would report events from inside reporting one)."""

    active = False


_quiet = _Quiet()


class StepLogs:
    """Where the records of one step go: ``LOG`` events reported through ``emit``.

    ``logger()`` is the step's ``context.log``; the root logger's capture sends here the
    records of the thread running the step. Without ``emit`` (a context built for a direct
    call), the records of ``context.log`` only go on to ``tessera.user``.
    """

    __slots__ = ("_emit", "_logger", "_run_id", "_step_key")

    def __init__(
        self, emit: Callable[[Event], None] | None, run_id: str, step_key: str | None
    ) -> None:
        self._emit = emit
        self._run_id = run_id
        self._step_key = step_key
        self._logger: logging.Logger | None = None

    def logger(self) -> logging.Logger:
        """The ``context.log`` of the step: a logger of its own, made when first asked for.

        Not registered with ``logging.getLogger``: that would keep one logger per step name
        forever, shared by the runs of every thread. It does not propagate: its handler
        hands each record on to ``tessera.user`` itself, where the level decides, so a
        ``DEBUG`` record is always an event but reaches the logging configuration only when
        that asks for it.
        """
        if self._logger is None:
            logger = logging.Logger(f"tessera.step.{self._step_key or '-'}", logging.DEBUG)
            logger.propagate = False
            logger.addHandler(_ContextLogHandler(self))
            self._logger = logger
        return self._logger

    def log(self, record: logging.LogRecord) -> None:
        """Report a record of ``context.log``, then hand it on to ``tessera.user``."""
        message = _message(record)
        self.send(_log_event(record, self._run_id, self._step_key, message))
        if _USER_LOGGER.isEnabledFor(record.levelno):
            forwarded = logging.makeLogRecord(record.__dict__)
            forwarded.name = _USER_LOGGER.name
            forwarded.msg, forwarded.args = "[%s] %s", (self._step_key or "-", message)
            forwarded.exc_info = forwarded.exc_text = forwarded.stack_info = None
            outer, _quiet.active = _quiet.active, True
            try:  # the capture must not take it for a record of a library
                _USER_LOGGER.handle(forwarded)
            finally:
                _quiet.active = outer

    def capture(self, record: logging.LogRecord) -> None:
        """Report a record of another logger, logged while the step runs."""
        logger = {"logger": MetadataValue.text(record.name)}
        self.send(_log_event(record, self._run_id, self._step_key, _message(record), logger))

    def send(self, event: Event) -> None:
        """Report ``event``; what gets logged meanwhile in this thread is not captured."""
        if self._emit is None:
            return
        outer, _quiet.active = _quiet.active, True
        try:
            self._emit(event)
        finally:
            _quiet.active = outer


class _ContextLogHandler(logging.Handler):
    """The handler of ``context.log``: its records go to the step's ``StepLogs``."""

    def __init__(self, logs: StepLogs) -> None:
        super().__init__()
        self._logs = logs

    def handle(self, record: logging.LogRecord) -> bool:
        # No lock: the events' destination orders them, as it does the step's other events.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self._logs.log(record)


class _RootCapture(logging.Handler):
    """On the root logger while steps run: sends a record to the step its thread runs."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[int, StepLogs] = {}  # by the ident of the thread running it

    def handle(self, record: logging.LogRecord) -> bool:
        # No lock: a step's handler is looked up by thread, and steps in other threads must
        # not wait for this one's events to be reported.
        if self.filter(record):
            self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        step = self.steps.get(threading.get_ident())
        if step is not None and not _quiet.active:
            step.capture(record)
        # Logger.callHandlers gives a record no handler took to lastResort: this one, only
        # there for steps, must not keep a record from it.
        last_resort = logging.lastResort
        if (
            last_resort is not None
            and record.levelno >= last_resort.level
            and not self._others_take(record)
        ):
            last_resort.handle(record)

    def _others_take(self, record: logging.LogRecord) -> bool:
        """Whether a handler other than this one saw ``record``, as ``Logger.callHandlers``
        counts them to decide on ``logging.lastResort``."""
        logger = logging.Logger.manager.loggerDict.get(record.name)
        node: logging.Logger | None = logger if isinstance(logger, logging.Logger) else None
        node = node or logging.getLogger()
        while node is not None:
            if any(handler is not self for handler in node.handlers):
                return True
            node = node.parent if node.propagate else None
        return False


_ROOT_CAPTURE = _RootCapture()


class _Installation:
    """Puts ``_ROOT_CAPTURE`` on the root logger while a step runs or a run holds it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holds = 0
        self.installed = False

    def update(self) -> None:
        """Install or remove the capture as needed (with ``lock`` held)."""
        wanted = bool(self.holds or _ROOT_CAPTURE.steps)
        if wanted != self.installed:
            root = logging.getLogger()
            if wanted:
                root.addHandler(_ROOT_CAPTURE)
            else:
                root.removeHandler(_ROOT_CAPTURE)
            self.installed = wanted

    def forget_in_child(self) -> None:
        # A forked process runs none of its parent's steps (though its thread may have the
        # ident of one that did); it captures for the steps it runs itself.
        self.lock = threading.Lock()
        self.holds = 0
        self.installed = False
        _ROOT_CAPTURE.steps.clear()
        root = logging.getLogger()
        if _ROOT_CAPTURE in root.handlers:
            root.handlers.remove(_ROOT_CAPTURE)


_installation = _Installation()
os.register_at_fork(after_in_child=_installation.forget_in_child)


class capture_logs:  # lower case: read as a function, ``with capture_logs(logs):``
    """While inside, what reaches the root logger from this thread goes to ``logs``."""

    __slots__ = ("_ident", "_logs", "_outer")

    def __init__(self, logs: StepLogs) -> None:
        self._logs = logs
        self._ident = 0
        self._outer: StepLogs | None = None

    def __enter__(self) -> None:
        self._ident = ident = threading.get_ident()
        steps = _ROOT_CAPTURE.steps
        with _installation.lock:
            # A step that runs a run of its own (materialize() in it) gets it back after.
            self._outer = steps.get(ident)
            steps[ident] = self._logs
            _installation.update()

    def __exit__(self, *exc: object) -> None:
        steps = _ROOT_CAPTURE.steps
        with _installation.lock:
            if self._outer is None:
                del steps[self._ident]
            else:
                steps[self._ident] = self._outer
            _installation.update()


class capture_installed:  # lower case: read as a function, like ``capture_logs``
    """While inside, the capture stays on the root logger between steps too: a run of
    many steps in this process installs it once, not once a step."""

    __slots__ = ()

    def __enter__(self) -> None:
        with _installation.lock:
            _installation.holds += 1
            _installation.update()

    def __exit__(self, *exc: object) -> None:
        with _installation.lock:
            _installation.holds -= 1
            _installation.update()


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    exc_info = record.exc_info
    if exc_info and exc_info[0] is not None:
        message += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
    if record.stack_info:
        message += "\n" + record.stack_info
    return message


def _log_event(
    record: logging.LogRecord,
    run_id: str,
    step_key: str | None,
    message: str,
    metadata: dict[str, MetadataValue] | None = None,
) -> Event:
    return Event(
        EventType.LOG,
        run_id,
        level=record.levelname,
        step_key=step_key,
        message=message,
        metadata=metadata or {},
    )
