"""``Definitions``: the contents of one code location, validated once when built."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition, merge_resource_defs
from codeloc._errors import DefinitionError, SelectionError, UnknownResourceError
from codeloc._graph import AssetGraph
from codeloc._jobs import AssetJob, ScheduleDefinition, SensorDefinition
from codeloc._key import AssetKey
from codeloc._spec import AssetSpec

__all__ = ["Definitions", "flatten_assets"]


class Definitions:
    """A code location: assets, jobs, schedules, sensors and the resources they use.

    Building one validates everything a run would otherwise trip on: duplicate keys,
    cycles, resources that nobody provides, jobs that select unknown assets. Each failure
    raises a ``DefinitionError`` that names the asset and the cause.
    """

    def __init__(
        self,
        assets: Iterable[Any] | None = None,
        *,
        jobs: Iterable[AssetJob] | None = None,
        schedules: Iterable[ScheduleDefinition] | None = None,
        sensors: Iterable[SensorDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        definitions, specs = flatten_assets(assets or ())
        self.assets: tuple[AssetsDefinition, ...] = tuple(definitions)
        self.external_specs: tuple[AssetSpec, ...] = tuple(specs)
        # The resources bound to assets (``resource_defs=``) are the location's too.
        self.resources: dict[str, Any] = merge_resource_defs(self.assets, resources or {})
        self.schedules: tuple[ScheduleDefinition, ...] = tuple(schedules or ())
        self.sensors: tuple[SensorDefinition, ...] = tuple(sensors or ())
        job_list = list(jobs or ())
        for schedule in self.schedules:
            if schedule.job not in job_list:
                job_list.append(schedule.job)
        for sensor_def in self.sensors:
            if sensor_def.job is not None and sensor_def.job not in job_list:
                job_list.append(sensor_def.job)
        self.jobs: tuple[AssetJob, ...] = tuple(job_list)

        self.graph = AssetGraph(self.assets, self.external_specs)
        self._check_resources()
        self._job_keys = self._resolve_jobs()

    def _check_resources(self) -> None:
        provided = set(self.resources) | {DEFAULT_IO_MANAGER_KEY}
        for definition in self.assets:
            missing = definition.required_resource_keys - provided
            if missing:
                names = ", ".join(sorted(f"'{m}'" for m in missing))
                raise UnknownResourceError(
                    f"asset '{definition.node_name}' requires resource {names}, which is not "
                    f"provided; Definitions(resources=...) has {sorted(self.resources) or 'none'}"
                )

    def _resolve_jobs(self) -> dict[str, frozenset[AssetKey]]:
        resolved: dict[str, frozenset[AssetKey]] = {}
        for job in self.jobs:
            if job.name in resolved:
                raise DefinitionError(f"two jobs are named '{job.name}'")
            try:
                resolved[job.name] = job.selection.resolve(self.graph)
            except SelectionError as exc:
                raise DefinitionError(f"job '{job.name}': {exc}") from None
        return resolved

    # -- lookups -----------------------------------------------------------------------------

    def get_assets_def(self, key: AssetKey | str) -> AssetsDefinition:
        key = AssetKey.from_coercible(key)
        try:
            return self.graph.definition_by_key[key]
        except KeyError:
            raise DefinitionError(
                f"no asset '{key.to_user_string()}' in these definitions"
            ) from None

    def get_job(self, name: str) -> AssetJob:
        for job in self.jobs:
            if job.name == name:
                return job
        raise DefinitionError(f"no job named '{name}'; jobs: {[j.name for j in self.jobs]}")

    def job_asset_keys(self, name: str) -> frozenset[AssetKey]:
        self.get_job(name)
        return self._job_keys[name]

    @property
    def asset_count(self) -> int:
        return len(self.graph)

    def __repr__(self) -> str:
        return f"<Definitions {len(self.graph)} assets, {len(self.jobs)} jobs>"


def flatten_assets(items: Iterable[Any]) -> tuple[list[AssetsDefinition], list[AssetSpec]]:
    """Split a possibly nested list of definitions and specs into the two kinds."""
    definitions: list[AssetsDefinition] = []
    specs: list[AssetSpec] = []
    stack: list[Any] = [items]
    while stack:
        item = stack.pop()
        if isinstance(item, AssetsDefinition):
            definitions.append(item)
        elif isinstance(item, AssetSpec):
            specs.append(item)
        elif not isinstance(item, AssetKey) and (  # a key is a tuple underneath, not a list
            (isinstance(item, Sequence | set | frozenset | tuple) and not isinstance(item, str))
            or (isinstance(item, Iterable) and not isinstance(item, str | bytes | Mapping))
        ):
            stack.extend(reversed(list(item)))
        else:
            raise DefinitionError(
                f"Definitions(assets=...) takes asset definitions and AssetSpecs, got {item!r}"
            )
    # The same definition given twice (two lists that share it) is one definition.
    return list({id(d): d for d in definitions}.values()), specs
