"""The celery executor: each step of a run is a Celery task, run by workers anywhere.

For work that outgrows one machine. The run worker stays where it is (in the code
location's container) and dispatches: a step whose upstream steps have succeeded is sent to
the location's queue; a Celery worker started with ``tessera celery-worker`` on the same code
imports it once, executes the step through the same engine as every other executor, and
returns the step's events (its logs and printed lines included) with its outcome. The run
worker emits them in order, so they reach the server numbered like any other run's.

Values pass between steps through the IO managers, which must be shared by every machine
(``TESSERA_STORAGE`` as an ``s3://``, ``gs://`` ... URL, or one shared file system).

Settings, read from the environment by the run worker and by ``tessera celery-worker``:

- ``TESSERA_CELERY_BROKER``: the broker URL (``amqp://...``, ``redis://...``); required;
- ``TESSERA_CELERY_BACKEND``: where results travel (default ``rpc://``, through the broker);
- ``TESSERA_CELERY_QUEUE``: the queue of this location's steps (default ``tessera``); give
  each location its own when several share a broker.

Celery is imported only here, and only when a run uses this executor.
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from codeloc._errors import ResourceSetupError, RunInterrupted, TesseraError
from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._runs import Event, EventType
from codeloc._wire import event_from_json, event_to_json
from codeloc.engine._plan import ExecutionPlan, build_plan
from codeloc.engine._resources import resources_set_up, setup_failed
from codeloc.engine._run import RunContext, prepare_run
from codeloc.engine._scheduler import RunOutcome, StepScheduler
from codeloc.engine._step import StepOutcome, execute_step

if TYPE_CHECKING:
    from celery import Celery

    from codeloc._definitions import Definitions

__all__ = ["TASK_NAME", "CelerySettings", "celery_app", "execute_with_celery", "register_step_task"]

TASK_NAME = "tessera.execute_step"
#: How often the run worker looks for finished steps: soon after a step was sent or ended,
#: then less and less often, down to this.
POLL_SECONDS = 0.02
FIRST_POLL_SECONDS = 0.001
#: How often, at most, a running step reports the events it has so far.
PROGRESS_SECONDS = 0.5
#: A step no worker has taken for this long gets a warning in the run's events.
WAIT_WARNING_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CelerySettings:
    broker: str
    backend: str = "rpc://"
    queue: str = "tessera"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CelerySettings:
        from codeloc._settings import Settings

        settings = Settings.from_env(environ)
        if settings.celery_broker is None:
            raise TesseraError(
                "the celery executor needs a broker: set TESSERA_CELERY_BROKER "
                "(e.g. amqp://guest:guest@rabbitmq:5672//) for the code location and its "
                "Celery workers"
            )
        return cls(
            broker=settings.celery_broker,
            backend=settings.celery_backend,
            queue=settings.celery_queue,
        )


def celery_app(settings: CelerySettings) -> Celery:
    from celery import Celery

    app = Celery("tessera", broker=settings.broker, backend=settings.backend)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.queue,
        # A step can take hours: one at a time per worker process, none held in reserve.
        worker_prefetch_multiplier=1,
        # Acknowledged when done: a worker whose machine dies gives its step back to the
        # broker for another. One whose process dies fails the step (it might kill the next).
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


# -- the run worker's side ---------------------------------------------------------------------


def execute_with_celery(
    plan: ExecutionPlan,
    run: RunContext,
    known_versions: Mapping[AssetKey, str] | None,
    settings: CelerySettings | None = None,
) -> RunOutcome:
    """Dispatch the steps of ``plan`` to Celery workers, in dependency order."""
    settings = settings or CelerySettings.from_env()
    app = celery_app(settings)
    steps = StepScheduler(plan, run, known_versions)
    running: dict[str, Any] = {}
    emitted: dict[str, int] = {}  # events of each running step already emitted
    sent_at: dict[str, float] = {}
    warned: set[str] = set()
    asset_keys = [k.path for k in plan.asset_keys]

    def send(key: str) -> None:
        payload = {
            "run_id": run.run_id,
            "step": key,
            "asset_keys": asset_keys,
            "run_config": dict(run.run_config),
            "tags": dict(run.tags),
            "versions": [[k.path, v] for k, v in steps.versions.items()],
        }
        running[key] = app.send_task(TASK_NAME, args=[payload], queue=settings.queue)
        emitted[key] = 0
        sent_at[key] = time.monotonic()

    def waiting_too_long(key: str, result: Any) -> None:
        waited = time.monotonic() - sent_at[key]
        if key in warned or waited < WAIT_WARNING_SECONDS or result.state != "PENDING":
            return
        warned.add(key)
        run.emit(
            Event(
                EventType.ENGINE_EVENT,
                run.run_id,
                level="WARNING",
                step_key=key,
                message=f"step '{key}' has waited {waited:.0f}s for a Celery worker on queue "
                f"'{settings.queue}': is one running ('tessera celery-worker' with "
                "TESSERA_CELERY_QUEUE set alike)?",
            )
        )

    def progress(key: str, result: Any) -> None:
        """Emit the events a running step reported since the last look, if they follow on."""
        if result.state != "PROGRESS" or not isinstance(result.info, dict):
            return
        start, reported = int(result.info.get("start", 0)), result.info.get("events") or []
        done_before = emitted[key]
        if start <= done_before < start + len(reported):
            for data in reported[done_before - start :]:
                run.emit(event_from_json(data, run.run_id))
            emitted[key] = start + len(reported)

    stop = _StopSignals()
    delay = FIRST_POLL_SECONDS
    try:
        for step in steps.ready():
            send(step.key)
        while running:
            stop.check()
            finished = [k for k, result in running.items() if result.ready()]
            if not finished:
                for key, result in list(running.items()):
                    progress(key, result)
                    waiting_too_long(key, result)
                time.sleep(delay)
                delay = min(delay * 2, POLL_SECONDS)
                continue
            delay = FIRST_POLL_SECONDS
            for key in finished:
                steps.finish(key, _outcome(run, key, running.pop(key), emitted.pop(key)))
                for step in steps.ready():
                    send(step.key)
    except RunInterrupted:
        # The cancel may have landed in the middle of talking to the broker: revoke over a
        # connection of its own.
        _revoke(settings, [result.id for result in running.values()])
        raise
    finally:
        stop.restore()
        _close(app)
    return steps.outcome()


class _StopSignals:
    """Turns SIGTERM and SIGINT into ``RunInterrupted`` at a safe point of the dispatch loop.

    Raised from a signal handler, the interruption could land inside the broker client, in
    the middle of reading from the broker, and leave it stuck; so while steps are dispatched
    a signal is only noted, and ``check()`` raises it between two looks at the steps.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if previous != signal.SIG_IGN:
                self._previous[signum] = previous
                signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum

    def check(self) -> None:
        if self.signum is not None:
            raise RunInterrupted(f"the run was canceled (signal {self.signum})")

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _close(app: Celery) -> None:
    """Close ``app``, and remove the queue its results came back on (the ``rpc://`` backend
    leaves it behind, for a day, after each run)."""
    with contextlib.suppress(Exception):
        backend = app.backend
        if type(backend).__name__ == "RPCBackend":
            with app.connection_for_write() as connection:
                connection.default_channel.queue_delete(backend.oid)
    with contextlib.suppress(Exception):
        app.close()


