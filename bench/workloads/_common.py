"""Helpers the workloads share: running a driver script, and cases over generated modules."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.model import Case, MeasurementError, MeasurementTimeout, Sample, Settings, Side
from bench.shapes import Shape, module_source, write_module
from bench.sides import WORK_DIR

DRIVERS_DIR = Path(__file__).resolve().parent.parent / "drivers"
MODULES_DIR = WORK_DIR / "modules"
SDK_NAMES = ("Definitions", "asset")
"""What a generated module imports: the import line is the one difference between sides."""


def run_driver(side: Side, driver: str, args: Sequence[str], timeout_s: float) -> Sample:
    """Run ``bench/drivers/DRIVER.py`` in a fresh process of ``side`` and parse its JSON line.

    The driver runs in its own process group, so that a timeout also ends the processes it
    started (a code server, say) instead of leaving them to load the machine.
    """
    argv = [str(side.python), str(DRIVERS_DIR / f"{driver}.py"), "--side", side.name, *args]
    with subprocess.Popen(
        argv,
        env=dict(side.env),
        cwd=WORK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise MeasurementTimeout(timeout_s) from exc
    if process.returncode != 0:
        raise MeasurementError(_last_error_line(stderr) or f"exit {process.returncode}")
    try:
        sample = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise MeasurementError(f"no JSON line from {driver}: {stdout[-200:]!r}") from exc
    return {key: float(value) for key, value in sample.items()}


def _last_error_line(stderr: str) -> str:
    """The exception line of a traceback (its last line that does not start with a space)."""
    lines = [line for line in stderr.strip().splitlines() if line and not line[0].isspace()]
    return lines[-1][:300] if lines else ""


def module_case(
    driver: str,
    shape: Shape,
    n: int,
    settings: Settings,
    *,
    heavy: bool,
    timeout_s: Mapping[str, float],
    skip: Mapping[str, str] | None = None,
) -> Case:
    """A case that runs ``bench/drivers/DRIVER.py`` on the generated module of ``shape`` and N.

    ``DRIVER`` may contain ``{side}`` for a driver per side. Repetitions: 5 after 1 warm-up;
    ``heavy`` cases 3 without warm-up (their modules are precompiled anyway); ``--quick`` 2
    without warm-up; ``--reps`` overrides the count.
    """
    return Case(
        label=f"{shape.value} N={n:,}",
        params={"shape": shape.value, "n": n},
        measure=functools.partial(_measure_module, driver, shape, n),
        reps=settings.reps or (2 if settings.quick else 3 if heavy else 5),
        warmup=0 if settings.quick or heavy else 1,
        timeout_s=timeout_s,
        skip=skip or {},
        prepare=functools.partial(prepare_modules, shape, n),
        series=shape.value,
        size=n,
    )


def _measure_module(driver: str, shape: Shape, n: int, side: Side, timeout_s: float) -> Sample:
    args = ["--dir", str(MODULES_DIR), "--module", module_name(shape, n, side)]
    sample = run_driver(side, driver.format(side=side.name), args, timeout_s)
    if sample.get("assets") != n:
        # A figure for fewer assets than asked for would flatter that side.
        raise MeasurementError(f"saw {sample.get('assets', 0):.0f} assets, expected {n}")
    return sample


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


def sdk_unavailable(side: Side) -> str | None:
    """``None`` when the side's SDK imports ``asset``, ``Definitions`` and ``materialize``."""
    if side.sdk_error is None:
        return None
    return f"{side.library} does not import yet ({side.sdk_error})"


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
