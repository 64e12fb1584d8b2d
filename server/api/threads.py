"""The blocking work of requests, sent to threads no more at once than there are connections.

The routes are coroutines; what they do with the database (or with a location over gRPC)
blocks, so it runs in a thread. Not in the threads FastAPI runs plain functions in: those are
40 (anyio's default), the pool has fewer connections, and a request that had finished its
queries waited for one of those threads to check its answer while holding its connection;
under 50 readers and 200 launches every thread waited for a connection held that way, until
the pool's 30 s timeout ("QueuePool limit") failed them, and ``/health``, a plain function
too, waited behind them. Here a request waits for a thread of its own limiter, sized to the
connections the API may use, holding nothing; the thread takes one connection, does the
request's unit of work and gives it back before the answer is checked.

A read whose connection turns out dead (the database restarted, ``pg_terminate_backend``) is
tried once more on a fresh connection: it changed nothing. A write is not (its commit may
have happened): the error becomes a 503 with ``Retry-After`` (``server.api.problems``), and
a client retries with its ``Idempotency-Key``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from server.storage.db import Database

__all__ = ["DatabaseThreads"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseThreads:
    """At most ``threads`` requests at work on ``database`` at once; the others wait.

    Writes (launches, cancels, a run's events) have a third of the threads, reads the
    rest: 200 launches sent at once queue among themselves, and the catalog's readers go on
    being answered meanwhile (under the GIL a thread's share of the CPU is its share of the
    runnable threads, so the burst takes a third of it, not all).
    """

    def __init__(self, database: Database, threads: int) -> None:
        self.database = database
        writes = max(1, threads // 3)
        self.writes = CapacityLimiter(writes)
        self.reads = CapacityLimiter(max(1, threads - writes))

    async def read(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(session, …)`` in one transaction, tried again once on a dead connection."""

        def work() -> T:
            with self.database.transaction() as session:
                return fn(session, *args, **kwargs)

        return await anyio.to_thread.run_sync(
            functools.partial(_retry_once, work), limiter=self.reads
        )

    async def read_alone(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(…)``, a read that opens its own transaction, among the reads."""
        work = functools.partial(_retry_once, functools.partial(fn, *args, **kwargs))
        return await anyio.to_thread.run_sync(work, limiter=self.reads)

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(…)``, which opens its own transactions (one at a time)."""
        work = functools.partial(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(work, limiter=self.writes)

    async def write_idempotent(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(…)`` as :meth:`write`, for work that may be done twice (ingest, by seq):
        tried again once on a dead connection."""
        work = functools.partial(_retry_once, functools.partial(fn, *args, **kwargs))
        return await anyio.to_thread.run_sync(work, limiter=self.writes)


def _retry_once(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # The pool has dropped the dead connection, and every other checked out before it.
        log.warning("a database connection was lost; trying again: %s", exc.orig)
    return fn()
