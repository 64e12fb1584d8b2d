"""Code locations as the API shows them: the registry's view of each, and adding, reloading
and removing them. Reloading asks the location over gRPC: these functions block."""

from __future__ import annotations

from server.schemas import CodeLocationCreate, CodeLocationPublic
from server.storage import locations as location_store
from server.storage.db import Database
from server.workspace.registry import LocationRegistry, LocationState

__all__ = [
    "add_location",
    "get_location",
    "list_locations",
    "reload_location",
    "remove_location",
    "restore_locations",
]


def list_locations(registry: LocationRegistry) -> list[CodeLocationPublic]:
    return [_location(s) for s in registry.states()]


def get_location(registry: LocationRegistry, name: str) -> CodeLocationPublic:
    return _location(registry.state(name))


def reload_location(registry: LocationRegistry, name: str) -> CodeLocationPublic:
    """The location after asking it again for its definitions, whatever its snapshot hash."""
    registry.state(name)  # NotFound before any work
    return _location(registry.refresh(name, force=True))


def add_location(
    registry: LocationRegistry, database: Database, request: CodeLocationCreate
) -> CodeLocationPublic:
    """The new location, after a first attempt to load it; kept for the next start."""
    registry.add(request.name, request.address, source="api")
    with database.transaction() as session:
        location_store.save_location(session, request.name, request.address)
    return _location(registry.refresh(request.name))


def remove_location(registry: LocationRegistry, database: Database, name: str) -> None:
    registry.remove(name)
    with database.transaction() as session:
        location_store.delete_location(session, name)


def restore_locations(registry: LocationRegistry, database: Database) -> None:
    """Add the locations added through the API before, unless the workspace has them."""
    known = {s.name for s in registry.states()}
    with database.transaction() as session:
        saved = location_store.saved_locations(session)
    for name, address in saved:
        if name not in known:
            registry.add(name, address, source="api")


def _location(state: LocationState) -> CodeLocationPublic:
    return CodeLocationPublic(
        name=state.name,
        address=state.address,
        status=state.status,
        error=state.error,
        asset_count=state.asset_count,
        server_id=state.server_id,
        loaded_at=state.loaded_at,
        sdk_version=state.sdk_version,
        source=state.source,
    )
