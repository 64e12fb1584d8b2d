"""``/api/v1/assets`` and ``/api/v1/asset-graph``: the merged catalog."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import orjson
from fastapi import APIRouter, Query, Response

from codeloc._key import AssetKey
from server.api.cursor import decode_cursor, encode_cursor
from server.api.deps import RegistryDep, SessionDep, StalenessDep
from server.api.schemas import AssetGraphPublic, AssetPublic, AssetsPublic, MaterializationsPublic
from server.errors import InvalidRequest, NotFound
from server.storage import events as event_store
from server.workspace.catalog import asset_view, filter_keys, materialization_view
from server.workspace.graph import MergedGraph
from server.workspace.staleness import StaleCause, StalenessCache

router = APIRouter(tags=["assets"])

Limit = Annotated[int, Query(ge=1, le=1000)]


def _staleness(
    session: Any, graph: MergedGraph, cache: StalenessCache
) -> tuple[int, dict[AssetKey, tuple[StaleCause, ...]]]:
    """``(generation, staleness)``: up to date with the history, incrementally."""
    return cache.current(
        graph,
        event_store.materialization_version(session),
        lambda: event_store.latest_versions(session),
        lambda after: event_store.latest_versions_since(session, after),
    )


def _key_from_path(path: str) -> AssetKey:
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise InvalidRequest("an asset key needs at least one segment")
    return AssetKey(segments)


@router.get("/assets", response_model=AssetsPublic)
def list_assets(
    session: SessionDep,
    registry: RegistryDep,
    staleness: StalenessDep,
    group: str | None = None,
    location: str | None = None,
    prefix: str | None = None,
    q: str | None = None,
    status: Annotated[
        str | None,
        Query(description="fresh, stale, missing (never materialized), conflict, external"),
    ] = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Response:
    graph = registry.graph
    keys = filter_keys(graph, group=group, location=location, prefix=prefix, q=q)
    _, stale = _staleness(session, graph, staleness)
    if status is not None:
        keys = _with_status(graph, keys, stale, status)
    after = decode_cursor(cursor, "assets")
    start = 0
    if after is not None:
        if not isinstance(after, list) or not all(isinstance(s, str) for s in after) or not after:
            raise InvalidRequest("invalid cursor for /assets")
        start = _bisect_after(keys, tuple(after))
    page = keys[start : start + limit]
    latest = event_store.latest_materializations(session, [k.to_user_string() for k in page])
    body = {
        "assets": [
            asset_view(graph, k, latest.get(k.to_user_string()), stale.get(k, ())) for k in page
        ],
        "next_cursor": encode_cursor("assets", list(page[-1].path))
        if start + limit < len(keys)
        else None,
        "total": len(keys),
    }
    return Response(orjson.dumps(body), media_type="application/json")


_STATUSES = ("fresh", "stale", "missing", "conflict", "external")


def _status_of(node: Any, causes: Any) -> str:
    """The one word a graph node is coloured by."""
    if node.is_external:
        return "external"
    if node.conflict_locations:
        return "conflict"
    if any(c.reason == "missing" for c in causes):
        return "missing"
    return "stale" if causes else "fresh"


def _with_status(graph: MergedGraph, keys: Any, stale: Any, status: str) -> list[AssetKey]:
    if status not in _STATUSES:
        raise InvalidRequest(f"unknown status {status!r}; use one of {list(_STATUSES)}")
    if status == "stale":
        # Stale includes never materialized, as the badge does.
        return [k for k in keys if not graph.nodes[k].is_external and stale.get(k)]
    return [k for k in keys if _status_of(graph.nodes[k], stale.get(k, ())) == status]


def _bisect_after(keys: Any, after: tuple[str, ...]) -> int:
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid].path <= after:
            lo = mid + 1
        else:
            hi = mid
    return lo


@router.get("/assets/{key:path}/materializations", response_model=MaterializationsPublic)
def list_materializations(
    key: str,
    session: SessionDep,
    registry: RegistryDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    asset_key = _key_from_path(key)
    if registry.graph.get(asset_key) is None:
        raise NotFound(f"no asset '{asset_key.to_user_string()}' in any code location")
    before = decode_cursor(cursor, "materializations")
    if before is not None and not isinstance(before, int):
        raise InvalidRequest("invalid cursor for materializations")
    rows = event_store.list_materializations(
        session, asset_key.to_user_string(), before_id=before, limit=limit
    )
    return {
        "materializations": [materialization_view(r) for r in rows],
        "next_cursor": encode_cursor("materializations", rows[-1].id)
        if len(rows) == limit
        else None,
    }


@router.get("/assets/{key:path}", response_model=AssetPublic)
def get_asset(
    key: str, session: SessionDep, registry: RegistryDep, staleness: StalenessDep
) -> Response:
    asset_key = _key_from_path(key)
    graph = registry.graph
    if graph.get(asset_key) is None:
        raise NotFound(f"no asset '{asset_key.to_user_string()}' in any code location")
    _, stale = _staleness(session, graph, staleness)
    latest = event_store.latest_materializations(session, [asset_key.to_user_string()])
    view = asset_view(
        graph, asset_key, latest.get(asset_key.to_user_string()), stale.get(asset_key, ())
    )
    return Response(orjson.dumps(view), media_type="application/json")


@router.get("/asset-graph", response_model=AssetGraphPublic)
def asset_graph(session: SessionDep, registry: RegistryDep, staleness: StalenessDep) -> Response:
    """The whole merged graph: nodes with what a graph view needs, and every edge.

    The body changes only with the graph or the staleness, so it is built once per such
    change and kept (16 MB at 100,000 assets, sent as is). Everything but the statuses is
    serialized once per graph: a new materialization costs only the statuses.
    """
    graph = registry.graph
    generation, stale = _staleness(session, graph, staleness)
    parts = staleness.derived("asset-graph-parts", graph.version, lambda: _graph_parts(graph))
    body = staleness.derived(
        "asset-graph", (graph.version, generation), lambda: _graph_body(graph, parts, stale)
    )
    return Response(body, media_type="application/json")


class _GraphParts(NamedTuple):
    nodes: list[bytes]  # each node's JSON up to the value of its status
    edges: bytes


def _graph_parts(graph: MergedGraph) -> _GraphParts:
    nodes = []
    edges: list[list[tuple[str, ...]]] = []
    for key in graph.sorted_keys:
        node = graph.nodes[key]
        snap = node.node
        path = key.path
        static = orjson.dumps(
            {
                "key": path,
                "location": node.location,
                "group": snap.group if snap else None,
                "is_external": node.is_external,
                "conflict": bool(node.conflict_locations),
            }
        )
        nodes.append(static[:-1] + b',"status":"')
        edges.extend([path, child.path] for child in node.children)
    return _GraphParts(nodes, orjson.dumps(edges))


def _graph_body(graph: MergedGraph, parts: _GraphParts, stale: Any) -> bytes:
    nodes = graph.nodes
    statuses = {s: s.encode() + b'"}' for s in _STATUSES}
    body = b",".join(
        prefix + statuses[_status_of(nodes[key], stale.get(key, ()))]
        for key, prefix in zip(graph.sorted_keys, parts.nodes, strict=True)
    )
    return b'{"nodes":[' + body + b'],"edges":' + parts.edges + b"}"
