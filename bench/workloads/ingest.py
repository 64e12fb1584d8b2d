"""``ingest``: events per second that the server stores in PostgreSQL from concurrent workers.

Tessera only: Dagster's run workers write their events to the database themselves, so it has
no ingest endpoint to compare with. One session driver (``bench/drivers/ingest_tessera.py``
says exactly what is timed) keeps a ``tessera server`` on a database of its own; each
measurement creates fresh runs and has 8 worker processes POST batches of events to it as
fast as they can, then checks with SQL that every event was stored exactly once. Figures:
seconds for all the events, and events per second.
"""

from __future__ import annotations

import functools

from bench.model import Case, Column, Settings, Side, Workload
from bench.workloads._server import ServerSessions, postgres_skip, server_unavailable

WORKERS = 8
EVENTS_PER_WORKER, QUICK_EVENTS_PER_WORKER = 25_000, 2_500
RUNS_PER_WORKER = 5
BATCH = 100
MATERIALIZATION_EVERY = 10
"""One event in ten is an ASSET_MATERIALIZATION (with metadata), the others LOG events."""


class Ingest(Workload):
    name = "ingest"
    summary = "events stored in PostgreSQL via the ingest endpoint, 8 concurrent workers (seconds)"
    columns = (
        Column("events_per_s", "events/s", 0),
        Column("batch_ms", "ms/batch", 1),
    )

    def __init__(self) -> None:
        self._sessions: ServerSessions | None = None
        self._events_per_worker = EVENTS_PER_WORKER

    def unavailable(self, side: Side) -> str | None:
        # Dagster's run workers write their events to the database themselves.
        return server_unavailable(side, dagster="n/a (no Dagster equivalent)")

    def cases(self, settings: Settings) -> list[Case]:
        self._events_per_worker = QUICK_EVENTS_PER_WORKER if settings.quick else EVENTS_PER_WORKER
        self._sessions = ServerSessions(
            self.name, {"tessera": "ingest_tessera"}, self._driver_args, start_timeout_s=300.0
        )
        events = WORKERS * self._events_per_worker
        return [
            Case(
                label=f"{WORKERS} workers x {self._events_per_worker:,} events",
                params={
                    "workers": WORKERS,
                    "events": events,
                    "runs": WORKERS * RUNS_PER_WORKER,
                    "batch": BATCH,
                    "materialization_every": MATERIALIZATION_EVERY,
                },
                measure=functools.partial(self._sessions.request, "ingest"),
                reps=settings.reps or (2 if settings.quick else 3),
                warmup=0 if settings.quick else 1,
                timeout_s={"tessera": 900.0},
                skip=postgres_skip(["tessera"]),
            )
        ]

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.close()

    def details(self) -> dict[str, object]:
        return {"setup": self._sessions.ready()} if self._sessions is not None else {}

    def _driver_args(self, side: Side) -> list[str]:
        return [
            "--workers", str(WORKERS),
            "--events-per-worker", str(self._events_per_worker),
            "--runs-per-worker", str(RUNS_PER_WORKER),
            "--batch", str(BATCH),
            "--materialization-every", str(MATERIALIZATION_EVERY),
        ]  # fmt: skip
