"""The asset catalog: the keys of the merged graph that pass the API's filters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from codeloc._key import AssetKey
from server.workspace.graph import MergedGraph

__all__ = ["Facets", "facets", "filter_keys"]


def filter_keys(
    graph: MergedGraph,
    *,
    group: str | None = None,
    location: str | None = None,
    prefix: str | None = None,
    q: str | None = None,
    kind: str | None = None,
    owner: str | None = None,
) -> Sequence[AssetKey]:
    """Keys of the graph in sorted order that pass every given filter.

    ``kind`` keeps the assets with that kind, ``owner`` those with that owner (exactly:
    ``team:data`` or ``alice@example.com``).
    """
    keys: Iterable[AssetKey] = graph.groups.get(group, []) if group else graph.sorted_keys
    if kind or owner:
        keys = [k for k in keys if _has(graph, k, kind, owner)]
    if not (location or prefix or q):
        return keys if isinstance(keys, list) else list(keys)
    prefix_parts = tuple(p for p in (prefix or "").split("/") if p)
    needle = (q or "").lower()
    out = []
    for key in keys:
        if prefix_parts and key.parts[: len(prefix_parts)] != prefix_parts:
            continue
        if location:
            node = graph.nodes[key]
            if location not in node.definitions and location not in node.declarations:
                continue
        if needle and needle not in key.to_user_string().lower():
            node = graph.nodes[key]
            snap = node.node
            if snap is None or needle not in (snap.description or "").lower():
                continue
        out.append(key)
    return out


def _has(graph: MergedGraph, key: AssetKey, kind: str | None, owner: str | None) -> bool:
    snap = graph.nodes[key].node
    if snap is None:
        return False
    if kind and kind not in snap.kinds:
        return False
    return not owner or owner in snap.owners


class Facets(NamedTuple):
    """What the catalog's filters offer: each group, kind and owner, with how many assets
    have it, by name."""

    groups: dict[str, int]
    kinds: dict[str, int]
    owners: dict[str, int]


def facets(graph: MergedGraph) -> Facets:
    """Count the groups, kinds and owners of the graph's assets, each sorted by name."""
    kinds: Counter[str] = Counter()
    owners: Counter[str] = Counter()
    for node in graph.nodes.values():
        snap = node.node
        if snap is None:
            continue
        if snap.tags:
            kinds.update(snap.kinds)
        owners.update(snap.owners)
    groups = {name: len(keys) for name, keys in sorted(graph.groups.items())}
    return Facets(groups, dict(sorted(kinds.items())), dict(sorted(owners.items())))
