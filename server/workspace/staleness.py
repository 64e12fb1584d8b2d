"""Staleness of every asset of the merged graph, computed in one pass in dependency order.

An asset is stale when it was never materialized (``missing``), when its code version is
not the one of its latest materialization (``code_version``), when an upstream asset — in
any location — was materialized after it (``upstream_newer``), or when an upstream asset is
itself stale (``upstream_stale``). External assets are never stale: nobody here makes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from codeloc._key import AssetKey
from server.workspace.graph import MergedGraph

__all__ = ["StaleCause", "StalenessCache", "compute_staleness"]

T = TypeVar("T")


class LatestLike(Protocol):
    @property
    def timestamp(self) -> float: ...
    @property
    def code_version(self) -> str | None: ...
    @property
    def data_version(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StaleCause:
    reason: str
    message: str
    key: AssetKey | None = None


def compute_staleness(
    graph: MergedGraph, latest: Mapping[str, LatestLike]
) -> dict[AssetKey, tuple[StaleCause, ...]]:
    out: dict[AssetKey, tuple[StaleCause, ...]] = {}
    for key in _evaluation_order(graph):
        out[key] = _judge(graph, key, latest, out)
    return out


def _evaluation_order(graph: MergedGraph) -> list[AssetKey]:
    """Upstream before downstream. Keys on cycles have no order; they are judged on their own
    inputs, after the rest."""
    ordered = graph.topological_order
    seen = set(ordered)
    return [*ordered, *(k for k in graph.sorted_keys if k not in seen)]


def _judge(
    graph: MergedGraph,
    key: AssetKey,
    latest: Mapping[str, LatestLike],
    out: Mapping[AssetKey, tuple[StaleCause, ...]],
) -> tuple[StaleCause, ...]:
    """The causes of one key, its parents already judged in ``out``."""
    node = graph.nodes[key]
    snap = node.node
    if node.is_external or snap is None:
        return ()
    mine = latest.get(key.to_user_string())
    if mine is None:
        return (StaleCause("missing", "never materialized"),)
    causes: list[StaleCause] = []
    if snap.code_version is not None and snap.code_version != mine.code_version:
        causes.append(
            StaleCause(
                "code_version",
                f"code version changed from {mine.code_version!r} to {snap.code_version!r} "
                "since the last materialization",
            )
        )
    for parent in node.parents:
        name = parent.to_user_string()
        theirs = latest.get(name)
        if theirs is not None and theirs.timestamp > mine.timestamp:
            causes.append(
                StaleCause(
                    "upstream_newer", f"upstream '{name}' has a newer materialization", parent
                )
            )
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
        self._latest: dict[str, LatestLike] = {}
        self._value: dict[AssetKey, tuple[StaleCause, ...]] = {}
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
        load_latest: Callable[[], Mapping[str, LatestLike]],
        load_since: Callable[[int], Mapping[str, LatestLike] | None] | None = None,
    ) -> dict[AssetKey, tuple[StaleCause, ...]]:
        return self.current(graph, version, load_latest, load_since)[1]

    def current(
        self,
        graph: MergedGraph,
        version: int,
        load_latest: Callable[[], Mapping[str, LatestLike]],
        load_since: Callable[[int], Mapping[str, LatestLike] | None] | None = None,
    ) -> tuple[int, dict[AssetKey, tuple[StaleCause, ...]]]:
        """``(generation, staleness)`` for ``graph`` and the history at ``version`` (the
        newest materialization id). ``load_latest`` gives every key's latest
        materialization; ``load_since(id)`` those of the keys materialized after ``id``, or
        None when they are too many to be worth it.
        """
        with self._lock:
            now = time.monotonic()
            if graph.version != self._graph_version or version < self._version:
                self._rebuild(graph, version, dict(load_latest()))
            elif load_since is None:
                if version != self._version:
                    self._rebuild(graph, version, dict(load_latest()))
            elif version != self._version or (now < self._settle_until and now >= self._next_look):
                changed = load_since(max(0, self._version - LOOKBACK_IDS))
                if changed is None:
                    self._rebuild(graph, version, dict(load_latest()))
                else:
                    self._apply(graph, changed)
                if version != self._version:
                    self._settle_until = now + SETTLE_SECONDS
                self._next_look = now + RECHECK_SECONDS
                self._version = version
            return self.generation, self._value

    def _rebuild(self, graph: MergedGraph, version: int, latest: dict[str, LatestLike]) -> None:
        if graph.version != self._graph_version:
            order = _evaluation_order(graph)
            self._position = {key: i for i, key in enumerate(order)}
            self._graph_version = graph.version
        self._latest = latest
        self._value = compute_staleness(graph, latest)
        self._version = version
        self._settle_until = time.monotonic() + SETTLE_SECONDS
        self.generation += 1

    def _apply(self, graph: MergedGraph, fetched: Mapping[str, LatestLike]) -> None:
        """Judge again the keys whose latest materialization changed, and their downstream."""
        changed = [name for name, row in fetched.items() if self._latest.get(name) != row]
        if not changed:
            return
        latest = self._latest
        for name in changed:
            latest[name] = fetched[name]
        nodes = graph.nodes
        affected: set[AssetKey] = set()
        todo = [AssetKey.from_user_string(name) for name in changed]
        while todo:
            key = todo.pop()
            if key in affected or key not in nodes:
                continue
            affected.add(key)
            todo.extend(nodes[key].children)
        position = self._position
        value = dict(self._value)  # readers may hold the previous one
        for key in sorted(affected, key=position.__getitem__):
            value[key] = _judge(graph, key, latest, value)
        self._value = value
        self.generation += 1
