"""The asset catalog: filtering the merged graph and describing assets as the API shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from server.storage.models import LatestMaterializationRow, MaterializationRow
from server.workspace.graph import MergedGraph
from server.workspace.staleness import StaleCause

__all__ = ["asset_view", "filter_keys", "materialization_view", "metadata_view"]


def metadata_view(metadata: Mapping[str, MetadataValue]) -> dict[str, dict[str, Any]]:
    return {k: {"kind": v.kind, "value": v.value} for k, v in metadata.items()}


def materialization_view(
    row: MaterializationRow | LatestMaterializationRow, with_key: bool = False
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "run_id": row.run_id,
        "timestamp": row.timestamp,
        "code_version": row.code_version,
        "data_version": row.data_version,
        "metadata": row.mat_metadata,
        "tags": row.tags,
    }
    if with_key:
        view["asset_key"] = row.asset_key.split("/")
    return view


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
        if prefix_parts and key.path[: len(prefix_parts)] != prefix_parts:
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


def asset_view(
    graph: MergedGraph,
    key: AssetKey,
    latest: LatestMaterializationRow | None,
    causes: Sequence[StaleCause],
) -> dict[str, Any]:
    node = graph.nodes[key]
    snap = node.node
    conflict = None
    if node.conflict_locations:
        names = " and ".join(f"'{n}'" for n in node.conflict_locations)
        conflict = {
            "locations": node.conflict_locations,
            "message": f"asset '{key.to_user_string()}' is materialized by both {names}; "
            "it cannot be launched until only one defines it",
        }
    retry = snap.retry_policy if snap else None
    return {
        "key": list(key.path),
        "node_name": snap.node_name if snap else None,
        "location": node.location,
        "group": snap.group if snap else None,
        "description": snap.description if snap else None,
        "code_version": snap.code_version if snap else None,
        "metadata": metadata_view(snap.metadata) if snap else {},
        "tags": dict(snap.tags) if snap else {},
        "owners": list(snap.owners) if snap else [],
        "deps": [list(k.path) for k in node.parents],
        "dependents": [list(k.path) for k in node.children],
        "config_schema": dict(snap.config_schema) if snap and snap.config_schema else None,
        "latest_materialization": materialization_view(latest) if latest else None,
        "stale": bool(causes),
        "stale_causes": [
            {"reason": c.reason, "message": c.message, "key": list(c.key.path) if c.key else None}
            for c in causes
        ],
        "is_external": node.is_external,
        "is_executable": bool(node.definitions),
        "conflict": conflict,
        "cycle": [list(k.path) for k in node.cycle] if node.cycle else None,
        "jobs": list(snap.jobs) if snap else [],
        "required_resources": list(snap.required_resources) if snap else [],
        "retry_policy": None
        if retry is None
        else {
            "max_retries": retry.max_retries,
            "delay": retry.delay,
            "backoff": retry.backoff,
            "jitter": retry.jitter,
        },
    }