def _revoke(settings: CelerySettings, task_ids: list[str]) -> None:
    """Stop these tasks: those waiting are dropped, those running terminated (SIGTERM)."""
    if not task_ids:
        return
    app = celery_app(settings)
    try:
        with contextlib.suppress(Exception):  # a cancel goes on whatever the broker says
            app.control.revoke(task_ids, terminate=True, signal="SIGTERM")
    finally:
        _close(app)


def _outcome(run: RunContext, key: str, result: Any, emitted: int) -> StepOutcome:
    """Emit what the step's task reported (but the first ``emitted`` events, emitted as it
    ran); its outcome, or a failure saying why there is none."""
    try:
        answer = result.get(propagate=True, disable_sync_subtasks=False)
    except Exception as exc:  # the worker died, the task was lost or refused
        error = f"{type(exc).__name__}: {exc}"
        run.emit(
            Event(
                EventType.STEP_FAILURE,
                run.run_id,
                level="ERROR",
                step_key=key,
                message=f"step '{key}' did not finish on its Celery worker: {error}",
                error=error,
            )
        )
        return StepOutcome(False, {}, error)
    for data in answer["events"][emitted:]:
        run.emit(event_from_json(data, run.run_id))
    return StepOutcome(
        bool(answer["success"]),
        {AssetKey(path): version for path, version in answer["data_versions"]},
        answer.get("error"),
        tuple(AssetKey(path) for path in answer.get("not_materialized", ())),
    )


# -- the Celery worker's side ------------------------------------------------------------------


