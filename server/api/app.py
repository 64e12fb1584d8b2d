"""The application factory. Nothing connects at import time: the lifespan builds the
database, the location registry and the run coordinator, and tears them down."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from server.api.middleware import BodyLimit, SecurityHeaders, UrlGuard
from server.api.openapi import API_TOKEN, RUN_TOKEN, install_openapi, operation_id
from server.api.problems import install_problem_handlers
from server.api.routes import assets, health, ingest, locations, runs, tokens
from server.api.threads import DatabaseThreads
from server.core.config import Settings
from server.runs.coordinator import BACKGROUND_CONNECTIONS, RunCoordinator, RunLimits
from server.services.locations import restore_locations
from server.services.tokens import HOW_TO_MAKE_A_TOKEN, Authenticator
from server.storage.db import Database
from server.storage.migrate import check_at_head
from server.ui import STATIC_DIR
from server.workspace.config import load_workspace
from server.workspace.registry import LocationClient, LocationRegistry
from server.workspace.staleness import StalenessCache

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def default_client_factory(settings: Settings) -> Callable[[str], LocationClient]:
    """Make gRPC clients that present the settings' secret and speak their TLS."""
    security = settings.location_client_security()
    warned = False

    def connect(address: str) -> LocationClient:
        # Imported here: grpc loads with the first location, not with the app.
        from codeloc.grpc.client import CodeLocationClient

        nonlocal warned
        if not security.secret and not warned:
            warned = True
            log.warning(
                "TESSERA_LOCATION_SECRET is not set: calls to code locations (%s first) carry "
                "no credentials, so a location that requires them refuses the server, and one "
                "that does not serves anyone who reaches its port",
                address,
            )

        # The annotation is the check: mypy proves that the gRPC client is a LocationClient.
        client: LocationClient = CodeLocationClient(
            address,
            timeout=settings.location_timeout_seconds,
            snapshot_timeout=settings.snapshot_timeout_seconds,
            max_snapshot_bytes=settings.max_snapshot_bytes,
            max_snapshot_assets=settings.max_snapshot_assets,
            security=security,
        )
        return client

    return connect


def create_app(
    settings: Settings | None = None,
    *,
    client_factory: Callable[[str], LocationClient] | None = None,
    port: int | None = None,
    dev: bool = False,
) -> FastAPI:
    """Build the app. ``port`` is where it will listen, for the address runs report to;
    ``dev``: for ``tessera dev``, which says nothing of an open API on loopback."""
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
            client_factory or default_client_factory(settings),
            poll_seconds=settings.location_poll_seconds,
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
            max_launch_bytes=settings.max_launch_bytes,
        )
        app.state.settings = settings
        app.state.database = database
        app.state.threads = DatabaseThreads(
            database, settings.resolved_api_database_threads(BACKGROUND_CONNECTIONS)
        )
        app.state.registry = registry
        app.state.staleness = StalenessCache()
        app.state.coordinator = coordinator
        app.state.authenticator = authenticator = Authenticator(
            database, bootstrap_token=settings.api_token, host=settings.host
        )
        _say_who_may_call(authenticator, dev=dev)
        # Not awaited: the API serves at once, each location shows "loading" until it answered,
        # and one that hangs holds nothing but itself.
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
        generate_unique_id_function=operation_id,
    )
    install_openapi(app)
    install_problem_handlers(app)
    # The last added is the outermost: the headers go on the guards' answers too.
    app.add_middleware(BodyLimit, limit=_body_limit(settings))
    app.add_middleware(UrlGuard)
    app.add_middleware(SecurityHeaders)
    # Health is open; ingest takes the token of its run; every other route says the scope
    # it needs (server.api.deps.require). The two security dependencies only document the
    # bearer schemes in OpenAPI: they check nothing.
    documented: list[Any] = [Depends(API_TOKEN)]
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(ingest.router, prefix="/api/v1", dependencies=[Depends(RUN_TOKEN)])
    app.include_router(locations.router, prefix="/api/v1", dependencies=documented)
    app.include_router(assets.router, prefix="/api/v1", dependencies=documented)
    app.include_router(runs.router, prefix="/api/v1", dependencies=documented)
    app.include_router(tokens.router, prefix="/api/v1", dependencies=documented)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index() -> FileResponse:
        # The UI is static: every piece of data it shows comes from /api/v1.
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")

    return app


def _say_who_may_call(authenticator: Authenticator, *, dev: bool) -> None:
    """A server that needs no token says so at start, loudly: it is open to its callers."""
    if authenticator.tokens_exist():
        return
    if not authenticator.loopback:
        log.warning(
            "NO API TOKEN IS CONFIGURED and the server listens on %s: anyone who reaches it "
            "may read; launching, canceling and managing locations and tokens are refused "
            "until a token exists: %s",
            authenticator.host,
            HOW_TO_MAKE_A_TOKEN,
        )
    elif not dev:
        log.warning(
            "NO API TOKEN IS CONFIGURED: the API is open to every process of this machine "
            "(the server listens on %s only); %s",
            authenticator.host,
            HOW_TO_MAKE_A_TOKEN,
        )


_INGEST_PATH = re.compile(r"/api/v1/runs/[^/]+/events")


def _body_limit(settings: Settings) -> Callable[[Scope], int]:
    """A run worker's batch of events has a limit of its own."""

    def limit(scope: Scope) -> int:
        if scope["method"] == "POST" and _INGEST_PATH.fullmatch(scope["path"]):
            return settings.max_ingest_request_bytes
        return settings.max_request_bytes

    return limit


def _version() -> str:
    from codeloc._version import __version__

    return __version__
