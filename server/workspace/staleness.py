"""Staleness of every asset of the merged graph, computed in one pass in dependency order.

An asset is stale when it was never materialized (``missing``), when its code version is
not the one of its latest materialization (``code_version``), when an upstream asset — in
any location — was materialized after it (``upstream_newer``), or when an upstream asset is
itself stale (``upstream_stale``). External assets are never stale: nobody here makes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from codeloc._key import AssetKey
from server.workspace.graph import MergedGraph

__all__ = ["StaleCause", "StalenessCache", "compute_staleness"]

T = TypeVar("T")


class LatestLike(Protocol):
    timestamp: float
    code_version: str | None
    data_version: str | None


@dataclass(frozen=True, slots=True)
class StaleCause:
    reason: str
    message: str
    key: AssetKey | None = None


def compute_staleness(
    graph: MergedGraph, latest: Mapping[str, LatestLike]
) -> dict[AssetKey, tuple[StaleCause, ...]]:
    out: dict[AssetKey, tuple[StaleCause, ...]] = {}
    ordered = graph.topological_order
    seen = set(ordered)
    # Keys on cycles have no order; they are judged on their own inputs, after the rest.
    rest = [k for k in graph.sorted_keys if k not in seen]
    for key in (*ordered, *rest):
        node = graph.nodes[key]
        snap = node.node
        if node.is_external or snap is None:
            out[key] = ()
            continue
        mine = latest.get(key.to_user_string())
        if mine is None:
            out[key] = (StaleCause("missing", "never materialized"),)
            continue
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
            theirs = latest.get(parent.to_user_string())
            name = parent.to_user_string()
            if theirs is not None and theirs.timestamp > mine.timestamp:
                causes.append(
                    StaleCause(
                        "upstream_newer", f"upstream '{name}' has a newer materialization", parent
                    )
                )
            elif out.get(parent):
                causes.append(StaleCause("upstream_stale", f"upstream '{name}' is stale", parent))
        out[key] = tuple(causes)
    return out


class StalenessCache:
    """The staleness of the whole graph, recomputed only when the graph or history changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._value: dict[AssetKey, tuple[StaleCause, ...]] = {}
        self._derived: dict[str, tuple[tuple[str, int], Any]] = {}

    def derived(self, name: str, key: tuple[str, int], build: Callable[[], T]) -> T:
        """A value computed from the graph and staleness, kept until either changes."""
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
    ) -> dict[AssetKey, tuple[StaleCause, ...]]:
        key = (graph.version, version)
        with self._lock:
            if key != self._key:
                self._value = compute_staleness(graph, load_latest())
                self._key = key
            return self._value
