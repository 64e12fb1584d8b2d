"""``snapshot``: a code-location process with N assets - start to health, full snapshot, bytes.

One layered DAG (see :mod:`bench.shapes`) of N = 10,000 / 100,000 assets served by a
code-location process started afresh for every measurement. Figures: seconds to fetch the full
snapshot once the process is healthy (the table's median/min/max), seconds from process start to
healthy (``start s``), and megabytes received.

Dagster: ``dagster api grpc`` and Dagster's own gRPC client; Tessera: ``tessera codeloc`` and the
generated client of ``protos/`` (``bench/drivers/snapshot_*.py`` say exactly which calls). The
Tessera side runs once ``tessera codeloc --help`` does.
"""

from __future__ import annotations

import dataclasses

from bench.model import Case, Column, Settings, Side, Workload
from bench.shapes import Shape
from bench.workloads._common import module_case, sdk_unavailable, tessera_command_exists

SHAPE = Shape.LAYERED
SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000,)
DAGSTER_MAX_N = 10_000
"""Dagster's server takes ~20 s to load 10,000 assets and grows faster than linearly."""


class Snapshot(Workload):
    name = "snapshot"
    summary = "code-location process with N assets: fetch full snapshot (seconds), start, MB"
    columns = (Column("start_s", "start s"), Column("mb", "MB", 3))

    def unavailable(self, side: Side) -> str | None:
        if side.name == "tessera" and not tessera_command_exists(side, "codeloc"):
            return "not built yet (needs `tessera codeloc`)"
        return sdk_unavailable(side)

    def cases(self, settings: Settings) -> list[Case]:
        timeout = 60.0 if settings.quick else 300.0
        cases = []
        for n in QUICK_SIZES if settings.quick else SIZES:
            skip = {"dagster": f"skipped: N > {DAGSTER_MAX_N:,}"} if n > DAGSTER_MAX_N else {}
            if settings.quick:
                # Dagster's server takes ~13 s a round, a quarter of the quick budget.
                skip = {"dagster": "skipped: --quick (full run only)"}
            case = module_case(
                "snapshot_{side}",
                SHAPE,
                n,
                settings,
                heavy=True,
                timeout_s={"tessera": timeout, "dagster": timeout},
                skip=skip,
            )
            if settings.quick and settings.reps is None:
                case = dataclasses.replace(case, reps=1)
            cases.append(case)
        return cases
