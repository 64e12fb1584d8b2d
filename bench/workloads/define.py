"""``define``: load a code location - import the library and the module, build ``Definitions``.

For N = 1,000 / 10,000 / 100,000 assets as a chain, a fan and a layered DAG (see
:mod:`bench.shapes`), each measurement in a fresh process (``bench/drivers/define.py`` says
exactly what is timed on each side). Figures: seconds, the library import alone, and the
process's peak resident memory.
"""

from __future__ import annotations

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import module_case, sdk_unavailable

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)

DAGSTER_MAX_N = {Shape.CHAIN: 1_000, Shape.FAN: 10_000, Shape.LAYERED: 10_000}
"""Largest N measured on Dagster, to keep the full run within its budget. Dagster builds its
asset job by walking the graph recursively: a chain's cost grows with the square of its depth
(5,000 deep took 55 s here) and past ~5,000 it exceeds even the drivers' raised recursion limit.
Fans and layered DAGs take ~20 s at 10,000 and grow faster than linearly."""

HEAVY_N = 10_000
"""From this N on, a case runs 3 repetitions and no warm-up (modules are precompiled anyway)
so that the full run stays within its time budget."""


class Define(Workload):
    name = "define"
    summary = "import + build Definitions for N assets, fresh process (seconds)"
    columns = (Column("lib_s", "lib s"), Column("peak_rss_mb", "RSS MB", 0))

    def unavailable(self, side: Side) -> str | None:
        return sdk_unavailable(side)

    def cases(self, settings: Settings) -> list[Case]:
        dagster_timeout = 30.0 if settings.quick else 120.0
        return [
            module_case(
                "define",
                shape,
                n,
                settings,
                heavy=n >= HEAVY_N,
                timeout_s={"tessera": 300.0, "dagster": dagster_timeout},
                skip=_dagster_cap(shape, n),
            )
            for shape in Shape
            for n in (QUICK_SIZES if settings.quick else SIZES)
        ]


def _dagster_cap(shape: Shape, n: int) -> dict[str, str]:
    cap = DAGSTER_MAX_N[shape]
    return {"dagster": f"skipped: N > {cap:,}"} if n > cap else {}
