"""Workloads whose Tessera capability is still being built: each says "not built yet".

Each probes for the capability it needs (the documented ``tessera`` command line), so that the
message tells whether the capability or only its benchmark is missing. To build one, replace
its entry here with a module like :mod:`bench.workloads.define`.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from bench.model import Case, Settings, Side, Workload
from bench.sides import WORK_DIR

_CLI = "import sys; from server.cli import main; sys.argv[0] = 'tessera'; sys.exit(main())"


def tessera_command_exists(side: Side, command: str) -> bool:
    """Whether ``tessera COMMAND --help`` runs on ``side`` (the capability is there)."""
    return _command_exists(side.python, tuple(sorted(side.env.items())), command)


@functools.cache
def _command_exists(python: Path, env: tuple[tuple[str, str], ...], command: str) -> bool:
    try:
        completed = subprocess.run(
            [str(python), "-c", _CLI, command, "--help"],
            env=dict(env),
            cwd=WORK_DIR,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return completed.returncode == 0


class Pending(Workload):
    """A registered workload without measurements yet."""

    needs: str
    """The ``tessera`` subcommand the Tessera side needs."""

    def unavailable(self, side: Side) -> str | None:
        if side.name != "tessera":
            return "not built yet (the Dagster side waits for the Tessera side)"
        if tessera_command_exists(side, self.needs):
            return f"not built yet (`tessera {self.needs}` exists; the benchmark does not)"
        return f"not built yet (needs `tessera {self.needs}`)"

    def cases(self, settings: Settings) -> list[Case]:
        return []


class Launch(Pending):
    name = "launch"
    summary = "1-asset run launched through the server until SUCCESS, p50/p95 over 50 runs"
    needs = "server"


class Ingest(Pending):
    name = "ingest"
    summary = "events per second stored in PostgreSQL from concurrent run workers"
    needs = "server"


class Catalog(Pending):
    name = "catalog"
    summary = "GET /api/v1/assets pages and /assets/{key}, 10 locations x 10,000 assets, p50/p95"
    needs = "server"
