"""The server uses only the pure parts of the SDK: importing it loads no engine, no user code.

``.importlinter`` states the same contracts statically (``lint-imports`` runs in CI); this
test checks what Python really loads, which static analysis cannot see (a package's
``__init__`` runs whenever one of its modules is imported).
"""

from __future__ import annotations

import json
import subprocess
import sys

# What executes assets or serves a code location: never loaded by the central server.
EXECUTING = (
    "codeloc.engine",
    "codeloc.grpc.server",
    "codeloc.grpc.worker",
    "codeloc.grpc.forkserver",
    "codeloc.grpc._location",
    "codeloc.grpc._forks",
)


def _modules_loaded_by(statement: str) -> list[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded: list[str] = json.loads(out.strip().splitlines()[-1])
    return loaded


def test_the_server_app_loads_no_executing_part_of_the_sdk() -> None:
    loaded = _modules_loaded_by("import server.api.app")
    assert "server.api.app" in loaded
    assert "codeloc._runs" in loaded  # it does use the pure run vocabulary
    executing = [m for m in loaded if m.startswith(EXECUTING)]
    assert executing == []


def test_the_command_line_loads_no_engine_until_a_command_needs_it() -> None:
    loaded = _modules_loaded_by("import server.cli")
    assert [m for m in loaded if m.startswith(EXECUTING)] == []


def test_the_sdk_still_exports_the_engine_names() -> None:
    loaded = _modules_loaded_by(
        "from codeloc import materialize, AssetExecutionContext, build_asset_context"
    )
    assert "codeloc.engine._materialize" in loaded
