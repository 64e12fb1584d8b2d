"""``define``: load a code location - import the library and the module, build ``Definitions``.

For N = 1,000 / 10,000 / 100,000 assets as a chain, a fan and a layered DAG (see
:mod:`bench.shapes`), each measurement in a fresh process (``bench/drivers/define.py`` says
exactly what is timed on each side). Figures: seconds, the library import alone, and the
process's peak resident memory.
"""

from __future__ import annotations

import functools

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import module_args, prepare_modules, run_driver, sdk_unavailable

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)

DAGSTER_MAX_N = {Shape.CHAIN: 1_000, Shape.FAN: 10_000, Shape.LAYERED: 10_000}
"""Largest N measured on Dagster. Its implicit asset job walks the graph recursively, so a
chain deeper than ~1,000 raises ``RecursionError`` with Python's default recursion limit;
fans and layered DAGs take ~20 s at 10,000 and grow faster than linearly."""

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
        cases = []
        for shape in Shape:
            for n in QUICK_SIZES if settings.quick else SIZES:
                heavy = n >= HEAVY_N
                default_reps = 2 if settings.quick else 3 if heavy else 5
                skip = {}
                if n > DAGSTER_MAX_N[shape]:
                    skip["dagster"] = f"skipped: N > {DAGSTER_MAX_N[shape]:,}"
                cases.append(
                    Case(
                        label=f"{shape.value} N={n:,}",
                        params={"shape": shape.value, "n": n},
                        measure=functools.partial(_measure, shape, n),
                        reps=settings.reps or default_reps,
                        warmup=0 if settings.quick or heavy else 1,
                        timeout_s={"tessera": 300.0, "dagster": 30.0 if settings.quick else 120.0},
                        skip=skip,
                        prepare=functools.partial(prepare_modules, shape, n),
                        series=shape.value,
                        size=n,
                    )
                )
        return cases


def _measure(shape: Shape, n: int, side: Side, timeout_s: float) -> dict[str, float]:
    return run_driver(side, "define", module_args(shape, n, side), timeout_s)
