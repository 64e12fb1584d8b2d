"""The asset graph of one code location, built once from its definitions."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from codeloc._errors import CycleError, DefinitionError, DuplicateKeyError
from codeloc._key import AssetKey
from codeloc._spec import AssetSpec

if TYPE_CHECKING:
    # Annotations only: the graph algorithms stay usable without the definitions (the
    # server orders its runs with ``kahn_order``).
    from codeloc._assets import AssetsDefinition

__all__ = ["AssetGraph", "find_cycle", "kahn_order", "partial_multi_asset_message", "toposort"]


class _Sortable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


N = TypeVar("N", bound=_Sortable)


class AssetGraph:
    """Every asset of a location, with its edges in both directions.

    Keys that are depended on but not defined here are *external*: they appear in
    ``parents`` of the assets that depend on them and in ``external_keys``, but not in
    ``all_keys``. Implements the selection protocol (``codeloc._selection``).
    """

    def __init__(
        self,
        definitions: Sequence[AssetsDefinition],
        external_specs: Sequence[AssetSpec] = (),
        location: str | None = None,
    ) -> None:
        self.location = location
        # The same definition given twice is one definition (two of one key are an error).
        self.definitions = tuple({id(d): d for d in definitions}.values())
        self.definition_by_key: dict[AssetKey, AssetsDefinition] = {}
        self.spec_by_key: dict[AssetKey, AssetSpec] = {}
        by_node_name: dict[str, AssetsDefinition] = {}
        for definition in self.definitions:
            for spec in definition.specs:
                other = self.definition_by_key.get(spec.key)
                if other is not None:
                    raise DuplicateKeyError(
                        f"asset key '{spec.key.to_user_string()}' is defined twice: by "
                        f"{_describe(other)} and by {_describe(definition)}"
                    )
                self.definition_by_key[spec.key] = definition
                self.spec_by_key[spec.key] = spec
            # A node name keys a step and its run config: two definitions of one name would
            # run as one step (the graph of two from_graph assets, say).
            named = by_node_name.setdefault(definition.node_name, definition)
            if named is not definition:
                raise DefinitionError(
                    f"two definitions are named '{definition.node_name}': {_describe(named)} "
                    f"and {_describe(definition)}; run config and steps could not tell them "
                    "apart: give one another name (AssetsDefinition.from_graph(..., name=...))"
                )
        self.declared_external: dict[AssetKey, AssetSpec] = {}
        for spec in external_specs:
            if spec.key in self.spec_by_key or spec.key in self.declared_external:
                raise DuplicateKeyError(
                    f"asset key '{spec.key.to_user_string()}' is declared by an AssetSpec and "
                    "also defined by another definition"
                )
            self.declared_external[spec.key] = spec

        self._parents: dict[AssetKey, tuple[AssetKey, ...]] = {}
        self._children: dict[AssetKey, list[AssetKey]] = {}
        external: set[AssetKey] = set()
        for key, spec in (*self.spec_by_key.items(), *self.declared_external.items()):
            self._parents[key] = spec.deps
            for dep in spec.deps:
                self._children.setdefault(dep, []).append(key)
                if dep not in self.spec_by_key:
                    external.add(dep)
        external.update(self.declared_external)
        self.external_keys: frozenset[AssetKey] = frozenset(external)
        self._all_keys = frozenset(self.spec_by_key)
        self.topological_order: list[AssetKey] = toposort(self.spec_by_key, self._parents)

    # -- the selection protocol --------------------------------------------------------------

    @property
    def all_keys(self) -> Collection[AssetKey]:
        return self._all_keys

    def parents(self, key: AssetKey) -> Iterable[AssetKey]:
        return self._parents.get(key, ())

    def children(self, key: AssetKey) -> Iterable[AssetKey]:
        return self._children.get(key, ())

    def group_of(self, key: AssetKey) -> str | None:
        spec = self.spec_by_key.get(key)
        return spec.group if spec else None

    def location_of(self, key: AssetKey) -> str | None:
        return self.location if key in self.spec_by_key else None

    def tags_of(self, key: AssetKey) -> Mapping[str, str]:
        spec = self.spec_by_key.get(key)
        return spec.tags if spec else {}

    def owners_of(self, key: AssetKey) -> Sequence[str]:
        spec = self.spec_by_key.get(key)
        return spec.owners if spec else ()

    def required_neighbors(self, key: AssetKey) -> Iterable[AssetKey]:
        """The keys that must run with ``key``: all of its multi-asset if that can't subset."""
        definition = self.definition_by_key.get(key)
        if definition is None or definition.can_subset:
            return (key,)
        return definition.keys

    def check_subsets(self, selected: Collection[AssetKey], what: str) -> None:
        """Refuse ``selected`` if it holds only some keys of a multi-asset that can't subset.

        Raises:
            DefinitionError: naming the multi-asset, the keys selected and those missing.
        """
        checked: set[int] = set()
        for key in selected:
            definition = self.definition_by_key.get(key)
            if definition is None or definition.can_subset or len(definition.specs) == 1:
                continue
            if id(definition) in checked:
                continue
            checked.add(id(definition))
            keys = [s.key for s in definition.specs]
            if any(k not in selected for k in keys):
                raise DefinitionError(
                    partial_multi_asset_message(
                        what, definition.node_name, keys, [k for k in keys if k in selected]
                    )
                )

    def __len__(self) -> int:
        return len(self.spec_by_key)


