"""The engine's pool on PostgreSQL: a connection the database closed is not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from server.storage import db as db_module
from server.storage.db import Database


def _backend_pid(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")) or 0)


def _terminate(url: str, pid: int) -> None:
    """From a connection of another engine, so that the pool under test is left alone."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_idle_connection_closed_by_the_database_is_replaced(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(database)
    _terminate(database.url, first)
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 0.0)

    # Checked out again, the dead connection fails its ping and a new one takes its place.
    pids = {_backend_pid(database) for _ in range(3)}
    assert first not in pids


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_used_a_moment_ago_is_not_pinged(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = database.engine.dialect.do_ping
    monkeypatch.setattr(
        database.engine.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn)
    )
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 60.0)
    _backend_pid(database)
    for _ in range(5):
        _backend_pid(database)
    # Only the first checkout of the new connection (never checked in before) is pinged.
    assert len(pings) == 1
