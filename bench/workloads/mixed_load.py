"""``mixed_load``: 50 readers of ``GET /assets`` while 200 runs are launched at once.

Tessera only (a stress of the server, with no Dagster equivalent run here). One session
driver (``bench/drivers/mixed_load_tessera.py`` says exactly what is set up and timed) keeps
the deployment up for every round: a code location process, the server, a PostgreSQL
database of its own. A sample is one round; the table's median/min/max is the read p99 of
the rounds, the columns the medians of the other figures.
"""

from __future__ import annotations

import functools

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import MODULES_DIR, module_name, prepare_modules
from bench.workloads._server import ServerSessions, postgres_skip, server_unavailable

READERS, LAUNCHES = 50, 200
ROUNDS, QUICK_ROUNDS = 3, 1
SHAPE, N = Shape.CHAIN, 100
"""The module: a chain of 100 assets; every launch materializes ``a0``, the first."""


class MixedLoad(Workload):
    name = "mixed_load"
    summary = "50 readers of GET /assets during 200 simultaneous POST /runs: read p99 (ms)"
    columns = (
        Column("read_p50_s", "read p50", 1, scale=1000),
        Column("launch_p50_s", "launch p50", 1, scale=1000),
        Column("launch_p99_s", "launch p99", 1, scale=1000),
        Column("health_p99_s", "health p99", 1, scale=1000),
        Column("errors", "errors", 0),
        Column("round_s", "round s", 1),
    )
    unit = "ms"

    def __init__(self) -> None:
        self._sessions: ServerSessions | None = None

    def unavailable(self, side: Side) -> str | None:
        return server_unavailable(side, dagster="n/a (Tessera's server under load)")

    def cases(self, settings: Settings) -> list[Case]:
        self._sessions = ServerSessions(
            self.name, {"tessera": "mixed_load_tessera"}, self._driver_args, start_timeout_s=300.0
        )
        reps = settings.reps or (QUICK_ROUNDS if settings.quick else ROUNDS)
        return [
            Case(
                label=f"{READERS} readers + {LAUNCHES} launches, PostgreSQL",
                params={"readers": READERS, "launches": LAUNCHES, "assets": N},
                measure=functools.partial(self._sessions.request, "round"),
                reps=reps,
                warmup=0,
                timeout_s={"tessera": 600.0},
                skip=postgres_skip(("tessera",)),
                prepare=functools.partial(prepare_modules, SHAPE, N),
            )
        ]

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.close()

    def details(self) -> dict[str, object]:
        return {"setup": self._sessions.ready()} if self._sessions is not None else {}

    @staticmethod
    def _driver_args(side: Side) -> list[str]:
        module = module_name(SHAPE, N, side)
        return [
            *("--dir", str(MODULES_DIR), "--module", module),
            *("--readers", str(READERS), "--launches", str(LAUNCHES)),
        ]
