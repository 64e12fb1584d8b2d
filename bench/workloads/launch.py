"""``launch``: a 1-asset run launched through the server, from the launch call to ``SUCCESS``.

Each side keeps one deployment up for the whole case - a code location process, what
launches runs, a PostgreSQL database of its own - in one session driver
(``bench/drivers/launch_{side}.py`` say exactly what is timed). Each round launches one run
on Tessera, then one on Dagster (A B A B); a sample is one run. Figures in milliseconds:
the median (p50), min, max and p95 over the runs, and the launch call alone.
"""

from __future__ import annotations

import functools

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import MODULES_DIR, module_name, prepare_modules
from bench.workloads._server import ServerSessions, postgres_skip, server_unavailable

RUNS, QUICK_RUNS = 50, 10
WARMUP, QUICK_WARMUP = 2, 1
SETTLE_S = 0.25
"""Pause before each launch (not timed): the previous run's worker process may still be
exiting, and each launch should start on a quiet machine, on both sides alike."""

SHAPE, N = Shape.CHAIN, 1
"""The module: one trivial asset ``a0`` returning 1, from the same template as the others."""


class Launch(Workload):
    name = "launch"
    summary = "1-asset run, launch call until SUCCESS, server + code server on PostgreSQL (ms)"
    columns = (
        Column("seconds", "p95", 1, stat="p95", scale=1000),
        Column("call_s", "call", 1, scale=1000),
    )
    unit = "ms"

    def __init__(self) -> None:
        self._sessions: ServerSessions | None = None

    def unavailable(self, side: Side) -> str | None:
        return server_unavailable(side, dagster=None)

    def cases(self, settings: Settings) -> list[Case]:
        self._sessions = ServerSessions(
            self.name,
            {"tessera": "launch_tessera", "dagster": "launch_dagster"},
            self._driver_args,
            start_timeout_s=300.0,
        )
        reps = settings.reps or (QUICK_RUNS if settings.quick else RUNS)
        return [
            Case(
                label="1 asset, PostgreSQL",
                params={"assets": N, "runs": reps, "settle_ms": round(SETTLE_S * 1000)},
                measure=functools.partial(self._sessions.request, "launch"),
                reps=reps,
                warmup=QUICK_WARMUP if settings.quick else WARMUP,
                timeout_s={"tessera": 120.0, "dagster": 120.0},
                skip=postgres_skip(),
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
        return ["--dir", str(MODULES_DIR), "--module", module, "--settle", str(SETTLE_S)]
