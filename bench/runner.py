"""Run workloads on both sides, A B A B, and collect the figures.

For each case: prepare its inputs (not timed), then ``warmup`` rounds whose figures are
dropped, then ``reps`` rounds; a round measures Tessera, then Dagster, each in a fresh process,
so both sides see the same machine state and a slow spell on the machine hits both. A side that
fails or times out stops for that case (and, after a timeout, for the larger cases of the same
series) and says so in its place in the table instead of holding up the run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bench.model import (
    Case,
    CaseResult,
    MeasurementError,
    MeasurementTimeout,
    Settings,
    Side,
    SideResult,
    Workload,
    WorkloadResult,
)


def run_workload(workload: Workload, sides: Sequence[Side], settings: Settings) -> WorkloadResult:
    """Measure every case of ``workload`` on the sides that can run it."""
    result = WorkloadResult(workload.name, workload.summary, workload.columns, workload.unit)
    able: list[Side] = []
    for side in sides:
        reason = workload.unavailable(side)
        if reason is None:
            able.append(side)
        else:
            result.notes[side.name] = reason
    if not able:
        result.status = "not built yet"
        return result

    timed_out: dict[tuple[str, str], int] = {}
    """(side, series) -> the size at which that side timed out."""
    try:
        for case in workload.cases(settings):
            result.cases.append(_run_case(workload.name, case, able, timed_out))
    finally:
        workload.close()
    result.details = workload.details()
    result.footnotes = workload.footnotes()
    return result


def _run_case(
    workload: str, case: Case, sides: Sequence[Side], timed_out: dict[tuple[str, str], int]
) -> CaseResult:
    result = CaseResult(case.label, case.params, case.reps, case.warmup)
    running: list[Side] = []
    for side in sides:
        if side.name in case.skip:
            result.sides[side.name] = SideResult("skipped", case.skip[side.name])
        elif (side.name, case.series) in timed_out:
            size = timed_out[side.name, case.series]
            result.sides[side.name] = SideResult("skipped", f"skipped: timed out at {size:,}")
        else:
            result.sides[side.name] = SideResult()
            running.append(side)
    _progress(f"{workload}: {case.label} ")
    if running and case.prepare is not None:
        try:
            case.prepare(running)
        except MeasurementError as exc:
            for side in running:
                result.sides[side.name] = SideResult("error", f"error: {exc}")
            running = []

    for round_index in range(case.warmup + case.reps):
        for side in list(running):
            side_result = result.sides[side.name]
            try:
                sample = case.measure(side, case.timeout_s[side.name])
            except MeasurementTimeout as exc:
                side_result.status, side_result.note = "timeout", str(exc)
                timed_out[side.name, case.series] = case.size
                running.remove(side)
                _progress("T")
                continue
            except MeasurementError as exc:
                side_result.status, side_result.note = "error", f"error: {exc}"
                running.remove(side)
                _progress("E")
                continue
            if round_index >= case.warmup:
                side_result.samples.append(sample)
            _progress(side.name[0])
    _progress("\n")
    return result


def _progress(text: str) -> None:
    # Progress goes to stderr: stdout carries only the tables.
    print(text, end="", file=sys.stderr, flush=True)
