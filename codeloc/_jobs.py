"""Jobs, schedules and sensors: named selections of assets and what triggers them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from codeloc._errors import ConfigInvalid, DefinitionError
from codeloc._graph import AssetGraph
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._retry import RetryPolicy
from codeloc._run_config import RunConfig, run_config_dict
from codeloc._selection import AssetSelection

if TYPE_CHECKING:
    from codeloc.engine import ExecuteResult

__all__ = [
    "AssetJob",
    "JobDefinition",
    "ScheduleDefinition",
    "SensorDefinition",
    "define_asset_job",
    "merge_run_configs",
    "sensor",
]


@dataclass(frozen=True, slots=True)
class AssetJob:
    """A named selection of assets, materialized together. Build one with ``define_asset_job``.

    ``Definitions.get_job_def(name)`` resolves it against the location's assets into a
    ``JobDefinition`` that executes.
    """

    name: str
    selection: AssetSelection
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] | None = None
    op_retry_policy: RetryPolicy | None = None
    run_tags: Mapping[str, str] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tags_of_runs(self) -> dict[str, str]:
        """The tags each run of this job carries: ``run_tags``, else ``tags``."""
        return dict(self.tags if self.run_tags is None else self.run_tags)


def define_asset_job(
    name: str,
    selection: AssetSelection | str | Any = None,
    config: RunConfig | Mapping[str, Any] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    op_retry_policy: RetryPolicy | None = None,
) -> AssetJob:
    """Define a job over a selection: an ``AssetSelection``, an expression, or a list.

    In a list, each string is an expression (``["*c"]`` is ``c`` with its ancestors) and each
    definition or ``AssetKey`` stands for its keys; ``selection=None`` selects every asset of
    the location. The selection is resolved when ``Definitions`` is built, so a key that does
    not exist fails there.

    Args:
        name: The job's name, unique in its location.
        selection: What the job materializes.
        config: The run config of its runs (``{"ops": ..., "resources": ...}`` or a
            ``RunConfig``); a run's own config is laid over it.
        description: Shown with the job.
        tags: The job's tags; its runs carry them too unless ``run_tags`` is given.
        run_tags: The tags its runs carry, instead of ``tags``.
        metadata: Kept with the job.
        op_retry_policy: The retry policy of each asset of the job that has none itself.
    """
    if op_retry_policy is not None and not isinstance(op_retry_policy, RetryPolicy):
        raise DefinitionError(
            f"job '{name}': op_retry_policy must be a RetryPolicy, "
            f"got {type(op_retry_policy).__name__}"
        )
    if config is not None and not isinstance(config, RunConfig | Mapping):
        raise DefinitionError(
            f"job '{name}': config must be run config (a dict or a RunConfig), got "
            f"{type(config).__name__}; config mappings and partitioned config are not supported"
        )
    resolved = (
        AssetSelection.all() if selection is None else AssetSelection.from_coercible(selection)
    )
    try:
        run_config = None if config is None else run_config_dict(config)
    except ConfigInvalid as exc:
        raise DefinitionError(f"job '{name}': {exc}") from None
    return AssetJob(
        name,
        resolved,
        description,
        dict(tags or {}),
        run_config,
        op_retry_policy,
        None if run_tags is None else dict(run_tags),
        dict(metadata or {}),
    )


class JobDefinition:
    """A job resolved against its location: what ``Definitions.get_job_def`` returns.

    Attributes:
        name: the job's name (``__ASSET_JOB`` for the job of every asset).
        asset_keys: the keys it materializes.
        description, tags, config, op_retry_policy: as given to ``define_asset_job``.
    """

    def __init__(
        self,
        job: AssetJob,
        asset_keys: frozenset[AssetKey],
        graph: AssetGraph,
        resources: Mapping[str, Any],
    ) -> None:
        self.name = job.name
        self.asset_keys = asset_keys
        self.description = job.description
        self.tags: dict[str, str] = dict(job.tags)
        self.run_tags: dict[str, str] = job.tags_of_runs
        self.config = job.config
        self.op_retry_policy = job.op_retry_policy
        self._graph = graph
        self._resources = dict(resources)

    def execute_in_process(
        self,
        run_config: RunConfig | Mapping[str, Any] | None = None,
        instance: Any = None,
        *,
        raise_on_error: bool = True,
        asset_selection: Iterable[CoercibleToAssetKey] | None = None,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        resources: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
    ) -> ExecuteResult:
        """Run the job in this process and return what happened, as ``materialize()`` does.

        ``run_config`` is laid over the job's ``config`` (per asset and per resource, the
        run's keys win); ``tags`` over the job's run tags; ``resources`` over the location's.
        ``asset_selection`` runs only those of the job's assets. ``instance`` is accepted
        for the reference's signature and not used: Tessera keeps a run's values through
        its IO managers, without an instance.

        Raises:
            DefinitionError: ``asset_selection`` names a key the job does not have, or a
                ``partition_key`` is given (no partitions yet).
            RunFailedError: A step failed, with ``raise_on_error``.
        """
        if partition_key is not None:
            raise DefinitionError(
                f"job '{self.name}': execute_in_process(partition_key=...) needs partitions, "
                "which this SDK does not have yet"
            )
        keys = self.asset_keys
        if asset_selection is not None:
            keys = frozenset(AssetKey.from_coercible(k) for k in asset_selection)
            outside = sorted(k.to_user_string() for k in keys - self.asset_keys)
            if outside:
                raise DefinitionError(
                    f"job '{self.name}' has no asset {', '.join(map(repr, outside))}; "
                    "asset_selection picks among the job's assets"
                )
        # The engine is imported when a job runs, not with the definitions.
        from codeloc.engine import execute_selection

        return execute_selection(
            self._graph,
            keys,
            merge_run_configs(self.config, run_config),
            {**self._resources, **(resources or {})},
            raise_on_error=raise_on_error,
            tags={**self.run_tags, **(tags or {})},
            run_id=run_id,
            retry_policy=self.op_retry_policy,
        )

    def __repr__(self) -> str:
        return f"<JobDefinition {self.name}: {len(self.asset_keys)} assets>"


def merge_run_configs(
    base: RunConfig | Mapping[str, Any] | None, over: RunConfig | Mapping[str, Any] | None
) -> dict[str, Any]:
    """``over`` laid on ``base``: an asset's or a resource's config keys from ``over`` win."""
    merged = run_config_dict(base)
    for section, entries in run_config_dict(over).items():
        target = merged.setdefault(section, {})
        for name, entry in entries.items():
            current = target.get(name)
            if not (isinstance(current, Mapping) and isinstance(entry, Mapping)):
                target[name] = entry
                continue
            laid = {**current, **entry}
            config, over_config = current.get("config"), entry.get("config")
            if isinstance(config, Mapping) and isinstance(over_config, Mapping):
                laid["config"] = {**config, **over_config}
            target[name] = laid
    return merged


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
