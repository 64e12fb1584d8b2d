"""The Dagster virtual environment, ``bench/.venv-dagster`` (git-ignored).

It is made from the same base interpreter as the one running the benchmark, so both sides run
the same Python, and it holds what ``requirements-dagster.txt`` pins. ``python -m bench setup``
makes or updates it; ``python -m bench run`` does that too when it is missing or stale.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENV_DIR = BENCH_DIR / ".venv-dagster"
REQUIREMENTS = BENCH_DIR / "requirements-dagster.txt"
_STAMP = VENV_DIR / "bench-requirements.txt"
"""A copy of the requirements the venv was last set up with."""


class SetupError(Exception):
    """The Dagster venv could not be made (no network, a failed install, ...)."""


def python() -> Path:
    """The Dagster venv's interpreter (it may not exist yet)."""
    return VENV_DIR / "bin" / "python"


def is_ready() -> bool:
    """Whether the venv exists and was set up from the current requirements file."""
    return python().exists() and _STAMP.exists() and _STAMP.read_text() == REQUIREMENTS.read_text()


def setup(*, force: bool = False) -> None:
    """Create the venv if needed and install the requirements into it.

    Progress goes to stderr. Raises :class:`SetupError` when a step fails.
    """
    if is_ready() and not force:
        print(f"Dagster venv is up to date: {VENV_DIR}", file=sys.stderr)
        return
    if not python().exists():
        print(f"creating {VENV_DIR}", file=sys.stderr)
        _check([sys.executable, "-m", "venv", str(VENV_DIR)])
    print(f"installing {REQUIREMENTS.name} into {VENV_DIR}", file=sys.stderr)
    _check([str(python()), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)])
    _STAMP.write_text(REQUIREMENTS.read_text())


def _check(argv: list[str]) -> None:
    # stdout goes to our stderr so that the table on stdout stays clean.
    completed = subprocess.run(argv, stdout=sys.stderr, check=False)
    if completed.returncode != 0:
        raise SetupError(f"{' '.join(argv)} exited with {completed.returncode}")
