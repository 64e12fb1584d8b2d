"""Helpers the workloads share: running a driver script, and the generated asset modules."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.model import MeasurementError, MeasurementTimeout, Sample, Side
from bench.shapes import Shape, module_source, write_module
from bench.sides import WORK_DIR

DRIVERS_DIR = Path(__file__).resolve().parent.parent / "drivers"
MODULES_DIR = WORK_DIR / "modules"
SDK_NAMES = ("Definitions", "asset")
"""What a generated module imports: the import line is the one difference between sides."""


def run_driver(side: Side, driver: str, args: Sequence[str], timeout_s: float) -> Sample:
    """Run ``bench/drivers/DRIVER.py`` in a fresh process of ``side`` and parse its JSON line."""
    argv = [str(side.python), str(DRIVERS_DIR / f"{driver}.py"), "--side", side.name, *args]
    try:
        completed = subprocess.run(
            argv,
            env=dict(side.env),
            cwd=WORK_DIR,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MeasurementTimeout(timeout_s) from exc
    if completed.returncode != 0:
        raise MeasurementError(_last_error_line(completed.stderr) or f"exit {completed.returncode}")
    try:
        sample = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise MeasurementError(f"no JSON line from {driver}: {completed.stdout[-200:]!r}") from exc
    return {key: float(value) for key, value in sample.items()}


def _last_error_line(stderr: str) -> str:
    """The exception line of a traceback (its last line that does not start with a space)."""
    lines = [line for line in stderr.strip().splitlines() if line and not line[0].isspace()]
    return lines[-1][:300] if lines else ""


def module_name(shape: Shape, n: int, side: Side) -> str:
    return f"{shape.value}_{n}_{side.name}"


def prepare_modules(shape: Shape, n: int, sides: Sequence[Side]) -> None:
    """Write the module for each side and compile it with that side's interpreter.

    Compiling here, outside the timed region, means every measured import reads the
    ``__pycache__`` entry, as a code server does once its image or venv is warm.
    """
    for side in sides:
        source = module_source(shape, n, side.import_line(*SDK_NAMES))
        path = write_module(MODULES_DIR, module_name(shape, n, side), source)
        completed = subprocess.run(
            [str(side.python), "-m", "py_compile", str(path)],
            env=dict(side.env),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise MeasurementError(f"cannot compile {path}: {completed.stderr[-300:]}")


def module_args(shape: Shape, n: int, side: Side) -> list[str]:
    """The driver arguments that point at the generated module."""
    return ["--dir", str(MODULES_DIR), "--module", module_name(shape, n, side)]


def sdk_unavailable(side: Side) -> str | None:
    """``None`` when the side's SDK imports ``asset``, ``Definitions`` and ``materialize``."""
    if side.sdk_error is None:
        return None
    return f"{side.library} does not import yet ({side.sdk_error})"
