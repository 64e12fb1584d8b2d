"""The merged asset graph: every location's assets, with edges across locations by key."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from codeloc._key import AssetKey
from codeloc._snapshot import AssetNodeSnap, LocationSnapshot, ResourceSnap

__all__ = ["MergedAssetNode", "MergedGraph"]


class MergedAssetNode:
    """One key of the merged graph.

    ``definitions`` holds the node of every location that materializes the key (more than
    one is a conflict); ``declarations`` those of locations that only declare it.

    A plain class rather than a dataclass: a rebuild makes one per key, and the generated
    ``__init__`` with default factories was a third of the rebuild at 100,000 keys.
    """

    __slots__ = ("children", "cycle", "declarations", "definitions", "key", "parents")

    def __init__(self, key: AssetKey) -> None:
        self.key = key
        self.definitions: dict[str, AssetNodeSnap] = {}
        self.declarations: dict[str, AssetNodeSnap] = {}
        self.parents: list[AssetKey] = []
        self.children: list[AssetKey] = []
        self.cycle: list[AssetKey] | None = None

    def __repr__(self) -> str:
        return f"<MergedAssetNode {self.key.to_user_string()}>"

    @property
    def node(self) -> AssetNodeSnap | None:
        """The definition to show: the defining location's, else a declaration."""
        for snap in self.definitions.values():
            return snap
        for snap in self.declarations.values():
            return snap
        return None

    @property
    def location(self) -> str | None:
        return next(iter(self.definitions), None)

    @property
    def is_external(self) -> bool:
        return not self.definitions

    @property
    def conflict_locations(self) -> list[str]:
        return sorted(self.definitions) if len(self.definitions) > 1 else []


class MergedGraph:
    """Built once from the snapshots of the loaded locations; rebuilt when one changes.

    Implements the selection protocol of ``codeloc._selection``, so expressions such as
    ``location:sales and +orders`` resolve across locations.
    """

    def __init__(self, snapshots: Mapping[str, LocationSnapshot]) -> None:
        with collector_paused():
            self._build(snapshots)

    @staticmethod
    def version_of(snapshots: Mapping[str, LocationSnapshot]) -> str:
        """The ``version`` a graph of ``snapshots`` has, without building it."""
        return "+".join(f"{n}:{s.hash}" for n, s in sorted(snapshots.items()))

    def _build(self, snapshots: Mapping[str, LocationSnapshot]) -> None:
        self.version = self.version_of(snapshots)
        #: Each location's resources by key, for the assets that require them.
        self.resources: dict[str, dict[str, ResourceSnap]] = {
            location: {r.key: r for r in snapshot.resources}
            for location, snapshot in snapshots.items()
        }
        nodes: dict[AssetKey, MergedAssetNode] = {}
        # The keys of each multi-asset that cannot subset, by location and node name; only
        # those, so that the common case costs one attribute test per asset.
        self._run_together: dict[tuple[str, str], list[AssetKey]] = {}
        for location in sorted(snapshots):
            for snap in snapshots[location].assets:
                node = nodes.get(snap.key)
                if node is None:
                    node = nodes[snap.key] = MergedAssetNode(snap.key)
                if snap.is_executable:
                    node.definitions[location] = snap
                    if not snap.can_subset:
                        together = (location, snap.node_name)
                        self._run_together.setdefault(together, []).append(snap.key)
                else:
                    node.declarations[location] = snap
        # Edges come from every definition of a key (a conflict unions them), then from
        # declarations for keys nobody defines.
        for node in list(nodes.values()):
            sources = node.definitions or node.declarations
            parents: dict[AssetKey, None] = {}
            for snap in sources.values():
                for dep in snap.deps:
                    parents[dep.key] = None
            node.parents = list(parents)
            for parent in node.parents:
                parent_node = nodes.get(parent)
                if parent_node is None:
                    parent_node = nodes[parent] = MergedAssetNode(parent)
                parent_node.children.append(node.key)
        self.nodes = nodes
        self.sorted_keys: list[AssetKey] = sorted(nodes)
        self._index = {key: i for i, key in enumerate(self.sorted_keys)}
        self.topological_order, self.cycles = _order_and_cycles(nodes)
        for cycle in self.cycles:
            for key in cycle[:-1]:
                nodes[key].cycle = cycle
        self.groups: dict[str, list[AssetKey]] = {}
        for key in self.sorted_keys:
            shown = nodes[key].node
            if shown is not None:
                self.groups.setdefault(shown.group, []).append(key)

    # -- the selection protocol --------------------------------------------------------------

    @property
    def all_keys(self) -> Collection[AssetKey]:
        return self.nodes.keys()

    def parents(self, key: AssetKey) -> Iterable[AssetKey]:
        node = self.nodes.get(key)
        return node.parents if node else ()

    def children(self, key: AssetKey) -> Iterable[AssetKey]:
        node = self.nodes.get(key)
        return node.children if node else ()

    def group_of(self, key: AssetKey) -> str | None:
        node = self.nodes.get(key)
        snap = node.node if node else None
        return snap.group if snap else None

    def location_of(self, key: AssetKey) -> str | None:
        node = self.nodes.get(key)
        return node.location if node else None

    def tags_of(self, key: AssetKey) -> Mapping[str, str]:
        node = self.nodes.get(key)
        snap = node.node if node else None
        return snap.tags if snap else {}

    def required_neighbors(self, key: AssetKey) -> Iterable[AssetKey]:
        """The keys that must run with ``key``: every asset of its multi-asset, when that
        cannot subset (``AssetSelection.required_multi_asset_neighbors`` reads this)."""
        node = self.nodes.get(key)
        if node is None or not self._run_together:
            return (key,)
        for location, snap in node.definitions.items():
            if not snap.can_subset:
                return self._run_together[(location, snap.node_name)]
        return (key,)

    def multi_asset_of(self, key: AssetKey) -> tuple[str, list[AssetKey]] | None:
        """The node name and keys of the multi-asset that cannot subset ``key`` is part of."""
        node = self.nodes.get(key)
        if node is None:
            return None
        for location, snap in node.definitions.items():
            if not snap.can_subset:
                return snap.node_name, self._run_together[(location, snap.node_name)]
        return None

    def owners_of(self, key: AssetKey) -> Sequence[str]:
        node = self.nodes.get(key)
        snap = node.node if node else None
        return snap.owners if snap else ()

    # -- queries -----------------------------------------------------------------------------

    def get(self, key: AssetKey) -> MergedAssetNode | None:
        return self.nodes.get(key)

    def position(self, key: AssetKey) -> int:
        """Where ``key`` sorts among all keys (for cursors)."""
        return self._index[key]

    def __len__(self) -> int:
        return len(self.nodes)


