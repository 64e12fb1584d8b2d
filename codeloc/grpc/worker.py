"""A run worker: one run, in a process forked from the warm fork server.

The fork server calls ``prepare`` in its own process, before forking, so that an unknown
asset or an invalid run config is refused before any process exists; the child then calls
``execute``, which never returns: the process ends with the run's outcome as exit code.

Every event gets the next ``seq``, is appended to the run's spool and handed to a
``Shipper``. The run starts with ``RUN_START`` and ends with exactly one of
``RUN_SUCCESS``, ``RUN_FAILURE`` or ``RUN_CANCELED``, always last: the engine's own final
event is held back until the output of the steps has been captured.

Canceling is SIGTERM: the handler forwards it to the step processes of the multiprocess
executor and raises ``RunInterrupted`` in the step running here; no step starts after it,
and the run ends ``RUN_CANCELED`` even if a step swallowed the interruption.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

from codeloc._definitions import Definitions
from codeloc._errors import RunInterrupted
from codeloc._logging import bind_log_fields
from codeloc._metadata import MetadataValue
from codeloc._runs import Event, EventType
from codeloc._wire import event_to_json
from codeloc.engine._executor import run_plan
from codeloc.engine._plan import ExecutionPlan, build_plan
from codeloc.engine._run import RunContext, prepare_run
from codeloc.grpc._capture import OutputCapture
from codeloc.grpc._model import RunLaunch
from codeloc.grpc._shipping import Shipper
from codeloc.grpc._spool import Spool

__all__ = ["EXIT_CANCELED", "EXIT_FAILURE", "EXIT_SUCCESS", "PreparedRun", "execute", "prepare"]

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_CANCELED = 3
"""Exit codes of a worker that ended the run itself, with its final event written."""

FLUSH_TIMEOUT = 30.0
"""How long a finished worker keeps delivering to a slow (but answering) destination."""

_ENGINE_FINAL = (EventType.RUN_SUCCESS, EventType.RUN_FAILURE)
_STEP_ENDS = (EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_UP_FOR_RETRY)
_RUN_ENDS = (EventType.RUN_SUCCESS, EventType.RUN_FAILURE, EventType.RUN_CANCELED)


@dataclass
class PreparedRun:
    launch: RunLaunch
    plan: ExecutionPlan
    run: RunContext
    spool_path: Path


def _not_started(event: Event) -> None:
    raise RuntimeError("a prepared run emits events only in its worker")


def prepare(defs: Definitions, launch: RunLaunch, spool_path: Path) -> PreparedRun:
    """Plan the run and validate its config and resources; raises a ``TesseraError``."""
    plan = build_plan(defs.graph, launch.asset_keys)
    run, _ = prepare_run(
        plan,
        defs.graph,
        launch.run_config,
        defs.resources,
        launch.run_id,
        _not_started,
        launch.tags,
        ephemeral=False,
    )
    return PreparedRun(launch, plan, run, spool_path)


def execute(prepared: PreparedRun) -> NoReturn:
    """Run ``prepared`` in this (freshly forked) process, then end the process."""
    code = EXIT_FAILURE
    bind_log_fields(run_id=prepared.launch.run_id)
    try:
        os.setpgid(0, 0)  # cancel and kill reach the step processes too, through the group
        code = _Worker(prepared).run()
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


class _Worker:
    def __init__(self, prepared: PreparedRun) -> None:
        self.prepared = prepared
        self.launch = prepared.launch
        self.run_id = prepared.launch.run_id
        self.cancel_requested = False
        self._lock = threading.Lock()
        self._seq = prepared.launch.first_seq - 1
        self._main = threading.get_ident()
        self._in_emit = False
        self._interruptible = False
        self._interrupt_pending = False
        self._held_final: Event | None = None
        self._finishing = False
        self._ended = False
        self._running_steps: dict[str, None] = {}
        # The worker's own complaints go to the real stderr, not into the run's events.
        self._diag_fd = os.dup(2)
        self._spool: Spool | None = None
        self._shipper: Shipper | None = None
        self._capture = OutputCapture(self._on_output)

    def warn(self, message: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._diag_fd, f"tessera worker {os.getpid()}: {message}\n".encode())

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_cancel)
        signal.signal(signal.SIGINT, self._on_cancel)
        spool = Spool.open(self.prepared.spool_path, wait=10.0)
        if spool is None:
            raise RuntimeError(f"cannot lock the spool {self.prepared.spool_path}")
        self._spool = spool
        self._shipper = Shipper(
            spool, self.launch.destination, self.warn, on_ended=self._on_ended_on_server
        )
        self._shipper.start()
        self.prepared.run.emit = self.emit

        final = self._execute()
        if self._shipper.ended_on_server is not None:
            message = f"stopped: the server ended the run ({self._shipper.ended_on_server})"
            final = Event(EventType.RUN_CANCELED, self.run_id, level="WARNING", message=message)
        elif self.cancel_requested:
            final = Event(EventType.RUN_CANCELED, self.run_id, level="WARNING", message="canceled")
        self._finishing = True
        self.emit(final)
        delivered = self._shipper.close(FLUSH_TIMEOUT)
        if delivered or self._shipper.ended_on_server is not None:
            # Delivered, or never to be: a run that ended on the server takes no more events.
            spool.remove()
        spool.close()
        if final.type is EventType.RUN_SUCCESS:
            return EXIT_SUCCESS
        return EXIT_CANCELED if final.type is EventType.RUN_CANCELED else EXIT_FAILURE

    def _execute(self) -> Event:
        """Run the plan with output captured; returns the final event, not yet emitted."""
        capture = self._capture
        capture.start()
        try:
            self._interruptible = True
            try:
                run_plan(
                    self.prepared.plan,
                    self.prepared.run,
                    executor=self.launch.executor or "multiprocess",
                    max_concurrent=self.launch.max_concurrent,
                )
            finally:
                self._interruptible = False
        except RunInterrupted as exc:
            return Event(EventType.RUN_CANCELED, self.run_id, level="WARNING", message=str(exc))
        except Exception as exc:
            return Event(
                EventType.RUN_FAILURE,
                self.run_id,
                level="ERROR",
                message=f"the run failed outside of its steps: {type(exc).__name__}: {exc}",
                error="".join(traceback.format_exception(exc)).rstrip(),
            )
        finally:
            capture.stop()
        held = self._held_final
        assert held is not None, "run_plan ends with RUN_SUCCESS or RUN_FAILURE"
        return held

    def emit(self, event: Event) -> None:
        if event.type in _ENGINE_FINAL and not self._finishing:
            self._held_final = event
            return
        main = threading.get_ident() == self._main
        if main and self.cancel_requested and event.type is EventType.STEP_START:
            raise RunInterrupted("the run was canceled before this step started")
        if main:
            self._in_emit = True
        try:
            if main and event.type in _STEP_ENDS:
                self._capture.sync()
            with self._lock:
                if self._ended:
                    return  # a line from a process a step left running: the end stays last
                self._seq += 1
                numbered = event.with_seq(self._seq)
                line = json.dumps(event_to_json(numbered))
                assert self._spool is not None
                assert self._shipper is not None
                self._spool.append(line)
                self._shipper.put(self._seq, line)
                self._track_step(event)
                self._ended = event.type in _RUN_ENDS
        finally:
            if main:
                self._in_emit = False
        if main and self._interrupt_pending and self._interruptible:
            self._interrupt_pending = False
            raise RunInterrupted("the run was canceled")

    def _track_step(self, event: Event) -> None:
        if event.step_key is None:
            return
        if event.type is EventType.STEP_START:
            self._running_steps[event.step_key] = None
        elif event.type in (EventType.STEP_SUCCESS, EventType.STEP_FAILURE):
            self._running_steps.pop(event.step_key, None)

    def _on_output(self, stream: str, line: str) -> None:
        steps = list(self._running_steps)
        self.emit(
            Event(
                EventType.LOG,
                self.run_id,
                level="INFO" if stream == "stdout" else "WARNING",
                # With several steps at once, a line cannot be told apart: no step then.
                step_key=steps[0] if len(steps) == 1 else None,
                message=line,
                metadata={"stream": MetadataValue.text(stream)},
            )
        )

    def _on_ended_on_server(self, reason: str) -> None:
        """The server has ended the run (it failed it) and refuses its events: the run stops
        as a cancel stops it, its steps with it, so that nothing goes on after its end."""
        if not self._finishing:
            os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread: _on_cancel

    def _on_cancel(self, signum: int, frame: FrameType | None) -> None:
        if not self.cancel_requested:
            self.cancel_requested = True
            for child in multiprocessing.active_children():
                if child.pid:
                    with contextlib.suppress(OSError):
                        os.kill(child.pid, signal.SIGTERM)
        if not self._interruptible:
            return
        if self._in_emit:
            # Raising here would leave a seq assigned but not written: emit raises it after.
            self._interrupt_pending = True
            return
        raise RunInterrupted(f"the run was canceled (signal {signum})")
