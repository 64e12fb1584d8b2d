"""The run coordinator: creates runs, starts queued ones within the limits, cancels, and
watches running ones.

The database is the coordination point, not memory: a run is claimed with one conditional
``UPDATE … WHERE status = 'QUEUED'``, and the count-then-claim of a tick runs under a lock
held by the database (an advisory lock on PostgreSQL, the write lock on SQLite), so that
several server processes never start more runs than the limits allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from codeloc._key import AssetKey
from codeloc._runs import EXECUTOR_NAMES, Event, EventType, ExecutorName, RunStatus
from codeloc._settings import DEFAULT_MAX_LAUNCH_BYTES
from codeloc.grpc import convert
from codeloc.grpc._model import EventDestination, RunLaunch
from server.errors import ConfigInvalid, InvalidRequest, InvalidSelection, NotFound
from server.runs.planning import plan_runs, resolve_selection, validate_run_config
from server.storage import queue
from server.storage import runs as run_store
from server.storage.db import Database
from server.storage.events import FIRST_WORKER_SEQ, ingest_events, next_server_seq
from server.storage.keys import unstorable
from server.storage.models import RunRow
from server.workspace.registry import LocationRegistry

__all__ = ["BACKGROUND_CONNECTIONS", "FIRST_WORKER_SEQ", "RunCoordinator", "RunLimits"]

log = logging.getLogger(__name__)

#: RUN_QUEUED is seq 1 and RUN_STARTING seq 2, written by the server before the launch; the
#: worker numbers from ``FIRST_WORKER_SEQ``, the server after the launch in a range of its own
#: (``server.storage.events``).
QUEUED_SEQ, STARTING_SEQ = 1, 2
PRIORITY_TAG = "tessera/priority"
#: Overrides the location's default executor for one run.
EXECUTOR_TAG = "tessera/executor"
#: Threads that send launches and cancels to locations; each may wait on gRPC for seconds.
LAUNCH_THREADS = 8
#: The most database connections the coordinator holds at once: one per launch thread (each
#: holds one only to record a failed launch, never while it waits on gRPC), one for the tick.
BACKGROUND_CONNECTIONS = LAUNCH_THREADS + 1


@dataclass(frozen=True, slots=True)
class RunLimits:
    """At most ``global_max`` active runs (0: no limit), per location, and per tag ``k=v``."""

    global_max: int = 0
    per_location: Mapping[str, int] | None = None
    per_tag: Mapping[str, int] | None = None


class RunCoordinator:
    def __init__(
        self,
        database: Database,
        registry: LocationRegistry,
        *,
        event_url: str,
        limits: RunLimits | None = None,
        starting_timeout: float = 30.0,
        cancel_grace: float = 10.0,
        lost_location_seconds: float = 60.0,
        max_launch_bytes: int = DEFAULT_MAX_LAUNCH_BYTES,
    ) -> None:
        self.database = database
        self.registry = registry
        self.event_url = event_url
        self.limits = limits or RunLimits()
        self.starting_timeout = starting_timeout
        self.cancel_grace = cancel_grace
        self.lost_location_seconds = lost_location_seconds
        self.max_launch_bytes = max_launch_bytes
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self._launcher = ThreadPoolExecutor(LAUNCH_THREADS, thread_name_prefix="launch")
        # A thread of its own: in the loop's default executor (6 threads on 2 cores) a tick
        # would wait behind location polls, and they behind it.
        self._ticker = ThreadPoolExecutor(1, thread_name_prefix="coordinator")
        registry.on_location_restart.append(self._location_restarted)

    # -- requests ----------------------------------------------------------------------------

    def submit(
        self,
        session: Session,
        selection: str | Sequence[str | Sequence[str]],
        run_config: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> list[RunRow]:
        """Create the runs of a launch request (one per location, in dependency order) in
        ``session``; once it is committed, :meth:`wake` starts them without delay.

        Everything is checked first — selection, conflicts, config — so that a refused
        request creates nothing.
        """
        graph = self.registry.graph
        keys = resolve_selection(graph, selection)
        planned = plan_runs(graph, keys)
        validate_run_config(graph, keys, run_config)
        # A key that its run would not read back the same (from a location of an older SDK).
        reason = next(filter(None, map(unstorable, keys)), None)
        if reason is not None:
            raise InvalidSelection(f"cannot launch: {reason}")
        for run in planned:
            self.registry.client(run.location)  # 503 now if a location is down
        priority = _priority(tags)
        _executor(tags)
        for run in planned:
            self._check_launch_size(run.location, run.asset_keys, run_config, tags)
        created: list[RunRow] = []
        run_ids: dict[str, str] = {}
        for run in planned:
            run_id = str(uuid.uuid4())
            run_ids[run.location] = run_id
            row = run_store.create_run(
                session,
                run_id=run_id,
                location=run.location,
                asset_keys=run.asset_keys,
                run_config=run_config,
                tags=tags,
                token=secrets.token_urlsafe(16),
                depends_on=[run_ids[up] for up in run.upstream_locations],
                priority=priority,
            )
            _server_event(session, row, EventType.RUN_QUEUED, "run queued", seq=QUEUED_SEQ)
            created.append(row)
        return created

    def _check_launch_size(
        self,
        location: str,
        asset_keys: Sequence[AssetKey],
        run_config: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> None:
        """Refuse now a run whose launch message its location would refuse later: the run
        would be created, then fail to start on the location's gRPC limit."""
        run_id = str(uuid.UUID(int=0))  # every run id has this length, as every token has
        launch = RunLaunch(
            run_id=run_id,
            asset_keys=tuple(asset_keys),
            destination=EventDestination(
                f"{self.event_url}/api/v1/runs/{run_id}/events", secrets.token_urlsafe(16)
            ),
            run_config=run_config,
            tags=tags,
            executor=_executor(tags),
            first_seq=FIRST_WORKER_SEQ,
        )
        size = convert.to_launch(launch).ByteSize()
        if size > self.max_launch_bytes:
            raise ConfigInvalid(
                f"the launch of a run in location '{location}' would be a message of "
                f"{size:,} bytes, more than the {self.max_launch_bytes:,} a location accepts "
                "(TESSERA_MAX_LAUNCH_BYTES): make the run config smaller",
                field="run_config",
            )

    def cancel(self, run_id: str) -> RunRow:
        with self.database.transaction() as session:
            row = run_store.lock_run(session, run_id)
            if row is None:
                raise NotFound(f"no run '{run_id}'")
            if row.status == RunStatus.QUEUED.value:
                # The event ends the run: it is stored, then the status follows it.
                _server_event(session, row, EventType.RUN_CANCELED, "canceled before it started")
            elif row.status in (RunStatus.STARTING.value, RunStatus.STARTED.value):
                run_store.set_status(
                    session,
                    run_id,
                    RunStatus.CANCELING,
                    only_from=[RunStatus.STARTING.value, RunStatus.STARTED.value],
                )
                location = row.location
                self._launcher.submit(self._send_cancel, location, run_id)
        with self.database.transaction() as session:
            fresh = run_store.get_run(session, run_id)
            assert fresh is not None
            return fresh

    def _send_cancel(self, location: str, run_id: str) -> None:
        try:
            self.registry.client(location).cancel(run_id)
        except Exception as exc:
            log.warning("could not ask %s to cancel run %s: %s", location, run_id, exc)

    # -- the loop ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a tick now rather than at the next half second; safe from any thread."""
        loop = self._loop_ref
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop_ref = asyncio.get_running_loop()
        self._task = self._loop_ref.create_task(self._loop(), name="coordinator")

    async def stop(self) -> None:
        """Finish the tick in progress (it holds database connections), then stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self._launcher.shutdown, wait=True, cancel_futures=True)
        self._ticker.shutdown(wait=False)

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.5)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await asyncio.get_running_loop().run_in_executor(self._ticker, self.tick)
            except Exception:
                # The database lost, say: the next tick tries again; the runs are in it.
                log.exception("coordinator tick failed")

    def tick(self) -> None:
        """One round: settle dependencies, start what the limits allow, watch the rest."""
        self._settle_dependencies()
        for row, token, tags in self._claim():
            self._launcher.submit(self._launch, row, token, tags)
        self._monitor()

    # -- pieces of a tick --------------------------------------------------------------------

    def _settle_dependencies(self) -> None:
        with self.database.transaction() as session:
            waiting = [r for r in queue.queued_runs(session) if r.depends_on]
            ended = queue.unsuccessful(session, {d for r in waiting for d in r.depends_on})
            for row in waiting:
                failed = next((ended[d] for d in row.depends_on if d in ended), None)
                if failed is not None:
                    reason = (
                        f"upstream run {failed.run_id} in location '{failed.location}' ended "
                        f"{failed.status}; this run depends on it and was canceled"
                    )
                    _server_event(
                        session,
                        row,
                        EventType.RUN_CANCELED,
                        reason,
                        level="ERROR",
                        only_from=[RunStatus.QUEUED.value],
                    )

    def _claim(self) -> list[tuple[RunRow, str, dict[str, str]]]:
        """The runs claimed, each with its launch token and its tags (read here, with the
        claim, so that a launch thread needs no connection of its own)."""
        claimed: list[tuple[RunRow, str]] = []
        with self.database.transaction() as session:
            queue.lock_queue(session)
            queued = queue.queued_runs(session, limit=200)
            if not queued:
                return []
            active_total, active_by_location = queue.active_counts(session)
            tag_limits = dict(self.limits.per_tag or {})
            active_by_tag = queue.active_tag_counts(session, tag_limits) if tag_limits else {}
            tags_by_run = (
                run_store.tags_of(session, [r.run_id for r in queued]) if tag_limits else {}
            )
            done = queue.succeeded(session, {d for r in queued for d in r.depends_on})
            for row in queued:
                if any(dep not in done for dep in row.depends_on):
                    continue
                if self.limits.global_max and active_total >= self.limits.global_max:
                    break
                loc_limit = (self.limits.per_location or {}).get(row.location)
                if loc_limit is not None and active_by_location.get(row.location, 0) >= loc_limit:
                    continue
                run_tags = tags_by_run.get(row.run_id, {})
                hit = [f"{k}={v}" for k, v in run_tags.items() if f"{k}={v}" in tag_limits]
                if any(active_by_tag.get(t, 0) >= tag_limits[t] for t in hit):
                    continue
                token = secrets.token_urlsafe(24)
                server_id = self._server_id(row.location)
                if not queue.claim(session, row.run_id, token=token, server_id=server_id):
                    continue
                _server_event(session, row, EventType.RUN_STARTING, "launching", seq=STARTING_SEQ)
                active_total += 1
                active_by_location[row.location] = active_by_location.get(row.location, 0) + 1
                for t in hit:
                    active_by_tag[t] = active_by_tag.get(t, 0) + 1
                claimed.append((row, token))
            if not claimed:
                return []
            all_tags = tags_by_run or run_store.tags_of(session, [r.run_id for r, _ in claimed])
        return [(row, token, all_tags.get(row.run_id, {})) for row, token in claimed]

    def _launch(self, row: RunRow, token: str, tags: dict[str, str]) -> None:
        try:
            client = self.registry.client(row.location)
            client.launch(
                RunLaunch(
                    run_id=row.run_id,
                    asset_keys=tuple(run_store.asset_keys_of(row)),
                    destination=EventDestination(
                        f"{self.event_url}/api/v1/runs/{row.run_id}/events", token
                    ),
                    run_config=row.run_config,
                    tags=tags,
                    executor=_executor(tags),
                    first_seq=FIRST_WORKER_SEQ,
                )
            )
        except Exception as exc:
            reason = f"launch in location '{row.location}' failed: {exc}"
            log.warning("%s", reason)
            self.fail(row.run_id, reason)

    def _server_id(self, location: str) -> str | None:
        try:
            return self.registry.state(location).server_id
        except NotFound:
            return None

    def fail(self, run_id: str, reason: str) -> None:
        """End a run as FAILURE with ``reason``, unless it already ended."""
        with self.database.transaction() as session:
            row = run_store.lock_run(session, run_id)
            if row is not None:
                _server_event(session, row, EventType.RUN_FAILURE, reason, level="ERROR")

    def _monitor(self) -> None:
        now = time.time()
        with self.database.transaction() as session:
            stuck = queue.unchanged_since(session, RunStatus.STARTING, now - self.starting_timeout)
            canceling = queue.unchanged_since(
                session, RunStatus.CANCELING, now - self.cancel_grace * 2
            )
        self._fail_runs_of_lost_locations(now)
        self._fail_each(
            stuck,
            lambda row: (
                f"run stuck in STARTING for more than {self.starting_timeout:.0f}s: the location "
                f"'{row.location}' never started it"
            ),
        )
        for row in canceling:
            try:
                with self.database.transaction() as session:
                    _server_event(
                        session,
                        row,
                        EventType.RUN_CANCELED,
                        "the location did not confirm the cancel in time; marked canceled",
                        only_from=[RunStatus.CANCELING.value],
                    )
            except Exception:
                log.exception("could not mark run %s canceled", row.run_id)

    def _fail_each(self, rows: Iterable[RunRow], reason: Callable[[RunRow], str]) -> None:
        """Fail every run of ``rows``: one that cannot be failed (a database error) is logged
        and does not keep the others from failing."""
        for row in rows:
            try:
                self.fail(row.run_id, reason(row))
            except Exception:
                log.exception("could not fail run %s", row.run_id)

    def made_with(self, run: RunRow, keys: Collection[AssetKey]) -> set[AssetKey]:
        """Those of ``keys`` that ``run`` materializes although it was not launched for them:
        other keys of a step it runs (a multi-asset that cannot be subset materializes all of
        its keys together), as the snapshot of the run's location says."""
        graph = self.registry.graph

        def step_of(key: AssetKey) -> str | None:
            node = graph.get(key)
            snap = node.definitions.get(run.location) if node is not None else None
            return snap.node_name if snap is not None else None

        steps = {step_of(k) for k in run_store.asset_keys_of(run)} - {None}
        return {key for key in keys if step_of(key) in steps}

    def _fail_runs_of_lost_locations(self, now: float) -> None:
        """Runs of a location that has not answered for ``lost_location_seconds`` fail: their
        worker cannot report, and nobody can cancel them."""
        lost = [
            s.name
            for s in self.registry.states()
            if s.unreachable_since is not None
            and now - s.unreachable_since > self.lost_location_seconds
        ]
        if not lost:
            return
        with self.database.transaction() as session:
            rows = queue.active_runs(session, lost)
        self._fail_each(
            rows,
            lambda row: (
                f"code location '{row.location}' has been unreachable for more than "
                f"{self.lost_location_seconds:.0f}s while the run was in progress"
            ),
        )

    def _location_restarted(self, location: str, old: str | None, new: str | None) -> None:
        with self.database.transaction() as session:
            rows = queue.active_runs_on(session, location, old)
        self._fail_each(
            rows,
            lambda row: (
                f"code location '{location}' restarted while the run was in progress "
                f"(server id {old} → {new}); its worker is gone"
            ),
        )


