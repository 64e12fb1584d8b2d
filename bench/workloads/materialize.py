"""``materialize``: one in-process ``materialize(ASSETS)`` of N trivial assets.

For N = 100 / 1,000 as a chain and a fan (see :mod:`bench.shapes`), each measurement in a fresh
process (``bench/drivers/materialize.py``): only the call is timed, with each side's default
instance and IO manager. Figures: seconds, milliseconds per asset, peak resident memory.
"""

from __future__ import annotations

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import module_case, sdk_unavailable

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
        dagster_timeout = 30.0 if settings.quick else 180.0
        return [
            module_case(
                "materialize",
                shape,
                n,
                settings,
                heavy=n >= HEAVY_N,
                timeout_s={"tessera": 300.0, "dagster": dagster_timeout},
            )
            for shape in SHAPES
            for n in (QUICK_SIZES if settings.quick else SIZES)
        ]
