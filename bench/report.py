"""Plain-text tables, the JSON results file, and the comparison of two results files."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.model import CaseResult, SideResult, WorkloadResult

SIDES = ("tessera", "dagster")
SCHEMA_VERSION = 1
RATIO_LEGEND = (
    "D/T = median over repetitions of (Dagster seconds / Tessera seconds), runs paired A B A B; "
    "above 1 means Tessera is faster."
)


# --- tables --------------------------------------------------------------------------------


def format_workload(result: WorkloadResult) -> str:
    """The table for one workload (or the line saying why it did not run)."""
    title = f"{result.name}: {result.summary}"
    if result.status != "ran":
        notes = "; ".join(f"{side}: {note}" for side, note in result.notes.items())
        return f"{title}\n  {result.status}: {notes}\n"
    return "\n".join([title, *_table(result), *result.footnotes]) + "\n"


@dataclass
class _Row:
    case: str
    reps: str
    blocks: list[list[str] | str]
    """Per side: its figures, or one note that spans the side's columns."""
    ratio: str


def _table(result: WorkloadResult) -> list[str]:
    stats = ["median", "min", "max", *(column.header for column in result.columns)]
    header = _Row("case", "reps", [[f"{side} {stats[0]}", *stats[1:]] for side in SIDES], "D/T")
    rows = [header]
    for case in result.cases:
        ratio = case.ratio()
        rows.append(
            _Row(
                case.label,
                f"{case.warmup}+{case.reps}",
                [_side_cells(result, case, side) for side in SIDES],
                f"{ratio:.1f}x" if ratio is not None else "-",
            )
        )

    case_width = max(len(row.case) for row in rows)
    reps_width = max(len(row.reps) for row in rows)
    ratio_width = max(len(row.ratio) for row in rows)
    widths = [[len(cell) for cell in block] for block in header.blocks]
    for row in rows:
        for block_widths, block in zip(widths, row.blocks, strict=True):
            if isinstance(block, list):
                block_widths[:] = map(max, block_widths, map(len, block))
    for row in rows:
        for block_widths, block in zip(widths, row.blocks, strict=True):
            if isinstance(block, str):
                block_widths[-1] += max(0, len(block) - _span(block_widths))

    def render(row: _Row) -> str:
        parts = [row.case.ljust(case_width), row.reps.rjust(reps_width)]
        for block_widths, block in zip(widths, row.blocks, strict=True):
            if isinstance(block, str):
                parts.append(block.ljust(_span(block_widths)))
            else:
                parts.append("  ".join(map(str.rjust, block, block_widths)))
        parts.append(row.ratio.rjust(ratio_width))
        return (parts[0] + "  " + " | ".join(parts[1:])).rstrip()

    lines = [render(row) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def _span(block_widths: Sequence[int]) -> int:
    return sum(block_widths) + 2 * (len(block_widths) - 1)


def _side_cells(result: WorkloadResult, case: CaseResult, side: str) -> list[str] | str:
    side_result = case.sides.get(side)
    if side_result is None:
        return result.notes.get(side, "not run")
    if not side_result.ok:
        return _status_note(side_result)
    seconds = side_result.values()
    show = _milliseconds if result.unit == "ms" else _seconds
    cells = [show(statistics.median(seconds)), show(min(seconds)), show(max(seconds))]
    for column in result.columns:
        value = column.value(side_result)
        cells.append("-" if value is None else f"{value:,.{column.digits}f}")
    return cells


def _status_note(side_result: SideResult) -> str:
    return side_result.note or side_result.status


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 100 else f"{value:.1f}"


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


# --- machine and JSON ----------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu_model = "unknown"
    memory_gib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def busy_warning(loadavg: float, nproc: int | None) -> str | None:
    """A warning when other work on the machine will skew the figures, else ``None``."""
    if loadavg <= 0.75 * (nproc or 1):
        return None
    return (
        f"warning: the machine is busy (load average {loadavg:.1f} on {nproc} CPUs); "
        "figures will be slower and noisier than on a quiet machine"
    )


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document``; an existing file at ``path`` is kept as ``previous.json`` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_name("previous.json"))
    path.write_text(json.dumps(document, indent=2) + "\n")


# --- comparing two runs --------------------------------------------------------------------


def _medians(document: Mapping[str, Any]) -> dict[tuple[str, str, str], float]:
    figures: dict[tuple[str, str, str], float] = {}
    for workload in document.get("workloads", []):
        for case in workload.get("cases", []):
            for side, data in case.get("sides", {}).items():
                if data.get("status") == "ok" and data.get("median") is not None:
                    figures[workload["name"], case["case"], side] = data["median"]
    return figures


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A table of the median seconds of every case and side that both runs measured."""
    before, after = _medians(old), _medians(new)
    keys = [key for key in after if key in before]
    if not keys:
        return "no case was measured in both runs\n"
    rows = [("workload", "case", "side", "before", "after", "change")]
    rows += [
        (
            *key,
            _seconds(before[key]),
            _seconds(after[key]),
            f"{(after[key] - before[key]) / before[key] * 100:+.1f}%",
        )
        for key in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    header = f"before: {_describe(old)}\nafter:  {_describe(new)}"
    return "\n".join([header, *_aligned(rows, widths)]) + "\n"


def _describe(document: Mapping[str, Any]) -> str:
    quick = " --quick" if document.get("settings", {}).get("quick") else ""
    return f"{document.get('started_at', '?')}{quick}"


def _aligned(rows: Iterable[Sequence[str]], widths: Sequence[int]) -> list[str]:
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
