"""A code location as a running thing: its code's load state, its runs, its spools.

This is what the gRPC servicer calls; it knows nothing of gRPC, so tests reach it directly.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from codeloc._errors import TesseraError
from codeloc._runs import EventType, ExecutorName, RunStatus
from codeloc._version import __version__
from codeloc.engine._celery import CelerySettings
from codeloc.grpc import worker
from codeloc.grpc._errors import (
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    LaunchRejected,
    RunAlreadyExists,
    RunNotFound,
)
from codeloc.grpc._forks import ForkServer, describe_exit
from codeloc.grpc._model import CodeSource, LoadError, LoadState, LocationInfo, RunLaunch, RunState
from codeloc.grpc._shipping import HttpSender, SpoolDrainer
from codeloc.grpc._spool import spool_directory

__all__ = ["LoadedSnapshot", "Location"]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_KEEP_ENDED = 1000
"""Ended runs remembered for ``runs()``; the server has the full history."""

_STATUS_OF_EXIT = {
    worker.EXIT_SUCCESS: RunStatus.SUCCESS,
    worker.EXIT_FAILURE: RunStatus.FAILURE,
    worker.EXIT_CANCELED: RunStatus.CANCELED,
}
_STATUS_OF_EVENT = {
    "RUN_SUCCESS": RunStatus.SUCCESS,
    "RUN_FAILURE": RunStatus.FAILURE,
    "RUN_CANCELED": RunStatus.CANCELED,
}


@dataclass(frozen=True, slots=True)
class LoadedSnapshot:
    snapshot_hash: str
    asset_count: int
    chunks: list[bytes]  # serialized chunks, made once by the fork server


@dataclass
class _Run:
    launch: RunLaunch
    status: RunStatus = RunStatus.STARTING
    pid: int = 0
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    error: str | None = None
    kill_timer: threading.Timer | None = None

    def state(self) -> RunState:
        return RunState(
            self.launch.run_id,
            self.status,
            self.pid,
            self.launch.asset_keys,
            self.started_at,
            self.ended_at,
            self.error,
        )


class Location:
    """Loads the code (through the fork server), launches and cancels runs, delivers spools.

    ``on_state`` is called with the new load state whenever it changes (the server maps it
    to health).
    """

    def __init__(
        self,
        source: CodeSource,
        *,
        name: str | None = None,
        spool_dir: Path | None = None,
        spool_backoff: float = 10.0,
        on_state: Callable[[LoadState], None] | None = None,
        executor: ExecutorName = "multiprocess",
    ) -> None:
        self.name = name or source.default_name
        #: How runs execute when their launch does not say.
        self.executor: ExecutorName = executor
        self.server_id = str(uuid.uuid4())
        self.started_at = time.time()
        self._on_state = on_state
        self._forks = ForkServer(source, self)
        self._drainer = SpoolDrainer(
            spool_dir or spool_directory(self.name),
            self._is_live,
            self._warn,
            max_backoff=spool_backoff,
        )
        self._cond = threading.Condition()
        self._state: LoadState = "loading"
        self._load_error: LoadError | None = None
        self._snapshot: LoadedSnapshot | None = None
        self._runs: dict[str, _Run] = {}
        self._accepting = True

    def start(self) -> None:
        self._drainer.start()
        self._forks.start()

    def close(self) -> None:
        with self._cond:
            self._accepting = False
            timers = [r.kill_timer for r in self._runs.values() if r.kill_timer]
        for timer in timers:
            timer.cancel()
        self._forks.close()
        self._drainer.stop()

    @staticmethod
    def _warn(message: str) -> None:
        print(f"tessera codeloc: {message}", file=sys.stderr, flush=True)

    # -- the code -------------------------------------------------------------------------------

    def code_loaded(self, snapshot_hash: str, asset_count: int, chunks: list[bytes]) -> None:
        with self._cond:
            self._snapshot = LoadedSnapshot(snapshot_hash, asset_count, chunks)
            self._state = "loaded"
            self._cond.notify_all()
        if self._on_state is not None:
            self._on_state("loaded")

    def code_failed(self, error: LoadError) -> None:
        with self._cond:
            self._state = "failed"
            self._load_error = error
            self._snapshot = None
            self._cond.notify_all()
            orphaned = [r for r in self._runs.values() if r.pid and not r.status.is_terminal]
        self._warn(f"{error.type}: {error.message}")
        if self._on_state is not None:
            self._on_state("failed")
        for run in orphaned:  # the fork server died under its runs
            self._end_orphan(run, error.message)

    def _end_orphan(self, run: _Run, why: str) -> None:
        """End a run whose fork server is gone: nobody will reap its worker or report it.

        The worker died with the fork server (``codeloc._lifeline``); what its steps started
        is still in its group, and goes. The group's id cannot have been reused while a
        process of it is left, so this reaches nothing else.
        """
        with contextlib.suppress(OSError):
            os.killpg(run.pid, signal.SIGKILL)
        self._end_run(run, -signal.SIGKILL, f"run worker ended with its fork server: {why}")

    def info(self) -> LocationInfo:
        with self._cond:
            snap = self._snapshot
            return LocationInfo(
                name=self.name,
                server_id=self.server_id,
                sdk_version=__version__,
                state=self._state,
                snapshot_hash=snap.snapshot_hash if snap else "",
                asset_count=snap.asset_count if snap else 0,
                load_error=self._load_error,
                pid=os.getpid(),
                started_at=self.started_at,
            )

    def snapshot(self, timeout: float) -> LoadedSnapshot:
        """The snapshot, once loaded (waiting up to ``timeout`` for the code to load)."""
        with self._cond:
            self._cond.wait_for(lambda: self._state != "loading", timeout)
            return self._loaded()

    def _loaded(self) -> LoadedSnapshot:
        if self._state == "loading":
            raise CodeLocationNotLoaded(f"location '{self.name}' is still loading its code")
        if self._snapshot is None:
            error = self._load_error
            detail = f": {error.type}: {error.message}" if error else ""
            raise CodeLocationNotLoaded(f"location '{self.name}' failed to load{detail}", error)
        return self._snapshot

    # -- runs -----------------------------------------------------------------------------------

    def launch(self, launch: RunLaunch, timeout: float = 30.0) -> RunState:
        """Fork a worker for ``launch``. Raises ``LaunchRejected`` (or ``ConfigInvalid``)
        before any worker exists when the request cannot run."""
        if not _RUN_ID.fullmatch(launch.run_id):
            raise LaunchRejected(f"run id {launch.run_id!r} must match {_RUN_ID.pattern}")
        if launch.executor is None:
            launch = replace(launch, executor=self.executor)
        if launch.executor == "celery":
            try:
                CelerySettings.from_env()
            except TesseraError as exc:
                raise LaunchRejected(str(exc)) from None
        try:
            HttpSender(launch.destination).close()
        except ValueError as exc:
            raise LaunchRejected(str(exc)) from None
        with self._cond:
            if not self._accepting:
                raise CodeLocationUnavailable(f"location '{self.name}' is shutting down")
            self._loaded()
            if launch.run_id in self._runs:
                raise RunAlreadyExists(f"run {launch.run_id} was launched here already")
            run = self._runs[launch.run_id] = _Run(launch)
        try:
            spool = self._drainer.create(launch.run_id, launch.destination, launch.first_seq)
            pid = self._forks.launch(launch, spool, timeout)
        except BaseException:
            self._drainer.discard(launch.run_id)
            with self._cond:
                del self._runs[launch.run_id]
            raise
        with self._cond:
            run.pid = pid
            if run.status is RunStatus.STARTING:
                run.status = RunStatus.STARTED
            cancel_now = run.status is RunStatus.CANCELING
            state = run.state()
        if cancel_now:  # canceled while it was being forked
            self._signal(launch.run_id)
        return state

    def cancel(self, run_id: str) -> RunState:
        """SIGTERM to the run's worker now, SIGKILL after its grace period."""
        with self._cond:
            run = self._runs.get(run_id)
            if run is None:
                raise RunNotFound(f"no run {run_id} on location '{self.name}'")
            if run.status.is_terminal or run.status is RunStatus.CANCELING:
                return run.state()
            run.status = RunStatus.CANCELING
            started = run.pid != 0
            state = run.state()
        if started:
            self._signal(run_id)
        return state

    def _signal(self, run_id: str) -> None:
        with self._cond:
            run = self._runs[run_id]
            timer = threading.Timer(run.launch.cancel_grace, self._kill, args=(run_id,))
            timer.daemon = True
            run.kill_timer = timer
        self._forks.signal(run.pid, signal.SIGTERM, group=False)
        timer.start()

    def _kill(self, run_id: str) -> None:
        with self._cond:
            run = self._runs.get(run_id)
            if run is None or run.status.is_terminal:
                return
        self._forks.signal(run.pid, signal.SIGKILL, group=True)

    def worker_exited(self, run_id: str, pid: int, code: int) -> None:
        with self._cond:
            run = self._runs.get(run_id)
        if run is None:
            return
        if code < 0:
            reason = f"run worker was {describe_exit(code)}"
        elif code in _STATUS_OF_EXIT:  # yet its final event is missing: user code exited
            reason = f"run worker exited with code {code} before the run ended"
        else:
            reason = f"run worker exited with code {code}"
        self._end_run(run, code, reason)

    def _end_run(self, run: _Run, code: int, reason: str) -> None:
        """The worker of ``run`` has ended (``code``): its spool ends the run if the worker
        did not (with ``reason``)."""
        run_id = run.launch.run_id
        canceled = run.status is RunStatus.CANCELING
        final = EventType.RUN_CANCELED if canceled else EventType.RUN_FAILURE
        ended = self._drainer.end_run(run_id, final, reason)
        error: str | None = None
        if ended is None:  # the worker delivered everything and removed its spool
            otherwise = RunStatus.CANCELED if canceled else RunStatus.FAILURE
            status = _STATUS_OF_EXIT.get(code, otherwise)
        else:
            contents, appended = ended
            status = _STATUS_OF_EVENT[contents.last_type or "RUN_FAILURE"]
            if appended and status is RunStatus.FAILURE:
                error = reason
        with self._cond:
            run.status = status
            run.error = error
            run.ended_at = time.time()
            if run.kill_timer is not None:
                run.kill_timer.cancel()
            self._forget_old_runs()
            self._cond.notify_all()
        self._drainer.wake()

    def _forget_old_runs(self) -> None:
        ended = [r for r in self._runs.values() if r.status.is_terminal]
        for run in sorted(ended, key=lambda r: r.ended_at or 0)[: len(ended) - _KEEP_ENDED]:
            del self._runs[run.launch.run_id]

    def _is_live(self, run_id: str) -> bool:
        with self._cond:
            run = self._runs.get(run_id)
            return run is not None and not run.status.is_terminal

    def runs(self) -> list[RunState]:
        """Runs executing now, then the ones that ended, newest first."""
        with self._cond:
            runs = sorted(self._runs.values(), key=lambda r: -r.started_at)
            return [r.state() for r in runs if not r.status.is_terminal] + [
                r.state() for r in runs if r.status.is_terminal
            ]

    def running_count(self) -> int:
        with self._cond:
            return sum(not r.status.is_terminal for r in self._runs.values())

    # -- shutting down --------------------------------------------------------------------------

    def stop_accepting(self) -> int:
        """Refuse launches from now on; returns how many runs are executing."""
        with self._cond:
            self._accepting = False
        return self.running_count()

    def drain(self, grace: float) -> None:
        """Wait up to ``grace`` s for running work to end; then cancel what is left and wait
        for it to stop (each run's cancel grace, then SIGKILL)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._live_ids(), grace)
            left = self._live_ids()
        if not left:
            return
        self._warn(f"canceling {len(left)} runs still executing after {grace:g}s")
        self.cancel_all()
        with self._cond:
            longest = max(self._runs[r].launch.cancel_grace for r in left)
            self._cond.wait_for(lambda: not self._live_ids(), longest + 5.0)

    def cancel_all(self) -> None:
        with self._cond:
            live = self._live_ids()
        for run_id in live:
            self.cancel(run_id)

    def _live_ids(self) -> list[str]:
        return [k for k, r in self._runs.items() if not r.status.is_terminal]
