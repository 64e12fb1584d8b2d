"""Dependencies handed to routes: the app state's pieces.

No dependency opens a session: a route sends its unit of work to a thread through
``ThreadsDep`` (``server.api.threads`` says why), and nothing blocks on the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from server.api.threads import DatabaseThreads
from server.auth import Principal, Scope
from server.core.config import Settings
from server.runs.coordinator import RunCoordinator
from server.services.tokens import Authenticator
from server.storage.db import Database
from server.workspace.registry import LocationRegistry
from server.workspace.staleness import StalenessCache

__all__ = [
    "Admin",
    "AuthenticatorDep",
    "CoordinatorDep",
    "DatabaseDep",
    "Launcher",
    "Reader",
    "RegistryDep",
    "SettingsDep",
    "StalenessDep",
    "ThreadsDep",
    "require",
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


async def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]


# A class read as a function at each route, require(Scope.READ): an instance keeps its scope
# where a test of the routes finds it.
class require:
    """The dependency of a route that needs ``scope``: the caller, once authenticated (401
    otherwise) and allowed (403 naming the scope otherwise). Every route of ``/api/v1`` but
    health and ingest has one; a test checks that."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(
        self,
        authenticator: AuthenticatorDep,
        threads: ThreadsDep,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Principal:
        if authenticator.needs_database(authorization):
            # A lookup of the token: a read like any other, among the database's reads.
            principal = await threads.read_alone(authenticator.authenticate, authorization)
        else:
            principal = authenticator.authenticate(authorization)
        authenticator.authorize(principal, self.scope)
        return principal


#: The caller of a route that reads, launches or administers.
Reader = Annotated[Principal, Depends(require(Scope.READ))]
Launcher = Annotated[Principal, Depends(require(Scope.LAUNCH))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
