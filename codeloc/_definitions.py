"""``Definitions``: the contents of one code location, validated once when built."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from codeloc._assets import (
    DEFAULT_IO_MANAGER_KEY,
    AssetsDefinition,
    flatten_assets,
    merge_resource_defs,
    with_group,
)
from codeloc._errors import ConfigInvalid, DefinitionError, SelectionError, UnknownResourceError
from codeloc._graph import AssetGraph
from codeloc._io_manager import check_default_io_manager, check_io_manager_keys
from codeloc._jobs import AssetJob, JobDefinition, ScheduleDefinition, SensorDefinition
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._resource_def import check_resource_dependencies
from codeloc._selection import AssetSelection
from codeloc._spec import AssetSpec

__all__ = ["IMPLICIT_ASSET_JOB_NAME", "Definitions", "flatten_assets"]

IMPLICIT_ASSET_JOB_NAME = "__ASSET_JOB"
"""The name of the job of every asset, as in the reference."""


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

        # As given, for ``Definitions.merge``.
        self._given_jobs: tuple[AssetJob, ...] = tuple(jobs or ())
        self._given_resources: dict[str, Any] = dict(resources or {})

        self.graph = AssetGraph(self.assets, self.external_specs)
        self._check_resources()
        self._job_keys = self._resolve_jobs()

    def _check_resources(self) -> None:
        provided = set(self.resources) | {DEFAULT_IO_MANAGER_KEY}
        check_default_io_manager(self.resources)
        check_resource_dependencies(self.resources)
        for definition in self.assets:
            if definition.required_resource_keys:
                check_io_manager_keys(definition, self.resources)
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
            self.graph.check_subsets(resolved[job.name], f"job '{job.name}'")
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

    def get_job_def(self, name: str) -> JobDefinition:
        """The job ``name`` resolved against these assets and resources, ready to execute.

        ``__ASSET_JOB`` is the job of every asset (``get_implicit_global_asset_job_def``).

        Raises:
            DefinitionError: No job has that name.
        """
        if name == IMPLICIT_ASSET_JOB_NAME:
            return self.get_implicit_global_asset_job_def()
        job = self.get_job(name)
        return JobDefinition(job, self._job_keys[name], self.graph, self.resources)

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        """The job of every asset this location can materialize, named ``__ASSET_JOB``."""
        keys = frozenset(k for k, d in self.graph.definition_by_key.items() if d.is_executable)
        job = AssetJob(IMPLICIT_ASSET_JOB_NAME, AssetSelection.all())
        return JobDefinition(job, keys, self.graph, self.resources)

    def resolve_all_asset_keys(self) -> list[AssetKey]:
        """The key of every asset here, external ones (``AssetSpec``) included."""
        return [spec.key for spec in self._all_specs()]

    def resolve_all_asset_specs(self) -> list[AssetSpec]:
        """The ``AssetSpec`` of every asset here, external ones included, in definition order;
        each with its group (``"default"`` where none was given), as in the reference."""
        return [with_group(spec) for spec in self._all_specs()]

    def _all_specs(self) -> Iterator[AssetSpec]:
        for definition in self.assets:
            yield from definition.specs
        yield from self.external_specs

    def load_asset_value(
        self,
        asset_key: CoercibleToAssetKey,
        *,
        python_type: type | None = None,
        instance: Any = None,
        partition_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """The stored value of ``asset_key``, loaded by the IO manager that stores it.

        That is the resource under the asset's ``io_manager_key`` (``io_manager`` by
        default), or, where these definitions give none, the default one, which reads
        ``TESSERA_STORAGE`` (or the storage under ``TESSERA_HOME``). ``python_type``,
        ``instance`` and ``metadata`` are accepted for the reference's signature.

        Raises:
            DefinitionError: No asset has that key, it is stored by a resource that is not
                an IO manager, or a ``partition_key`` is given (no partitions yet).
        """
        key = AssetKey.from_coercible(asset_key)
        definition = self.get_assets_def(key)
        if partition_key is not None:
            raise DefinitionError(
                f"asset '{key.to_user_string()}': load_asset_value(partition_key=...) needs "
                "partitions, which this SDK does not have yet"
            )
        # Imported here: reading a value is the engine's work, and ``import codeloc`` must
        # not load the engine.
        from codeloc.engine import load_stored_value

        return load_stored_value(
            key, definition.io_manager_key_for(key), self.resources, self.graph
        )

    @staticmethod
    def validate_loadable(defs: Definitions) -> None:
        """Check ``defs`` as loading its location would, raising what that would raise.

        Building ``Definitions`` already refuses duplicate keys, cycles, missing resources
        and jobs of unknown assets; this also validates the ``config`` of each job against
        the config schemas of the assets it runs.

        Raises:
            DefinitionError: The definitions could not be loaded, naming the job or asset.
        """
        # Imported here: validating config is the engine's work, done as a run would do it.
        from codeloc.engine import validate_step_config

        for job in defs.jobs:
            if not job.config:
                continue
            for key in sorted(defs._job_keys[job.name]):
                definition = defs.graph.definition_by_key[key]
                try:
                    validate_step_config(definition, job.config)
                except ConfigInvalid as exc:
                    raise DefinitionError(f"job '{job.name}': {exc}") from None

    @staticmethod
    def merge(*def_sets: Definitions) -> Definitions:
        """One ``Definitions`` holding the contents of all of ``def_sets``.

        As in the reference, the same object given twice counts once, but two different
        resources under one key, or two different jobs (schedules, sensors) of one name, are
        refused, naming the key and which of ``def_sets`` clash.

        Raises:
            DefinitionError: A resource key or a job name clashes; or the merged contents
                do not load (a key defined twice, a cycle...).
        """
        assets: dict[int, Any] = {}
        jobs: dict[str, tuple[int, Any]] = {}
        schedules: dict[str, tuple[int, Any]] = {}
        sensors: dict[str, tuple[int, Any]] = {}
        resources: dict[str, tuple[int, Any]] = {}

        def add(
            into: dict[str, tuple[int, Any]], name: str, value: Any, index: int, what: str
        ) -> None:
            held = into.setdefault(name, (index, value))
            if held[1] is not value:
                raise DefinitionError(
                    f"Definitions objects {held[0]} and {index} have different {what} "
                    f"with the same {'key' if what == 'resources' else 'name'} '{name}'"
                )

        for index, defs in enumerate(def_sets):
            for item in (*defs.assets, *defs.external_specs):
                assets.setdefault(id(item), item)
            for job in defs._given_jobs:
                add(jobs, job.name, job, index, "jobs")
            for schedule in defs.schedules:
                add(schedules, schedule.schedule_name, schedule, index, "schedules")
            for sensor_def in defs.sensors:
                add(sensors, sensor_def.name, sensor_def, index, "sensors")
            for key, value in defs._given_resources.items():
                add(resources, key, value, index, "resources")
        return Definitions(
            list(assets.values()),
            jobs=[job for _, job in jobs.values()],
            schedules=[schedule for _, schedule in schedules.values()],
            sensors=[sensor_def for _, sensor_def in sensors.values()],
            resources={key: value for key, (_, value) in resources.items()},
        )

    @property
    def asset_count(self) -> int:
        return len(self.graph)

    def __repr__(self) -> str:
        return f"<Definitions {len(self.graph)} assets, {len(self.jobs)} jobs>"
