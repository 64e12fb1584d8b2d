"""The application factory. Nothing connects at import time: the lifespan builds the
database, the location registry and the run coordinator, and tears them down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from server.api.deps import require_api_token
from server.api.problems import install_problem_handlers
from server.api.routes import assets, health, ingest, locations, runs
from server.api.threads import DatabaseThreads
from server.core.config import Settings
from server.runs.coordinator import BACKGROUND_CONNECTIONS, RunCoordinator, RunLimits
from server.services.locations import restore_locations
from server.storage.db import Database
from server.storage.migrate import check_at_head
from server.ui import STATIC_DIR
from server.workspace.config import load_workspace
from server.workspace.registry import LocationClient, LocationRegistry
from server.workspace.staleness import StalenessCache

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def default_client_factory(address: str) -> LocationClient:
    # Imported here: grpc loads with the first location, not with the app.
    from codeloc.grpc.client import CodeLocationClient

    # The annotation is the check: mypy proves that the gRPC client is a LocationClient.
    client: LocationClient = CodeLocationClient(address)
    return client


def create_app(
    settings: Settings | None = None,
    *,
    client_factory: Callable[[str], LocationClient] | None = None,
    port: int | None = None,
) -> FastAPI:
    """Build the app. ``port`` is where it will listen, for the address runs report to."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            settings.resolved_database_url(),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
        )
        if settings.check_schema:
            check_at_head(database.engine)
        registry = LocationRegistry(
            client_factory or default_client_factory, poll_seconds=settings.location_poll_seconds
        )
        if settings.workspace is not None:
            for loc in load_workspace(settings.workspace).locations:
                registry.add(loc.name, loc.grpc, source="workspace")
        restore_locations(registry, database)
        coordinator = RunCoordinator(
            database,
            registry,
            event_url=settings.resolved_public_url(port),
            limits=RunLimits(
                global_max=settings.max_concurrent_runs,
                per_location=settings.location_run_limits,
                per_tag=settings.tag_run_limits,
            ),
            starting_timeout=settings.starting_timeout_seconds,
            lost_location_seconds=settings.lost_location_seconds,
        )
        app.state.settings = settings
        app.state.database = database
        app.state.threads = DatabaseThreads(
            database, settings.resolved_api_database_threads(BACKGROUND_CONNECTIONS)
        )
        app.state.registry = registry
        app.state.staleness = StalenessCache()
        app.state.coordinator = coordinator
        await registry.refresh_all()
        registry.start()
        coordinator.start()
        try:
            yield
        finally:
            await coordinator.stop()
            await registry.stop()
            database.dispose()

    app = FastAPI(
        title="Tessera",
        version=_version(),
        description="Assets across code locations: one merged graph, runs, materializations.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    authed: list[Any] = [Depends(require_api_token)]
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(ingest.router, prefix="/api/v1")
    app.include_router(locations.router, prefix="/api/v1", dependencies=authed)
    app.include_router(assets.router, prefix="/api/v1", dependencies=authed)
    app.include_router(runs.router, prefix="/api/v1", dependencies=authed)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> FileResponse:
        # The UI is static: every piece of data it shows comes from /api/v1.
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")

    return app


def _version() -> str:
    from codeloc._version import __version__

    return __version__
