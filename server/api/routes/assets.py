"""``/api/v1/assets`` and ``/api/v1/asset-graph``: the merged catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from codeloc._key import AssetKey
from server.api.deps import RegistryDep, StalenessDep, ThreadsDep, require
from server.auth import Scope
from server.errors import InvalidRequest
from server.schemas import (
    AssetFacetsPublic,
    AssetGraphPublic,
    AssetPublic,
    AssetsPublic,
    MaterializationsPublic,
)
from server.services import assets

router = APIRouter(tags=["assets"], dependencies=[Depends(require(Scope.READ))])

Limit = Annotated[int, Query(ge=1, le=1000)]


async def _key_from_path(key: str) -> AssetKey:
    """A key in a path: its segments joined by ``/``."""
    segments = [s for s in key.split("/") if s]
    if not segments:
        raise InvalidRequest("an asset key needs at least one segment")
    return AssetKey(segments)


KeyPath = Annotated[AssetKey, Depends(_key_from_path)]


@router.get("/assets", response_model=AssetsPublic)
async def list_assets(
    threads: ThreadsDep,
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
    kind: Annotated[
        str | None, Query(max_length=1000, description="assets of this kind (`python`, `dbt`)")
    ] = None,
    owner: Annotated[
        str | None,
        Query(max_length=1000, description="assets with this owner (`team:data`, an e-mail)"),
    ] = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Response:
    # A fast path: JSON bytes, serialized as the views are built (see assets.list_assets_json).
    body = await threads.read(
        assets.list_assets_json,
        registry.graph,
        staleness,
        group=group,
        location=location,
        prefix=prefix,
        q=q,
        status=status,
        kind=kind,
        owner=owner,
        limit=limit,
        cursor=cursor,
    )
    return Response(body, media_type="application/json")


@router.get("/asset-facets")
async def asset_facets(
    threads: ThreadsDep, registry: RegistryDep, staleness: StalenessDep
) -> AssetFacetsPublic:
    """The groups, kinds and owners the catalog can be filtered by, with their counts."""
    return await threads.read_alone(assets.asset_facets, registry.graph, staleness)


@router.get("/assets/{key:path}/materializations")
async def list_materializations(
    key: KeyPath,
    threads: ThreadsDep,
    registry: RegistryDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> MaterializationsPublic:
    return await threads.read(
        assets.list_materializations, registry.graph, key, limit=limit, cursor=cursor
    )


@router.get("/assets/{key:path}")
async def get_asset(
    key: KeyPath, threads: ThreadsDep, registry: RegistryDep, staleness: StalenessDep
) -> AssetPublic:
    return await threads.read(assets.get_asset, registry.graph, staleness, key)


@router.get("/asset-graph", response_model=AssetGraphPublic)
async def asset_graph(
    threads: ThreadsDep, registry: RegistryDep, staleness: StalenessDep
) -> Response:
    # A fast path: kept JSON bytes, sent as they are (see assets.asset_graph_json).
    body = await threads.read(assets.asset_graph_json, registry.graph, staleness)
    return Response(body, media_type="application/json")
