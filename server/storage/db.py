"""The database: an engine and a session factory, made by the app's lifespan."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from server.storage.migrate import _ensure_sqlite_dir

__all__ = ["Database"]


class Database:
    """One engine and its sessions. ``transaction()`` is the unit of work of a request."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A statement's parameters (token hashes among them) stay out of the log and out of
        # the text of its errors, which an unexpected error's traceback would log.
        engine_options.setdefault("hide_parameters", True)
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            engine_options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        in_memory = self.is_sqlite and make_url(url).database in (None, "", ":memory:")
        if in_memory:  # one connection per thread there: no pool to size
            engine_options.pop("pool_size", None)
            engine_options.pop("max_overflow", None)
            engine_options.pop("pool_timeout", None)
        else:
            engine_options.setdefault("pool_size", 10)
            engine_options.setdefault("max_overflow", 20)
        self.engine: Engine = create_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif not engine_options.get("pool_pre_ping"):
            event.listen(self.engine, "checkin", _note_checkin)
            event.listen(self.engine, "checkout", self._ping_if_idle)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def _ping_if_idle(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < IDLE_BEFORE_PING:
            return
        try:
            alive = self.engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another.
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")

    def dispose(self) -> None:
        self.engine.dispose()


# A connection that sat in the pool may have been closed by the database (a restart, an idle
# timeout): it is pinged before use. One used a moment ago is not - a ping per checkout is a
# round trip per request, a sixth of an ingest batch's time. Should it have died all the same,
# the error invalidates the pool and the next checkout connects anew.
IDLE_BEFORE_PING = 1.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while an ingest writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
