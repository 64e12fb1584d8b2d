"""Dependencies handed to routes: the app state's pieces.

No dependency opens a session: a route sends its unit of work to a thread through
``ThreadsDep`` (``server.api.threads`` says why), and nothing blocks on the event loop.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from server.api.threads import DatabaseThreads
from server.core.config import Settings
from server.errors import Unauthorized
from server.runs.coordinator import RunCoordinator
from server.storage.db import Database
from server.workspace.registry import LocationRegistry
from server.workspace.staleness import StalenessCache

__all__ = [
    "CoordinatorDep",
    "DatabaseDep",
    "RegistryDep",
    "SettingsDep",
    "StalenessDep",
    "ThreadsDep",
    "require_api_token",
]


# The pieces of the app state are handed out by coroutines: FastAPI runs a plain function
# dependency in a worker thread, a hop of 50-200 us for an attribute read.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _registry(request: Request) -> LocationRegistry:
    registry: LocationRegistry = request.app.state.registry
    return registry


async def _staleness(request: Request) -> StalenessCache:
    cache: StalenessCache = request.app.state.staleness
    return cache


async def _coordinator(request: Request) -> RunCoordinator:
    coordinator: RunCoordinator = request.app.state.coordinator
    return coordinator


async def _threads(request: Request) -> DatabaseThreads:
    threads: DatabaseThreads = request.app.state.threads
    return threads


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
RegistryDep = Annotated[LocationRegistry, Depends(_registry)]
StalenessDep = Annotated[StalenessCache, Depends(_staleness)]
CoordinatorDep = Annotated[RunCoordinator, Depends(_coordinator)]
ThreadsDep = Annotated[DatabaseThreads, Depends(_threads)]


async def require_api_token(request: Request, settings: SettingsDep) -> None:
    """With ``TESSERA_API_TOKEN`` set, every API call must carry it as a bearer token."""
    expected = settings.api_token
    if not expected:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise Unauthorized("this server needs 'Authorization: Bearer <token>' (TESSERA_API_TOKEN)")
