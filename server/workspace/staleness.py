"""Staleness of every asset of the merged graph, computed in one pass in dependency order.

An asset is stale when it was never materialized (``missing``), when its code version is
not the one of its latest materialization (``code_version``), when an upstream asset — in
any location — was materialized after it (``upstream_newer``), or when an upstream asset is
itself stale (``upstream_stale``). External assets are never stale: nobody here makes them.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

from codeloc._key import AssetKey
from server.workspace.graph import MergedGraph, collector_paused

__all__ = ["StaleCause", "StalenessCache", "compute_staleness"]

T = TypeVar("T")


class LatestLike(Protocol):
    @property
    def timestamp(self) -> float: ...
    @property
    def code_version(self) -> str | None: ...
    @property
    def data_version(self) -> str | None: ...


class StaleCause(NamedTuple):
    """A tuple: a change downstream of a busy asset makes one per key and parent."""

    reason: str
    message: str
    key: AssetKey | None = None


def compute_staleness(
    graph: MergedGraph, latest: Mapping[AssetKey, LatestLike]
) -> dict[AssetKey, tuple[StaleCause, ...]]:
    return _judge_all(_plan(graph), latest)


class _Entry(NamedTuple):
    """What judging one key needs of the graph, worked out once per graph."""

    key: AssetKey
    code_version: str | None
    judged: bool  # False: external, or nothing defines it - never stale
    parents: tuple[tuple[AssetKey, str], ...]  # each with its name, for messages


def _plan(graph: MergedGraph) -> list[_Entry]:
    """Every key, upstream before downstream. Keys on cycles have no order; they are judged
    on their own inputs, after the rest."""
    ordered = graph.topological_order
    seen = set(ordered)
    keys = [*ordered, *(k for k in graph.sorted_keys if k not in seen)]
    nodes = graph.nodes
    plan = []
    with collector_paused():
        names = {key: key.to_user_string() for key in keys}
        for key in keys:
            node = nodes[key]
            snap = node.node
            plan.append(
                _Entry(
                    key,
                    snap.code_version if snap is not None else None,
                    not node.is_external and snap is not None,
                    tuple((p, names[p]) for p in node.parents),
                )
            )
    return plan


def _judge_all(
    plan: Iterable[_Entry], latest: Mapping[AssetKey, LatestLike]
) -> dict[AssetKey, tuple[StaleCause, ...]]:
    out: dict[AssetKey, tuple[StaleCause, ...]] = {}
    # Judging allocates a few objects per key and frees none: collections in the middle only
    # rescan the server's large heap.
    with collector_paused():
        for entry in plan:
            out[entry.key] = _judge(entry, latest, out)
    return out


_NEVER_MATERIALIZED = (StaleCause("missing", "never materialized"),)


def _judge(
    entry: _Entry,
    latest: Mapping[AssetKey, LatestLike],
    out: Mapping[AssetKey, tuple[StaleCause, ...]],
) -> tuple[StaleCause, ...]:
    """The causes of one key, its parents already judged in ``out``."""
    if not entry.judged:
        return ()
    mine = latest.get(entry.key)
    if mine is None:
        return _NEVER_MATERIALIZED
    causes: list[StaleCause] = []
    if entry.code_version is not None and entry.code_version != mine.code_version:
        causes.append(
            StaleCause(
                "code_version",
                f"code version changed from {mine.code_version!r} to {entry.code_version!r} "
                "since the last materialization",
            )
        )
    for parent, name in entry.parents:
        theirs = latest.get(parent)
        if theirs is not None and theirs.timestamp > mine.timestamp:
            message = f"upstream '{name}' has a newer materialization"
            causes.append(StaleCause("upstream_newer", message, parent))
        elif out.get(parent):
            causes.append(StaleCause("upstream_stale", f"upstream '{name}' is stale", parent))
    return tuple(causes)


#: Materialization ids looked at again below the newest one seen: on PostgreSQL ids are taken
#: when a row is inserted, so a transaction holding a lower id may commit after one holding a
#: higher id was read. Far more than the ids of the ingest statements in flight at once.
LOOKBACK_IDS = 2_000
#: After the history changed, how long requests keep looking for such late commits (their ids
#: below the newest do not change the version), and how often.
SETTLE_SECONDS = 5.0
RECHECK_SECONDS = 0.25


class StalenessCache:
    """The staleness of the whole graph, kept up to date as the history grows.

    A new graph is judged whole. A newer history is applied incrementally: only keys whose
    latest materialization changed since the last look, and what is downstream of them
    (across locations), are judged again - at 100,000 assets a new materialization costs
    milliseconds instead of a second. ``generation`` changes whenever the result does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph_version: str | None = None
        self._version = -1
        self._latest: dict[AssetKey, LatestLike] = {}
        self._value: dict[AssetKey, tuple[StaleCause, ...]] = {}
        self._plan: list[_Entry] = []
        self._position: dict[AssetKey, int] = {}
        self._settle_until = 0.0
        self._next_look = 0.0
        self.generation = 0
        self._derived: dict[str, tuple[Any, Any]] = {}

    def derived(self, name: str, key: Any, build: Callable[[], T]) -> T:
        """A value computed from the graph and staleness, kept until ``key`` changes."""
        with self._lock:
            found = self._derived.get(name)
            if found is not None and found[0] == key:
                return found[1]  # type: ignore[no-any-return]
        value = build()
        with self._lock:
            self._derived[name] = (key, value)
        return value

    def get(
        self,
        graph: MergedGraph,
        version: int,
        load_latest: Callable[[], Mapping[AssetKey, LatestLike]],
        load_since: Callable[[int], Mapping[AssetKey, LatestLike] | None] | None = None,
    ) -> dict[AssetKey, tuple[StaleCause, ...]]:
        return self.current(graph, version, load_latest, load_since)[1]

    def current(
        self,
        graph: MergedGraph,
        version: int,
        load_latest: Callable[[], Mapping[AssetKey, LatestLike]],
        load_since: Callable[[int], Mapping[AssetKey, LatestLike] | None] | None = None,
    ) -> tuple[int, dict[AssetKey, tuple[StaleCause, ...]]]:
        """``(generation, staleness)`` for ``graph`` and the history at ``version`` (the
        newest materialization id). ``load_latest`` gives every key's latest
        materialization; ``load_since(id)`` those of the keys materialized after ``id``, or
        None when they are too many to be worth it.
        """
        with self._lock:
            now = time.monotonic()
            if version < self._version or (load_since is None and version != self._version):
                self._rebuild(graph, version, dict(load_latest()))
            elif graph.version != self._graph_version:
                # A new graph over the same history: the latest rows are kept, brought up to
                # date, and every key is judged again.
                changed = load_since(max(0, self._version - LOOKBACK_IDS)) if load_since else None
                if changed is None or self._version < 0:
                    latest = dict(load_latest())
                else:
                    latest = self._latest
                    latest.update(changed)
                self._rebuild(graph, version, latest)
            elif load_since is not None and (
                version != self._version or (now < self._settle_until and now >= self._next_look)
            ):
                changed = load_since(max(0, self._version - LOOKBACK_IDS))
                if changed is None:
                    self._rebuild(graph, version, dict(load_latest()))
                else:
                    self._apply(graph, changed)
                    if version != self._version:
                        self._settle_until = now + SETTLE_SECONDS
                    self._version = version
                self._next_look = now + RECHECK_SECONDS
            return self.generation, self._value

    def _rebuild(
        self, graph: MergedGraph, version: int, latest: dict[AssetKey, LatestLike]
    ) -> None:
        if graph.version != self._graph_version:
            self._plan = _plan(graph)
            self._position = {entry.key: i for i, entry in enumerate(self._plan)}
            self._graph_version = graph.version
        self._latest = latest
        self._value = _judge_all(self._plan, latest)
        self._version = version
        self._settle_until = time.monotonic() + SETTLE_SECONDS
        self.generation += 1

    def _apply(self, graph: MergedGraph, fetched: Mapping[AssetKey, LatestLike]) -> None:
        """Judge again the keys whose latest materialization changed, and downstream of them
        as far as a judgement changes: a child reads its parents' timestamps and whether
        they are stale, nothing else."""
        changed = {key for key, row in fetched.items() if self._latest.get(key) != row}
        if not changed:
            return
        latest = self._latest
        for key in changed:
            latest[key] = fetched[key]
        nodes, plan, position = graph.nodes, self._plan, self._position
        ordered = len(graph.topological_order)
        todo = [position[key] for key in changed if key in nodes]
        heapq.heapify(todo)
        queued = set(todo)
        value = dict(self._value)  # readers may hold the previous one
        with collector_paused():
            while todo:
                index = heapq.heappop(todo)
                if index >= ordered:
                    # A key on or below a cycle: judged in no order, so judge all as a whole.
                    value = _judge_all(plan, latest)
                    break
                entry = plan[index]
                before = value.get(entry.key, ())
                after = _judge(entry, latest, value)
                value[entry.key] = after
                if entry.key in changed or bool(before) != bool(after):
                    for child in nodes[entry.key].children:
                        at = position[child]
                        if at not in queued:
                            queued.add(at)
                            heapq.heappush(todo, at)
        self._value = value
        self.generation += 1
