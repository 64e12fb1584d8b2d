"""The asset catalog: the keys of the merged graph that pass the API's filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from codeloc._key import AssetKey
from server.workspace.graph import MergedGraph

__all__ = ["filter_keys"]


def filter_keys(
    graph: MergedGraph,
    *,
    group: str | None = None,
    location: str | None = None,
    prefix: str | None = None,
    q: str | None = None,
) -> Sequence[AssetKey]:
    """Keys of the graph in sorted order that pass every given filter."""
    keys: Iterable[AssetKey] = graph.groups.get(group, []) if group else graph.sorted_keys
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
