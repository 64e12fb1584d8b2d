"""The location registry: which code locations exist, their state, and the merged graph.

Each location is polled in the background: a new server id (the process restarted) or a
new snapshot hash triggers a reload; a location that stops answering is marked
``unreachable`` and keeps its last snapshot, one whose code fails to import, or whose
snapshot is malformed, too large or too slow, is ``error``.

Nothing that happens to one location disturbs the others: each is polled by a task and a
thread of its own, so one that hangs (up to the client's deadlines) holds only itself, and
the merged graph is rebuilt by one task of its own whenever a snapshot changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from codeloc._snapshot import LocationSnapshot
from codeloc.grpc._errors import CodeLocationNotLoaded, CredentialsRejected, SnapshotRejected
from codeloc.grpc._model import LoadError, LocationInfo, RunLaunch, RunState
from server.errors import CodeLocationUnavailable, Conflict, NotFound
from server.workspace.graph import MergedGraph

__all__ = ["LocationClient", "LocationRegistry", "LocationState"]

log = logging.getLogger(__name__)

LocationStatus = Literal["loading", "loaded", "error", "unreachable"]


class LocationClient(Protocol):
    """Everything the server asks of a code location: the registry polls ``info`` and
    loads ``snapshot``, the run coordinator calls ``launch`` and ``cancel``.

    ``codeloc.grpc.client.CodeLocationClient`` provides it over gRPC (``server.api.app``
    has mypy check that it does); tests give the registry clients that answer from memory.
    Every call blocks; any of them may raise ``codeloc.grpc.CodeLocationUnavailable``.
    """

    def info(self) -> LocationInfo:
        """Who is serving the location, and whether its code has loaded."""
        ...

    def snapshot(self) -> LocationSnapshot:
        """Every definition of the location; ``CodeLocationNotLoaded`` while its code is
        (re)loading or after it failed to, ``SnapshotRejected`` when what it sent is
        malformed, too large or too slow."""
        ...

    def launch(self, launch: RunLaunch) -> RunState:
        """Start a run; ``LaunchRejected`` or ``ConfigInvalid`` before anything runs."""
        ...

    def cancel(self, run_id: str) -> RunState:
        """Ask the run to stop; ``RunNotFound`` when the location has no such run."""
        ...

    def close(self) -> None:
        """Let go of the connection; the registry makes a new client to reconnect."""
        ...


@dataclass(frozen=True, slots=True)
class LocationState:
    name: str
    address: str
    status: LocationStatus = "loading"
    error: str | None = None
    server_id: str | None = None
    snapshot: LocationSnapshot | None = None
    loaded_at: float | None = None
    source: Literal["workspace", "api"] = "workspace"
    sdk_version: str | None = None
    checked_at: float | None = None
    #: when the location stopped answering, while it still does not
    unreachable_since: float | None = None
    #: the hash of a snapshot that was not taken (``SnapshotRejected``): not asked for again
    #: until the location has another, or restarts
    rejected_hash: str | None = None

    @property
    def asset_count(self) -> int:
        return len(self.snapshot.assets) if self.snapshot else 0


@dataclass
class _Entry:
    state: LocationState
    client: LocationClient
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: the one thread that polls this location: a hanging call holds no other location's
    poller: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="location-poll")
    )
    task: asyncio.Task[None] | None = None


class LocationRegistry:
    """Every location, its client and state, and the merged graph of the loaded ones."""

    def __init__(
        self,
        client_factory: Callable[[str], LocationClient],
        *,
        poll_seconds: float = 2.0,
    ) -> None:
        self._client_factory = client_factory
        self._entries: dict[str, _Entry] = {}
        self._poll_seconds = poll_seconds
        self._graph = MergedGraph({})
        self._graph_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._graph_changed: asyncio.Event | None = None
        self._graph_task: asyncio.Task[None] | None = None
        self._graph_builder = ThreadPoolExecutor(1, thread_name_prefix="graph-rebuild")
        self._closed = False
        self.on_location_restart: list[Callable[[str, str | None, str | None], None]] = []

    # -- reading -----------------------------------------------------------------------------

    @property
    def graph(self) -> MergedGraph:
        return self._graph

    def states(self) -> list[LocationState]:
        return [e.state for _, e in sorted(self._entries.items())]

    def state(self, name: str) -> LocationState:
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"no code location named '{name}'; known: {sorted(self._entries)}")
        return entry.state

    def client(self, name: str) -> LocationClient:
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"no code location named '{name}'")
        if entry.state.status != "loaded":
            detail = f": {entry.state.error}" if entry.state.error else ""
            raise CodeLocationUnavailable(f"code location '{name}' is {entry.state.status}{detail}")
        return entry.client

    # -- changing ----------------------------------------------------------------------------

    def add(self, name: str, address: str, source: Literal["workspace", "api"] = "api") -> None:
        if name in self._entries:
            raise Conflict(f"a code location named '{name}' already exists")
        client = self._client_factory(address)
        self._entries[name] = _Entry(LocationState(name, address, source=source), client)
        if self._loop is not None:  # added while polling: from any thread
            self._loop.call_soon_threadsafe(self._watch, name)

    def remove(self, name: str) -> None:
        entry = self._entries.pop(name, None)
        if entry is None:
            raise NotFound(f"no code location named '{name}'")
        if self._loop is not None and entry.task is not None:
            self._loop.call_soon_threadsafe(entry.task.cancel)
        entry.client.close()
        entry.poller.shutdown(wait=False, cancel_futures=True)
        self._rebuild_graph()

    def refresh(self, name: str, *, force: bool = False, rebuild: bool = True) -> LocationState:
        """Ask the location for its info; reload its snapshot if it changed (or ``force``),
        and then the merged graph unless ``rebuild`` is false (the caller does it once for
        several locations).

        Blocking: call it in a thread from async code.
        """
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"no code location named '{name}'")
        with entry.lock:
            old = entry.state
            new = self._check(entry, force)
            entry.state = new
        if rebuild and new.snapshot is not old.snapshot:
            self._rebuild_graph()
        if old.server_id and new.server_id and new.server_id != old.server_id:
            log.warning(
                "code location %s restarted (server id %s -> %s)",
                name,
                old.server_id,
                new.server_id,
            )
            for callback in self.on_location_restart:
                try:
                    callback(name, old.server_id, new.server_id)
                except Exception:  # the database lost, say: the others still hear of it
                    log.exception("handling the restart of code location %s failed", name)
        return new

    def _check(self, entry: _Entry, force: bool) -> LocationState:
        state = entry.state
        now = time.time()
        try:
            info = entry.client.info()
        except CredentialsRejected as exc:
            return self._refused(state, exc, now)
        except Exception as exc:
            if state.status != "unreachable" and not self._closed:
                log.warning(
                    "code location %s at %s is unreachable: %s", state.name, state.address, exc
                )
            # A gRPC channel that failed waits longer and longer before it reconnects; a
            # fresh one notices a restarted location at the next poll.
            entry.client.close()
            if not self._closed:
                entry.client = self._client_factory(state.address)
            # The last snapshot stays: the catalog keeps showing what the location had.
            return replace(
                state,
                status="unreachable",
                error=_short(exc),
                checked_at=now,
                unreachable_since=state.unreachable_since or now,
            )
        if info.state == "loading":
            # The process is up but still importing user code: ask again next round.
            return replace(state, status="loading", server_id=info.server_id, checked_at=now)
        load_error = info.load_error
        if load_error or info.state == "failed":
            return replace(
                state,
                status="error",
                error=_format_load_error(load_error) if load_error else "failed to load",
                unreachable_since=None,
                server_id=info.server_id,
                snapshot=None,
                sdk_version=info.sdk_version,
                checked_at=now,
                loaded_at=now,
                rejected_hash=None,
            )
        unchanged = (
            not force
            and state.status == "loaded"
            and state.server_id == info.server_id
            and state.snapshot is not None
            and state.snapshot.hash == info.snapshot_hash
        )
        rejected_again = (
            not force
            and state.status == "error"
            and state.server_id == info.server_id
            and state.rejected_hash == info.snapshot_hash
        )
        if unchanged or rejected_again:
            return replace(state, checked_at=now)
        try:
            snapshot = entry.client.snapshot()
        except CodeLocationNotLoaded:
            # It answered, but its code is (re)loading or failed between the two calls.
            return replace(state, status="loading", checked_at=now)
        except CredentialsRejected as exc:
            return self._refused(state, exc, now)
        except SnapshotRejected as exc:
            log.warning("code location %s sent a snapshot not taken: %s", state.name, str(exc))
            # Nothing of it is kept, nor the last snapshot: it described other code.
            return replace(
                state,
                status="error",
                error=str(exc)[:500],
                unreachable_since=None,
                server_id=info.server_id,
                snapshot=None,
                sdk_version=info.sdk_version,
                checked_at=now,
                rejected_hash=info.snapshot_hash,
            )
        except Exception as exc:
            return replace(state, status="unreachable", error=_short(exc), checked_at=now)
        log.info("loaded code location %s: %d assets", state.name, len(snapshot.assets))
        return LocationState(
            name=state.name,
            address=state.address,
            status="loaded",
            error=None,
            server_id=info.server_id,
            snapshot=snapshot,
            loaded_at=now,
            source=state.source,
            sdk_version=info.sdk_version,
            checked_at=now,
        )

    def _refused(self, state: LocationState, exc: CredentialsRejected, now: float) -> LocationState:
        """It answers but will not serve the server: an error of configuration, which no
        retry mends. Not ``unreachable``: the runs of a lost location are failed after a
        while, and this one is not lost (nor does it launch anything until it is fixed)."""
        if state.status != "error" or state.error != _refusal(exc):
            log.error("code location %s at %s: %s", state.name, state.address, _refusal(exc))
        return replace(
            state,
            status="error",
            error=_refusal(exc),
            snapshot=None,
            unreachable_since=None,
            checked_at=now,
        )

    def _rebuild_graph(self) -> None:
        """Merge the snapshots of now; from any thread (locations are added and removed
        while it runs: it reads a copy)."""
        with self._graph_lock:
            snapshots = {
                name: e.state.snapshot
                for name, e in list(self._entries.items())
                if e.state.snapshot is not None
            }
            if MergedGraph.version_of(snapshots) != self._graph.version:
                self._graph = MergedGraph(snapshots)

    # -- the background loop -----------------------------------------------------------------

    async def refresh_all(self, *, force: bool = False) -> None:
        """Refresh every location at once, then merge the graph once (ten locations that
        each rebuilt it would build it ten times, ever larger). Waits for the slowest: the
        background polling does not use it."""
        names = list(self._entries)
        results = await asyncio.gather(
            *(asyncio.to_thread(self.refresh, name, force=force, rebuild=False) for name in names),
            return_exceptions=True,
        )
        for name, result in zip(names, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, NotFound):
                log.error("refreshing code location %s failed", name, exc_info=result)
        await asyncio.to_thread(self._rebuild_graph)

    def start(self) -> None:
        """Poll every location, each in a task of its own, starting now; returns at once."""
        self._loop = asyncio.get_running_loop()
        self._graph_changed = asyncio.Event()
        self._graph_task = self._loop.create_task(self._rebuild_on_change(), name="graph")
        for name in list(self._entries):
            self._watch(name)

    async def stop(self) -> None:
        self._closed = True
        self._loop = None
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        tasks += [self._graph_task] if self._graph_task is not None else []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for entry in self._entries.values():
            # Closing the channel ends a call still waiting in a poller thread.
            entry.client.close()
            entry.poller.shutdown(wait=False, cancel_futures=True)
        self._graph_builder.shutdown(wait=False, cancel_futures=True)

    def _watch(self, name: str) -> None:
        entry = self._entries.get(name)
        if entry is None or entry.task is not None or self._loop is None:
            return
        entry.task = self._loop.create_task(self._poll(name, entry), name=f"location-{name}")

    async def _poll(self, name: str, entry: _Entry) -> None:
        loop = asyncio.get_running_loop()
        refresh = functools.partial(self.refresh, name, rebuild=False)
        while self._entries.get(name) is entry:
            before = entry.state.snapshot
            try:
                state = await loop.run_in_executor(entry.poller, refresh)
            except NotFound:
                return
            except Exception:  # the loop must outlive any one bad round
                log.exception("polling code location %s failed", name)
            else:
                if state.snapshot is not before and self._graph_changed is not None:
                    self._graph_changed.set()
            await asyncio.sleep(self._poll_seconds)

    async def _rebuild_on_change(self) -> None:
        """Rebuild the graph after snapshots changed: changes that come while it builds
        are merged together by the next build."""
        assert self._graph_changed is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._graph_changed.wait()
            self._graph_changed.clear()
            try:
                await loop.run_in_executor(self._graph_builder, self._rebuild_graph)
            except Exception:
                log.exception("merging the graph of the code locations failed")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    details = getattr(exc, "details", None)
    if callable(details):  # a grpc.RpcError says more in details() than in str()
        with contextlib.suppress(Exception):
            text = [str(details())]
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _refusal(exc: CredentialsRejected) -> str:
    return f"{type(exc).__name__}: {exc}"


def _format_load_error(error: LoadError) -> str:
    head = f"{error.type}: {error.message}" if error.type else error.message
    return f"{head}\n{error.traceback}".rstrip() if error.traceback else head
