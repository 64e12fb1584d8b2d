"""The values the runner passes around: settings, sides, cases, workloads and their results."""

from __future__ import annotations

import abc
import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

Sample = dict[str, float]
"""One measurement: metric name to value. Every sample has ``seconds``."""

PRIMARY = "seconds"
"""The metric that the table summarises as median/min/max and that ratios compare."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated between ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class MeasurementError(Exception):
    """A measurement that did not produce a figure (the driver failed or printed garbage)."""


class MeasurementTimeout(MeasurementError):
    """A measurement that ran past its timeout and was killed."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"timeout after {timeout_s:g} s")


@dataclass(frozen=True)
class Settings:
    """What the command line asked for."""

    quick: bool = False
    reps: int | None = None
    """Repetitions per case; ``None`` lets each case use its own default."""
    tessera_only: bool = False


@dataclass(frozen=True)
class Side:
    """One of the two systems under test, as an interpreter to run drivers with."""

    name: str
    library: str
    """The package user code imports: ``codeloc`` or ``dagster``."""
    python: Path
    env: Mapping[str, str]
    """The environment every process of this side runs with."""
    info: Mapping[str, str] = field(default_factory=dict)
    """Versions, reported in the results (``python``, ``version``)."""
    sdk_error: str | None = None
    """Why ``from LIBRARY import asset, Definitions, materialize`` failed, if it did."""

    def import_line(self, *names: str) -> str:
        return f"from {self.library} import {', '.join(sorted(names))}"


Measure = Callable[[Side, float], Sample]
"""Take one measurement on a side, within a timeout in seconds."""


@dataclass(frozen=True)
class Case:
    """One configuration of a workload, measured on every side that can run it."""

    label: str
    params: Mapping[str, str | int]
    measure: Measure
    reps: int
    warmup: int
    timeout_s: Mapping[str, float]
    """Per side name: the limit for one measurement."""
    skip: Mapping[str, str] = field(default_factory=dict)
    """Per side name: why this case is not run there (shown instead of figures)."""
    prepare: Callable[[Sequence[Side]], None] | None = None
    """Make the inputs (generated modules, ...) before any measurement; not timed."""
    series: str = ""
    """Cases of one series grow in ``size``: a side that timed out skips the larger ones."""
    size: int = 0


@dataclass(frozen=True)
class Column:
    """An extra figure shown for each side: by default the median of one metric over the
    samples; ``stat="p95"`` shows its 95th percentile instead."""

    key: str
    header: str
    digits: int = 2
    stat: str = "median"
    """``median`` or ``p95``."""
    scale: float = 1.0
    """Shown multiplied by this (1000 shows a metric in seconds as milliseconds)."""

    def value(self, samples: SideResult) -> float | None:
        values = samples.values(self.key)
        if not values:
            return None
        figure = percentile(values, 95) if self.stat == "p95" else statistics.median(values)
        return figure * self.scale


class Workload(abc.ABC):
    """A named benchmark: what it measures and the cases it measures it on."""

    name: ClassVar[str]
    summary: ClassVar[str]
    """One line for ``list`` and the table title (what is timed, and the unit)."""
    columns: ClassVar[tuple[Column, ...]] = ()
    unit: ClassVar[str] = "s"
    """How the table shows median/min/max: ``s`` (seconds) or ``ms`` (milliseconds). The
    samples and the JSON are in seconds either way."""

    @abc.abstractmethod
    def unavailable(self, side: Side) -> str | None:
        """Why this workload cannot run on ``side`` yet, or ``None`` when it can."""

    @abc.abstractmethod
    def cases(self, settings: Settings) -> list[Case]:
        """The cases to run, smallest first."""

    def close(self) -> None:  # noqa: B027 - most workloads have nothing to release
        """Release what the cases set up and kept between measurements (processes,
        databases). The runner calls it once after the last case, even after a failure."""

    def details(self) -> dict[str, object]:
        """Figures about the run as a whole (setup timings, sizes) for the results file;
        asked after :meth:`close`."""
        return {}

    def footnotes(self) -> list[str]:
        """Lines printed under the table (say what the details mean); asked after ``close``."""
        return []


# --- results -------------------------------------------------------------------------------


@dataclass
class SideResult:
    """What one side did on one case: ``status`` is ``ok`` or says why there are no figures."""

    status: str = "ok"
    note: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.samples)

    def values(self, key: str = PRIMARY) -> list[float]:
        return [sample[key] for sample in self.samples if key in sample]

    def median(self, key: str = PRIMARY) -> float | None:
        values = self.values(key)
        return statistics.median(values) if values else None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"status": self.status, "note": self.note}
        if self.samples:
            seconds = self.values()
            data |= {
                "median": statistics.median(seconds),
                "p95": percentile(seconds, 95),
                "min": min(seconds),
                "max": max(seconds),
                "medians": {key: self.median(key) for key in self.samples[0]},
            }
        data["samples"] = self.samples
        return data


@dataclass
class CaseResult:
    label: str
    params: Mapping[str, str | int]
    reps: int
    warmup: int
    sides: dict[str, SideResult] = field(default_factory=dict)

    def ratios(self, numerator: str = "dagster", denominator: str = "tessera") -> list[float]:
        """Per repetition, ``numerator / denominator`` seconds (runs were paired A B A B)."""
        a, b = self.sides.get(numerator), self.sides.get(denominator)
        if a is None or b is None or not (a.ok and b.ok):
            return []
        return [x / y for x, y in zip(a.values(), b.values(), strict=False) if y > 0]

    def ratio(self) -> float | None:
        ratios = self.ratios()
        return statistics.median(ratios) if ratios else None

    def to_json(self) -> dict[str, object]:
        return {
            "case": self.label,
            "params": dict(self.params),
            "reps": self.reps,
            "warmup": self.warmup,
            "sides": {name: result.to_json() for name, result in self.sides.items()},
            "ratio_dagster_over_tessera": {"pairwise": self.ratios(), "median": self.ratio()},
        }


@dataclass
class WorkloadResult:
    name: str
    summary: str
    columns: tuple[Column, ...]
    unit: str = "s"
    status: str = "ran"
    """``ran``, or ``not built yet`` when no side could run it."""
    notes: dict[str, str] = field(default_factory=dict)
    """Per side name: why it did not run this workload at all."""
    cases: list[CaseResult] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)
    """What the workload reports about the run as a whole (``Workload.details``)."""
    footnotes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "summary": self.summary,
            "unit": self.unit,
            "status": self.status,
            "notes": self.notes,
            "columns": [dataclasses.asdict(column) for column in self.columns],
            "cases": [case.to_json() for case in self.cases],
            "details": self.details,
        }