def register_step_task(app: Celery, defs: Definitions) -> Callable[..., Any]:
    """The task that executes one step of a run of ``defs``, in this worker."""
    plans: dict[tuple[tuple[str, ...], ...], ExecutionPlan] = {}

    def execute_step_task(task: Any, payload: dict[str, Any]) -> dict[str, Any]:
        selection = tuple(tuple(path) for path in payload["asset_keys"])
        plan = plans.get(selection)
        if plan is None:
            plan = plans[selection] = build_plan(defs.graph, [AssetKey(p) for p in selection])
        step = plan.step_by_key[payload["step"]]
        events: list[Event] = []
        output = _Output(payload["run_id"], step.key, events.append)
        progress = _Progress(task, events)

        def collect(event: Event) -> None:
            if event.type in _AFTER_OUTPUT:
                output.flush()
            events.append(event)
            progress.note()

        run, _ = prepare_run(
            plan,
            defs.graph,
            payload["run_config"],
            defs.resources,
            payload["run_id"],
            collect,
            payload["tags"],
            ephemeral=False,
        )
        versions = {AssetKey(path): version for path, version in payload["versions"]}
        try:
            with output, ExitStack() as stack:
                try:
                    live = stack.enter_context(resources_set_up(run, [step]))
                except ResourceSetupError as exc:
                    outcome = setup_failed(run, step, exc)
                else:
                    outcome = execute_step(live, step, versions)
        finally:
            progress.close()
        output.flush(final=True)
        return {
            "success": outcome.success,
            "error": outcome.error,
            "data_versions": [[k.path, v] for k, v in outcome.data_versions.items()],
            "not_materialized": [k.path for k in outcome.not_materialized],
            "events": [event_to_json(e) for e in events],
        }

    task: Callable[..., Any] = app.task(name=TASK_NAME, bind=True)(execute_step_task)
    return task


class _Progress:
    """Reports a running step's new events to the run worker, PROGRESS_SECONDS after the
    first of them, from a timer thread: a step that logs and then computes for an hour is
    seen doing so. An update says where its events start; one the run worker missed (it
    keeps only the latest) leaves the rest to the task's result, which has every event."""

    def __init__(self, task: Any, events: list[Event]) -> None:
        # The request is the main thread's; the timer thread names it to the backend.
        self._request = task.request
        self._task_id = task.request.id
        self._backend = task.backend
        self._events = events
        self._sent = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def note(self) -> None:
        with self._lock:
            if self._timer is None and not self._closed:
                self._timer = threading.Timer(PROGRESS_SECONDS, self._publish)
                self._timer.daemon = True
                self._timer.start()

    def _publish(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed:
                return
            start = self._sent
            batch = self._events[start:]
            if not batch:
                return
            meta = {"start": start, "events": [event_to_json(e) for e in batch]}
            with contextlib.suppress(Exception):  # progress is a courtesy, never a failure
                self._backend.store_result(self._task_id, meta, "PROGRESS", request=self._request)
            self._sent = start + len(batch)

    def close(self) -> None:
        """No update after this: the task's result must be the last word."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


# Lines printed before one of these events are reported before it, as a worker that captures
# its own output does.
_AFTER_OUTPUT = frozenset(
    {
        EventType.STEP_SUCCESS,
        EventType.STEP_FAILURE,
        EventType.STEP_UP_FOR_RETRY,
        EventType.ASSET_MATERIALIZATION,
    }
)


class _Output(contextlib.AbstractContextManager["_Output"]):
    """What the step prints, as ``LOG`` events of the step, line by line."""

    def __init__(self, run_id: str, step_key: str, emit: Callable[[Event], None]) -> None:
        self._run_id = run_id
        self._step_key = step_key
        self._emit = emit
        self._streams = {"stdout": io.StringIO(), "stderr": io.StringIO()}
        self._redirects = contextlib.ExitStack()

    def __enter__(self) -> _Output:
        self._redirects.enter_context(contextlib.redirect_stdout(self._streams["stdout"]))
        self._redirects.enter_context(contextlib.redirect_stderr(self._streams["stderr"]))
        return self

    def __exit__(self, *exc: object) -> None:
        self._redirects.close()

    def flush(self, *, final: bool = False) -> None:
        """Emit the complete lines printed so far (every line when ``final``)."""
        for name, stream in self._streams.items():
            text = stream.getvalue()
            end = len(text) if final else text.rfind("\n") + 1
            if not end:
                continue
            stream.seek(0)
            stream.truncate()
            stream.write(text[end:])
            for line in text[:end].splitlines():
                self._emit(
                    Event(
                        EventType.LOG,
                        self._run_id,
                        level="INFO" if name == "stdout" else "WARNING",
                        step_key=self._step_key,
                        message=line,
                        metadata={"stream": MetadataValue.text(name)},
                    )
                )