# -- helpers ------------------------------------------------------------------------------------


def _server_event(
    session: Session,
    row: RunRow,
    event_type: EventType,
    message: str,
    *,
    seq: int | None = None,
    level: str = "INFO",
    only_from: Sequence[str] | None = None,
) -> bool:
    """Record an event the server itself observed, through the same path as ingest, unless
    the run has ended (or is not in ``only_from``); returns whether it was recorded.

    Without ``seq``, the event is numbered in the server's own range, after any the worker
    sent; such an event must end the run, as nothing is stored after it (a reader paging
    with ``after`` would skip the worker's events numbered below an event mid-run).
    """
    fresh = run_store.lock_run(session, row.run_id)
    if fresh is None or fresh.status in run_store.TERMINAL:
        return False
    if only_from is not None and fresh.status not in only_from:
        return False
    ends_badly = event_type in (EventType.RUN_FAILURE, EventType.RUN_CANCELED)
    if seq is None:
        if not ends_badly:
            raise ValueError(f"the server numbers only the end of a run, not {event_type}")
        seq = next_server_seq(session, row.run_id)
    event = Event(
        event_type,
        row.run_id,
        seq=seq,
        level=level,
        message=message,
        error=message if ends_badly else None,
    )
    ingest_events(session, fresh, [event])
    return True


def _executor(tags: Mapping[str, str]) -> ExecutorName | None:
    raw = tags.get(EXECUTOR_TAG)
    if raw is None:
        return None
    if raw not in EXECUTOR_NAMES:
        raise InvalidRequest(
            f"tag '{EXECUTOR_TAG}' must be one of {list(EXECUTOR_NAMES)}, got {raw!r}"
        )
    return raw


#: The priorities the ``runs.priority`` column (an ``INTEGER``) holds.
PRIORITY_RANGE = range(-(2**31), 2**31)


def _priority(tags: Mapping[str, str]) -> int:
    raw = tags.get(PRIORITY_TAG, "0")
    try:
        priority = int(raw)
    except ValueError:
        raise InvalidRequest(f"tag '{PRIORITY_TAG}' must be an integer, got {raw!r}") from None
    if priority not in PRIORITY_RANGE:
        raise InvalidRequest(
            f"tag '{PRIORITY_TAG}' must be between {PRIORITY_RANGE.start} and "
            f"{PRIORITY_RANGE.stop - 1}, got {raw!r}"
        )
    return priority
