"""Jobs, schedules and sensors: named selections of assets and what triggers them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from codeloc._selection import AssetSelection, parse_selection

__all__ = ["AssetJob", "ScheduleDefinition", "SensorDefinition", "define_asset_job", "sensor"]


@dataclass(frozen=True, slots=True)
class AssetJob:
    """A named selection of assets, materialized together. Build one with ``define_asset_job``."""

    name: str
    selection: AssetSelection
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] | None = None


def define_asset_job(
    name: str,
    selection: AssetSelection | str | Any = None,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> AssetJob:
    """Define a job over a selection: an ``AssetSelection``, an expression, or definitions.

    ``selection=None`` selects every asset of the location. The selection is resolved when
    ``Definitions`` is built, so a key that does not exist fails there.
    """
    if selection is None:
        resolved = AssetSelection.all()
    elif isinstance(selection, AssetSelection):
        resolved = selection
    elif isinstance(selection, str):
        resolved = parse_selection(selection)
    else:
        resolved = AssetSelection.from_coercible(selection)
    return AssetJob(name, resolved, description, dict(tags or {}), config)


@dataclass(frozen=True, slots=True)
class ScheduleDefinition:
    """Run ``job`` on a cron schedule."""

    job: AssetJob
    cron_schedule: str
    name: str | None = None
    execution_timezone: str | None = None
    description: str | None = None

    @property
    def schedule_name(self) -> str:
        return self.name or f"{self.job.name}_schedule"


@dataclass(frozen=True, slots=True)
class SensorDefinition:
    """Evaluate ``fn`` every ``minimum_interval_seconds``; it may request runs of ``job``."""

    name: str
    fn: Callable[..., Any]
    job: AssetJob | None = None
    minimum_interval_seconds: int = 30
    description: str | None = None


def sensor(
    *, job: AssetJob | None = None, minimum_interval_seconds: int = 30, name: str | None = None
) -> Callable[[Callable[..., Any]], SensorDefinition]:
    """Decorate a sensor function."""

    def build(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(
            name or fn.__name__, fn, job, minimum_interval_seconds, fn.__doc__ or None
        )

    return build
