"""Fixtures for the server's tests: databases on SQLite and PostgreSQL, merged graphs.

Every storage test runs twice, on a SQLite file under ``tmp_path`` and on the machine's
PostgreSQL (``TESSERA_TEST_POSTGRES_URL``, default ``postgres@127.0.0.1:5432``). The
PostgreSQL database is created fresh for the test session under a unique name, migrated
once, truncated between tests and dropped at the end. PostgreSQL not answering is a
failure, not a skip: the server's production database must be tested.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from codeloc import Definitions
from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from codeloc._snapshot import LocationSnapshot, snapshot_of
from server.storage.db import Database
from server.storage.migrate import upgrade
from server.storage.models import Base
from server.storage.runs import create_run, set_status
from server.workspace.graph import MergedGraph

T = TypeVar("T")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a loop in a thread of its own: the browser tests' session keeps
    Playwright's loop running in the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


# -- PostgreSQL ----------------------------------------------------------------------------------


class PostgresServer:
    """Creates and drops databases on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"tessera_test_{os.getpid()}_{secrets.token_hex(3)}"
        self._created: list[str] = []
        self._admin: Engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def check(self) -> None:
        try:
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            self._admin.dispose()
            reason = str(exc.orig or exc).strip().splitlines()[0]
        # Outside the except block, so that the report is this message and no traceback.
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(self.admin_url).render_as_string()}: "
            f"{reason}\nThe server's storage tests need a real PostgreSQL: start one, or point "
            "TESSERA_TEST_POSTGRES_URL at a server where the user may CREATE DATABASE.",
            pytrace=False,
        )

    def create_database(self, suffix: str = "") -> str:
        """A new empty database; returns its URL."""
        name = f"{self.prefix}{suffix}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        assert name in self._created
        with self._admin.connect() as conn:
            # WITH (FORCE): a connection a failed test left open must not keep it alive.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.remove(name)

    def close(self) -> None:
        for name in list(self._created):
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(os.environ.get("TESSERA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    server.check()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The session's PostgreSQL database, migrated to head once."""
    url = postgres.create_database()
    upgrade(url)
    yield url
    postgres.drop_database(url)


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


# -- the fixtures tests use ----------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database at the head revision and without rows."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tessera.db'}"
        upgrade(url)
        return url
    url = str(request.getfixturevalue("postgres_url"))
    _truncate_all(url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def start_run(
    database: Database, run_id: str, *, location: str, asset_keys: Sequence[AssetKey], token: str
) -> None:
    """Store run ``run_id`` as its worker finds it when it posts events: launched with
    ``token`` on ``asset_keys``, and started (the server's coordinator leaves it alone)."""
    with database.transaction() as session:
        create_run(
            session,
            run_id=run_id,
            location=location,
            asset_keys=list(asset_keys),
            run_config={},
            tags={},
            token=token,
        )
        set_status(session, run_id, RunStatus.STARTED)


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of a database without any table, made for this test only."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database(f"_{secrets.token_hex(3)}")
    yield url
    server.drop_database(url)


# -- merged graphs -------------------------------------------------------------------------------


def _snapshots_of(locations: Mapping[str, Sequence[Any]]) -> dict[str, LocationSnapshot]:
    return {name: snapshot_of(Definitions(assets)) for name, assets in locations.items()}


@pytest.fixture
def snapshots_of() -> Callable[[Mapping[str, Sequence[Any]]], dict[str, LocationSnapshot]]:
    """``snapshots_of({"A": [asset, …], "B": […]})``: each location's snapshot."""
    return _snapshots_of


@pytest.fixture
def graph_of() -> Callable[[Mapping[str, Sequence[Any]]], MergedGraph]:
    """``graph_of({"A": [asset, …], "B": […]})``: the merged graph of those locations."""

    def build(locations: Mapping[str, Sequence[Any]]) -> MergedGraph:
        return MergedGraph(_snapshots_of(locations))

    return build


# -- a server listening on a port ----------------------------------------------------------------


class LiveServer:
    """A server app served by uvicorn in a thread of the test process, on a real port: run
    workers report to it, concurrent clients reach it, and ``app.state`` is at hand."""

    def __init__(self, settings: Any) -> None:
        import socket

        import uvicorn

        from server.api.app import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, port=self.port)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=60)


@pytest.fixture
def live_server() -> Callable[[Any], LiveServer]:
    """``with live_server(settings) as server:`` a server on a port (``server.url``)."""
    return LiveServer


@pytest.fixture
def runs_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A code location serving ``tests/resources/runs_assets.py`` over gRPC, in process."""
    from codeloc.grpc import CodeSource

    monkeypatch.setenv("TESSERA_TEST_MARKS", str(tmp_path / "marks"))
    from codeloc.grpc.server import LocationServer

    resources = Path(__file__).resolve().parents[1] / "resources"
    source = CodeSource(module="runs_assets", working_directory=str(resources))
    server = LocationServer(source, name="runs", port=0, spool_dir=tmp_path / "spool")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def runs_settings(tmp_path: Path, database_url: str, runs_location: Any) -> Callable[..., Any]:
    """``runs_settings(**fields)``: the settings of a server on ``database_url`` whose
    workspace holds ``runs_location``, with ``fields`` on top."""
    from server.core.config import Settings

    path = tmp_path / "workspace.yaml"
    path.write_text(f"locations:\n  - name: runs\n    grpc: {runs_location.address}\n")

    def build(**fields: Any) -> Settings:
        options = {"location_poll_seconds": 0.2, "database_url": database_url, **fields}
        return Settings(home=tmp_path, workspace=path, **options)

    return build
