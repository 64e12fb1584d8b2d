"""The two sides: Tessera (the project's interpreter) and Dagster (``bench/.venv-dagster``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import dagster_env
from bench.model import Side

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = REPO_ROOT / "bench" / ".work"
"""Generated modules and scratch state (git-ignored)."""

_PROBE = """
import json, platform
info = {"python": platform.python_version()}
try:
    import {library} as library
    from {library} import Definitions, asset, materialize
    info["version"] = str(getattr(library, "__version__", "unknown"))
except Exception as exc:
    info["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(info))
"""


def _base_env() -> dict[str, str]:
    """The runner's environment, less what would leak into a side: the runner's own venv, and
    settings of either system (``TESSERA_STORAGE`` would move where values are stored)."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("TESSERA_", "DAGSTER_"))
    }


def _probe(name: str, library: str, python: Path, env: dict[str, str]) -> Side:
    source = _PROBE.replace("{library}", library)
    completed = subprocess.run(
        [str(python), "-c", source],
        env=env,
        cwd=WORK_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        info: dict[str, str] = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        info = {"error": f"{python} did not start: {tail}"}
    error = info.pop("error", None)
    return Side(name=name, library=library, python=python, env=env, info=info, sdk_error=error)


def tessera() -> Side:
    """Tessera, run by the interpreter running this benchmark, with the repository importable."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    env = _base_env() | {"PYTHONPATH": str(REPO_ROOT)}
    return _probe("tessera", "codeloc", Path(sys.executable), env)


def dagster() -> Side:
    """Dagster, run by ``bench/.venv-dagster`` (which must exist) with its own ``DAGSTER_HOME``."""
    home = WORK_DIR / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    env = _base_env() | {"DAGSTER_HOME": str(home)}
    return _probe("dagster", "dagster", dagster_env.python(), env)
