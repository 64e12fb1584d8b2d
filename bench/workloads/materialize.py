"""``materialize``: one in-process ``materialize(ASSETS)`` of N trivial assets.

For N = 100 / 1,000 as a chain and a fan (see :mod:`bench.shapes`), each measurement in a fresh
process (``bench/drivers/materialize.py``): only the call is timed, with each side's default
instance and IO manager. Figures: seconds, milliseconds per asset, peak resident memory.
"""

from __future__ import annotations

import functools

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import module_args, prepare_modules, run_driver, sdk_unavailable

SIZES = (100, 1_000)
QUICK_SIZES = (100,)
SHAPES = (Shape.CHAIN, Shape.FAN)

HEAVY_N = 1_000
"""Dagster takes ~37 s for 1,000 assets: from this N on, 3 repetitions and no warm-up."""


class Materialize(Workload):
    name = "materialize"
    summary = "materialize(ASSETS) in process, N trivial assets (seconds)"
    columns = (Column("ms_per_asset", "ms/asset"), Column("peak_rss_mb", "RSS MB", 0))

    def unavailable(self, side: Side) -> str | None:
        return sdk_unavailable(side)

    def cases(self, settings: Settings) -> list[Case]:
        cases = []
        for shape in SHAPES:
            for n in QUICK_SIZES if settings.quick else SIZES:
                heavy = n >= HEAVY_N
                default_reps = 2 if settings.quick else 3 if heavy else 5
                cases.append(
                    Case(
                        label=f"{shape.value} N={n:,}",
                        params={"shape": shape.value, "n": n},
                        measure=functools.partial(_measure, shape, n),
                        reps=settings.reps or default_reps,
                        warmup=0 if settings.quick or heavy else 1,
                        timeout_s={"tessera": 300.0, "dagster": 30.0 if settings.quick else 180.0},
                        prepare=functools.partial(prepare_modules, shape, n),
                        series=shape.value,
                        size=n,
                    )
                )
        return cases


def _measure(shape: Shape, n: int, side: Side, timeout_s: float) -> dict[str, float]:
    return run_driver(side, "materialize", module_args(shape, n, side), timeout_s)