class _PausedCollector:
    """Holds the cyclic garbage collector while graphs are built.

    A build allocates a few objects per key, none of them garbage; collections triggered
    in the middle only rescan the growing heap (40 % of a rebuild at 100,000 keys). The
    collector is process-wide, so builds on several threads are counted and it resumes, if
    it was on, when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds = 0
        self._was_enabled = True

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._builds == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._builds += 1
        try:
            yield
        finally:
            with self._lock:
                self._builds -= 1
                if self._builds == 0 and self._was_enabled:
                    gc.enable()


collector_paused = _PausedCollector()


def _order_and_cycles(
    nodes: Mapping[AssetKey, MergedAssetNode],
) -> tuple[list[AssetKey], list[list[AssetKey]]]:
    """A topological order of the acyclic part, and each cycle as a closed path of keys."""
    indegree = {key: len(node.parents) for key, node in nodes.items()}
    ready = deque(key for key, n in indegree.items() if n == 0)
    order: list[AssetKey] = []
    while ready:
        key = ready.popleft()
        order.append(key)
        for child in nodes[key].children:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if len(order) == len(nodes):
        return order, []
    remaining = {key for key, n in indegree.items() if n > 0}
    # What Kahn leaves holds the cycles and the keys merely downstream of them. A key is on
    # a cycle iff its strongly connected component has a loop; two loops may share keys, so
    # one loop is found through each key of a component that no earlier loop covered.
    cycles: list[list[AssetKey]] = []
    on_cycle: set[AssetKey] = set()
    for component in _tangles(nodes, remaining):
        for start in sorted(component):
            if start in on_cycle:
                continue
            loop = _loop_through(nodes, start, component)
            on_cycle.update(loop)
            cycles.append([*loop, loop[0]])
    return order, cycles


def _tangles(nodes: Mapping[AssetKey, MergedAssetNode], keys: set[AssetKey]) -> list[set[AssetKey]]:
    """The strongly connected components of ``keys`` that contain a loop (Tarjan, iterative)."""
    index: dict[AssetKey, int] = {}
    low: dict[AssetKey, int] = {}
    stack: list[AssetKey] = []
    on_stack: set[AssetKey] = set()
    found: list[set[AssetKey]] = []

    def visit(key: AssetKey) -> Iterator[AssetKey]:
        index[key] = low[key] = len(index)
        stack.append(key)
        on_stack.add(key)
        return iter([p for p in nodes[key].parents if p in keys])

    for root in sorted(keys):
        if root in index:
            continue
        work = [(root, visit(root))]
        while work:
            key, parents = work[-1]
            for parent in parents:
                if parent not in index:
                    work.append((parent, visit(parent)))
                    break
                if parent in on_stack:
                    low[key] = min(low[key], index[parent])
            else:
                work.pop()
                if work:
                    above = work[-1][0]
                    low[above] = min(low[above], low[key])
                if low[key] == index[key]:
                    component: set[AssetKey] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == key:
                            break
                    if len(component) > 1 or key in nodes[key].parents:
                        found.append(component)
    return found


def _loop_through(
    nodes: Mapping[AssetKey, MergedAssetNode], start: AssetKey, component: set[AssetKey]
) -> list[AssetKey]:
    """A shortest loop from ``start`` back to itself inside ``component``, parent to child."""
    reached_from: dict[AssetKey, AssetKey] = {}
    queue = deque([start])
    while queue:
        key = queue.popleft()
        for parent in nodes[key].parents:
            if parent == start:
                loop = [start]
                while key != start:
                    loop.append(key)
                    key = reached_from[key]
                return loop
            if parent in component and parent not in reached_from:
                reached_from[parent] = key
                queue.append(parent)
    raise AssertionError(f"no loop through {start!r} in its component")
