"""``/api/v1/code-locations``: the registry's view of every location."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, status

from server.api.deps import DatabaseDep, RegistryDep
from server.api.schemas import CodeLocationCreate, CodeLocationPublic
from server.storage.models import LocationRow
from server.workspace.registry import LocationState

router = APIRouter(tags=["code-locations"])


def location_view(state: LocationState) -> dict[str, Any]:
    return {
        "name": state.name,
        "address": state.address,
        "status": state.status,
        "error": state.error,
        "asset_count": state.asset_count,
        "server_id": state.server_id,
        "loaded_at": state.loaded_at,
        "sdk_version": state.sdk_version,
        "source": state.source,
    }


@router.get("/code-locations", response_model=list[CodeLocationPublic])
def list_locations(registry: RegistryDep) -> list[dict[str, Any]]:
    return [location_view(s) for s in registry.states()]


@router.get("/code-locations/{name}", response_model=CodeLocationPublic)
def get_location(name: str, registry: RegistryDep) -> dict[str, Any]:
    return location_view(registry.state(name))


@router.post("/code-locations/{name}/reload", response_model=CodeLocationPublic)
async def reload_location(name: str, registry: RegistryDep) -> dict[str, Any]:
    registry.state(name)  # 404 before any work
    state = await asyncio.to_thread(registry.refresh, name, force=True)
    return location_view(state)


@router.post(
    "/code-locations", response_model=CodeLocationPublic, status_code=status.HTTP_201_CREATED
)
async def add_location(
    body: CodeLocationCreate, registry: RegistryDep, database: DatabaseDep
) -> dict[str, Any]:
    registry.add(body.name, body.address, source="api")
    with database.transaction() as session:
        session.merge(LocationRow(name=body.name, address=body.address, added_at=time.time()))
    state = await asyncio.to_thread(registry.refresh, body.name)
    return location_view(state)


@router.delete("/code-locations/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_location(name: str, registry: RegistryDep, database: DatabaseDep) -> None:
    registry.remove(name)
    with database.transaction() as session:
        row = session.get(LocationRow, name)
        if row is not None:
            session.delete(row)
