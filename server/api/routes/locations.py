"""``/api/v1/code-locations``: the registry's view of every location."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from server.api.deps import DatabaseDep, RegistryDep, require
from server.auth import Scope
from server.schemas import CodeLocationCreate, CodeLocationPublic
from server.services import locations

router = APIRouter(tags=["code-locations"])

READ = [Depends(require(Scope.READ))]
ADMIN = [Depends(require(Scope.ADMIN))]


@router.get("/code-locations", dependencies=READ)
def list_locations(registry: RegistryDep) -> list[CodeLocationPublic]:
    return locations.list_locations(registry)


@router.get("/code-locations/{name}", dependencies=READ)
def get_location(name: str, registry: RegistryDep) -> CodeLocationPublic:
    return locations.get_location(registry, name)


@router.post("/code-locations/{name}/reload", dependencies=ADMIN)
def reload_location(name: str, registry: RegistryDep) -> CodeLocationPublic:
    return locations.reload_location(registry, name)


@router.post("/code-locations", status_code=status.HTTP_201_CREATED, dependencies=ADMIN)
def add_location(
    body: CodeLocationCreate, registry: RegistryDep, database: DatabaseDep
) -> CodeLocationPublic:
    return locations.add_location(registry, database, body)


@router.delete("/code-locations/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=ADMIN)
def remove_location(name: str, registry: RegistryDep, database: DatabaseDep) -> None:
    locations.remove_location(registry, database, name)
