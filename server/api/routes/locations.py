"""``/api/v1/code-locations``: the registry's view of every location."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, RegistryDep, ThreadsDep, require
from server.auth import Scope
from server.schemas import CodeLocationCreate, CodeLocationPublic
from server.services import locations

router = APIRouter(tags=["code-locations"])

READ = [Depends(require(Scope.READ))]
ADMIN = [Depends(require(Scope.ADMIN))]

# Reading the registry is reading memory: on the event loop. Reloading asks the location over
# gRPC: in a thread, one of anyio's, not of the database's (a slow location must not take a
# connection's turn); adding and removing write the database too: in one of its threads.


@router.get("/code-locations", dependencies=READ)
async def list_locations(registry: RegistryDep) -> list[CodeLocationPublic]:
    return locations.list_locations(registry)


@router.get("/code-locations/{name}", dependencies=READ)
async def get_location(name: str, registry: RegistryDep) -> CodeLocationPublic:
    return locations.get_location(registry, name)


@router.post("/code-locations/{name}/reload", dependencies=ADMIN)
async def reload_location(name: str, registry: RegistryDep) -> CodeLocationPublic:
    return await run_in_threadpool(locations.reload_location, registry, name)


@router.post("/code-locations", status_code=status.HTTP_201_CREATED, dependencies=ADMIN)
async def add_location(
    body: CodeLocationCreate, registry: RegistryDep, database: DatabaseDep, threads: ThreadsDep
) -> CodeLocationPublic:
    return await threads.write(locations.add_location, registry, database, body)


@router.delete("/code-locations/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=ADMIN)
async def remove_location(
    name: str, registry: RegistryDep, database: DatabaseDep, threads: ThreadsDep
) -> None:
    await threads.write(locations.remove_location, registry, database, name)