def partial_multi_asset_message(
    what: str, node_name: str, keys: Sequence[AssetKey], selected: Sequence[AssetKey]
) -> str:
    """Why ``what`` (a run, a job) cannot select only ``selected`` of the multi-asset
    ``node_name``: the words the SDK and the server both use."""

    def names(ks: Iterable[AssetKey]) -> str:
        return ", ".join(f"'{k.to_user_string()}'" for k in ks)

    missing = [k for k in keys if k not in selected]
    return (
        f"{what} selects {names(selected)} of the multi-asset '{node_name}' but not "
        f"{names(missing)}: '{node_name}' does not support subsetting (can_subset=False) and "
        f"materializes {names(keys)} together; select all of them (for example with "
        f"AssetSelection.assets({selected[0].to_user_string()!r})"
        ".required_multi_asset_neighbors())"
    )


def kahn_order(nodes: Iterable[N], parents: Callable[[N], Iterable[N]]) -> tuple[list[N], list[N]]:
    """Kahn's algorithm: ``nodes`` ordered so that each follows its parents, and the nodes
    that could not be ordered because they sit on or below a cycle (sorted).

    Edges to nodes outside ``nodes`` are ignored. Ties are broken by the order of ``nodes``
    (a set is sorted first, so that the result never depends on hashing).
    """
    if isinstance(nodes, set | frozenset):
        nodes = sorted(nodes)
    node_set = nodes if isinstance(nodes, dict) else dict.fromkeys(nodes)
    indegree: dict[N, int] = {}
    children: dict[N, list[N]] = {}
    for node in node_set:
        count = 0
        for parent in parents(node):
            if parent in node_set:
                count += 1
                children.setdefault(parent, []).append(node)
        indegree[node] = count
    ready = deque(k for k, n in indegree.items() if n == 0)
    order: list[N] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for child in children.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    stuck = sorted(k for k, n in indegree.items() if n > 0) if len(order) != len(indegree) else []
    return order, stuck


def toposort(
    nodes: Iterable[AssetKey], parents: Mapping[AssetKey, Sequence[AssetKey]]
) -> list[AssetKey]:
    """Keys in dependency order; raises ``CycleError`` naming the keys of one cycle."""
    order, stuck = kahn_order(nodes, lambda k: parents.get(k, ()))
    if stuck:
        cycle = find_cycle(set(stuck), parents)
        path = " -> ".join(k.to_user_string() for k in cycle)
        raise CycleError(f"the asset graph has a cycle: {path}")
    return order


def find_cycle(
    nodes: Collection[AssetKey], parents: Mapping[AssetKey, Sequence[AssetKey]]
) -> list[AssetKey]:
    """One cycle among ``nodes`` (which must contain one), as a closed path of keys."""
    start = min(nodes)
    # Walk parent edges inside the remaining set until a key repeats: every remaining key
    # has at least one remaining parent, so the walk must close a loop.
    seen: dict[AssetKey, int] = {}
    path: list[AssetKey] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(p for p in parents.get(node, ()) if p in nodes)
    loop = path[seen[node] :]
    loop.reverse()  # parents first, as data flows
    return [*loop, loop[0]]


def _describe(definition: AssetsDefinition) -> str:
    fn = definition.fn
    if fn is None:
        return f"the AssetSpec '{definition.node_name}'"
    module = getattr(fn, "__module__", "?")
    return f"'{definition.node_name}' ({module}.{getattr(fn, '__qualname__', '?')})"
