"""``catalog``: the REST catalog of 10 locations x 10,000 assets and 1,000,000 materializations.

Tessera only. One session driver (``bench/drivers/catalog_tessera.py`` says exactly what is set
up and timed) keeps the deployment up for every case: the code-location processes, the server,
a PostgreSQL database of its own. Each case is one kind of request (or the merged-graph
rebuild), each sample one request. Figures in milliseconds: median (p50), min, max, p95.

Dagster is not measured: its GraphQL asset catalog answers the same questions, but loading
100,000 assets is far past what it can load here (10,000 assets take its code server ~26 s to
load, and its asset job build grows faster than linearly, see ``define`` and ``snapshot``).
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import catalog_modules
from bench.model import Case, Column, MeasurementError, Settings, Side, Workload
from bench.shapes import write_module
from bench.workloads._common import MODULES_DIR
from bench.workloads._server import ServerSessions, postgres_skip, server_unavailable

LOCATIONS, ASSETS, MATERIALIZATIONS = 10, 10_000, 1_000_000
QUICK_LOCATIONS, QUICK_ASSETS, QUICK_MATERIALIZATIONS = 2, 1_000, 10_000


@dataclass(frozen=True)
class Request:
    command: str
    label: str
    reps: int
    quick_reps: int
    warmup: int


REQUESTS = (
    Request("assets_page", "GET /assets?limit=100", 200, 50, 5),
    Request("asset", "GET /assets/{key}", 500, 100, 5),
    Request("materializations", "GET /assets/{key}/materializations?limit=50", 200, 50, 5),
    Request("graph", "GET /asset-graph", 5, 3, 1),
    Request("merge", "MergedGraph(all snapshots), in process", 5, 3, 1),
    Request("restart", "location restarted: SERVING -> new key served", 3, 2, 0),
    Request("after_materialization", "GET /assets/{key} after a new materialization", 5, 3, 0),
    Request("graph_after_materialization", "GET /asset-graph after a new materialization", 5, 3, 0),
)


class Catalog(Workload):
    name = "catalog"
    summary = "REST catalog, L locations x N assets, M materializations, one request (ms)"
    columns = (Column("seconds", "p95", 1, stat="p95", scale=1000), Column("mb", "MB", 3))
    unit = "ms"

    def __init__(self) -> None:
        self._sessions: ServerSessions | None = None
        self._sizes = (LOCATIONS, ASSETS, MATERIALIZATIONS)

    def unavailable(self, side: Side) -> str | None:
        return server_unavailable(side, dagster="n/a (over the cap)")

    def cases(self, settings: Settings) -> list[Case]:
        self._sizes = (
            (QUICK_LOCATIONS, QUICK_ASSETS, QUICK_MATERIALIZATIONS)
            if settings.quick
            else (LOCATIONS, ASSETS, MATERIALIZATIONS)
        )
        locations, assets, materializations = self._sizes
        self._sessions = ServerSessions(
            self.name,
            {"tessera": "catalog_tessera"},
            self._driver_args,
            start_timeout_s=1800.0,
        )
        params = {"locations": locations, "assets": locations * assets}
        params["materializations"] = materializations
        cases = []
        for index, request in enumerate(REQUESTS):
            cases.append(
                Case(
                    label=request.label,
                    params=params | {"request": request.command},
                    measure=functools.partial(self._sessions.request, request.command),
                    reps=settings.reps or (request.quick_reps if settings.quick else request.reps),
                    warmup=request.warmup,
                    timeout_s={"tessera": 600.0},
                    skip=postgres_skip(["tessera"]),
                    prepare=self._prepare if index == 0 else None,
                )
            )
        return cases

    def _prepare(self, sides: Sequence[Side]) -> None:
        """Write and compile the location modules (not timed)."""
        locations, assets, _ = self._sizes
        for side in sides:
            paths = []
            for index in range(locations):
                source = catalog_modules.module_source(index, locations, assets)
                name = catalog_modules.module_name(locations, assets, index)
                paths.append(str(write_module(MODULES_DIR, name, source)))
            completed = subprocess.run(
                [str(side.python), "-m", "py_compile", *paths],
                env=dict(side.env),
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                raise MeasurementError(f"cannot compile the catalog modules: {completed.stderr}")

    def close(self) -> None:
        if self._sessions is not None:
            self._sessions.close()

    def details(self) -> dict[str, object]:
        return {"setup": self._sessions.ready()} if self._sessions is not None else {}

    def footnotes(self) -> list[str]:
        setup: dict[str, Any] = {}
        if self._sessions is not None:
            setup = self._sessions.ready().get("tessera", {})
        if not setup:
            return []
        return [
            f"setup (tessera, not timed above): {setup['locations']} locations serving "
            f"{setup['assets']:,} assets in {setup['locations_serving_s']:.1f} s "
            f"(meanwhile {setup['materializations']:,} materializations loaded in "
            f"{setup['load_materializations_s']:.1f} s); server loaded them in "
            f"{setup['server_loaded_s']:.1f} s; its first /assets request took "
            f"{setup['first_request_s'] * 1000:,.0f} ms"
        ]

    def _driver_args(self, side: Side) -> list[str]:
        locations, assets, materializations = self._sizes
        return [
            "--dir", str(MODULES_DIR),
            "--locations", str(locations),
            "--assets", str(assets),
            "--materializations", str(materializations),
        ]  # fmt: skip
