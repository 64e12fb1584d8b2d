"""The command line: ``python -m bench run|list|setup|compare``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import dagster_env, report, sides
from bench.model import Settings, Side, WorkloadResult
from bench.runner import run_workload
from bench.workloads import WORKLOADS

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_JSON = RESULTS_DIR / "latest.json"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"run": _run, "list": _list, "setup": _setup, "compare": _compare}[args.command]
    return handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Tessera and Dagster side by side (see bench/README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run workloads on Tessera and Dagster, print a table")
    run.add_argument("names", nargs="*", metavar="NAME", help="workloads to run (default: all)")
    run.add_argument("--quick", action="store_true", help="small sizes, 2 reps: under a minute")
    run.add_argument("--reps", type=int, help="repetitions per case (default: per case, 3-5)")
    run.add_argument("--tessera-only", action="store_true", help="skip Dagster (and its setup)")
    run.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default: {DEFAULT_JSON}")

    commands.add_parser("list", help="list the workloads")
    setup = commands.add_parser("setup", help=f"create or update {dagster_env.VENV_DIR}")
    setup.add_argument("--force", action="store_true", help="reinstall even if up to date")

    compare = commands.add_parser("compare", help="compare the median seconds of two runs")
    compare.add_argument("old", nargs="?", type=Path, default=RESULTS_DIR / "previous.json")
    compare.add_argument("new", nargs="?", type=Path, default=DEFAULT_JSON)
    return parser


def _list(args: argparse.Namespace) -> int:
    width = max(map(len, WORKLOADS))
    for name, workload in WORKLOADS.items():
        print(f"{name.ljust(width)}  {workload.summary}")
    return 0


def _setup(args: argparse.Namespace) -> int:
    try:
        dagster_env.setup(force=args.force)
    except dagster_env.SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    return 0


def _compare(args: argparse.Namespace) -> int:
    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    print(report.compare(old, new), end="")
    return 0


def _run(args: argparse.Namespace) -> int:
    unknown = [name for name in args.names if name not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; see `python -m bench list`")
        return 2
    if args.reps is not None and args.reps < 1:
        print("--reps must be at least 1")
        return 2
    settings = Settings(quick=args.quick, reps=args.reps, tessera_only=args.tessera_only)
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()

    run_sides, absent = _sides(settings)
    machine = report.machine_info()
    print(f"bench {started:%Y-%m-%d %H:%M} UTC, {machine['nproc']} CPUs {machine['cpu_model']}")
    for side in run_sides:
        print(
            f"  {side.name}: {side.library} {side.info.get('version', '?')}, "
            f"Python {side.info.get('python', '?')} ({side.python})"
        )
    for name, note in absent.items():
        print(f"  {name}: {note}")
    warning = report.busy_warning(machine["loadavg_1m"], machine["nproc"])
    if warning:
        print(warning)
    print(report.RATIO_LEGEND + "\n")

    results: list[WorkloadResult] = []
    for name in args.names or list(WORKLOADS):
        result = run_workload(WORKLOADS[name], run_sides, settings)
        result.notes |= absent
        results.append(result)
        print(report.format_workload(result), flush=True)

    document: dict[str, Any] = {
        "schema_version": report.SCHEMA_VERSION,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - clock, 1),
        "argv": sys.argv[1:],
        "settings": {
            "quick": settings.quick,
            "reps": settings.reps,
            "tessera_only": settings.tessera_only,
        },
        "machine": machine | {"loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
        "sides": {side.name: _side_json(side) for side in run_sides}
        | {name: {"note": note} for name, note in absent.items()},
        "workloads": [result.to_json() for result in results],
    }
    report.write_json(args.json, document)
    print(f"wrote {args.json} ({document['duration_s']} s)")
    return 1 if _tessera_failed(results) else 0


def _sides(settings: Settings) -> tuple[list[Side], dict[str, str]]:
    """The sides to run, and a note for each side that will not run at all."""
    run_sides = [sides.tessera()]
    if settings.tessera_only:
        return run_sides, {"dagster": "not run (--tessera-only)"}
    try:
        if not dagster_env.is_ready():
            print(
                "setting up the Dagster venv (once; see `python -m bench setup`)", file=sys.stderr
            )
            dagster_env.setup()
    except dagster_env.SetupError as exc:
        return run_sides, {"dagster": f"unavailable (setup failed: {exc})"}
    return [*run_sides, sides.dagster()], {}


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "library": side.library,
        "python_executable": str(side.python),
        **side.info,
        "sdk_error": side.sdk_error,
    }


def _tessera_failed(results: Sequence[WorkloadResult]) -> bool:
    """A Tessera measurement that crashed is a failure of the run (a timeout is a figure)."""
    return any(
        case.sides.get("tessera") is not None and case.sides["tessera"].status == "error"
        for result in results
        for case in result.cases
    )
