"""Snapshots: plain, frozen descriptions of a location's definitions, as the server sees them.

A snapshot holds no functions and no user classes, only values, so it can cross the wire
(see ``codeloc.grpc.convert``) and be merged by the server with the snapshots of other
locations. ``snapshot_of(defs)`` builds one; the server never imports user code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue, definition_metadata
from codeloc._validation import kinds_of

if TYPE_CHECKING:
    # An annotation only: the server reads snapshots without loading the SDK's definitions.
    from codeloc._definitions import Definitions
    from codeloc._retry import RetryPolicy

__all__ = [
    "AssetNodeSnap",
    "DepSnap",
    "JobSnap",
    "LocationSnapshot",
    "ResourceSnap",
    "RetryPolicySnap",
    "ScheduleSnap",
    "SensorSnap",
    "retry_policy_snap",
    "snapshot_of",
]

DepKind = Literal["data", "order"]


class DepSnap(NamedTuple):
    """An edge to an upstream asset: ``data`` passes its value, ``order`` only orders.

    A named tuple: a location has an edge per dependency, and tuples are built in C.
    """

    key: AssetKey
    kind: DepKind


@dataclass(frozen=True, slots=True)
class RetryPolicySnap:
    max_retries: int
    delay: float | None
    backoff: str | None
    jitter: str | None


@dataclass(frozen=True, slots=True)
class AssetNodeSnap:
    """One asset as the location describes it. ``is_executable`` is false for an asset that
    is only declared here (an ``AssetSpec``) and materialized elsewhere. ``can_subset`` is
    false for an asset of a multi-asset with ``can_subset=False``: a run materializes it with
    every asset of the same ``node_name`` in the location, or not at all (a definition of
    one asset has nothing to subset: true)."""

    key: AssetKey
    deps: tuple[DepSnap, ...]
    group: str
    node_name: str
    description: str | None = None
    code_version: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    config_schema: Mapping[str, Any] | None = None
    required_resources: tuple[str, ...] = ()
    retry_policy: RetryPolicySnap | None = None
    is_executable: bool = True
    jobs: tuple[str, ...] = ()
    can_subset: bool = True
    #: the schema of the ``ops`` entry of a graph asset's run config (its ops' config)
    ops_config_schema: Mapping[str, Any] | None = None

    @property
    def kinds(self) -> frozenset[str]:
        """The asset's kinds, read from its ``dagster/kind/<kind>`` tags."""
        return kinds_of(self.tags)


@dataclass(frozen=True, slots=True)
class JobSnap:
    name: str
    asset_keys: tuple[AssetKey, ...]
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    op_retry_policy: RetryPolicySnap | None = None
    config: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ScheduleSnap:
    name: str
    job_name: str
    cron_schedule: str
    execution_timezone: str | None = None


@dataclass(frozen=True, slots=True)
class SensorSnap:
    name: str
    job_name: str | None
    minimum_interval_seconds: int


@dataclass(frozen=True, slots=True)
class ResourceSnap:
    """A resource of the location, as the asset page lists it: never its configured values,
    which may hold secrets, only its type and the JSON Schema of its config."""

    key: str
    type: str
    description: str | None = None
    config_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LocationSnapshot:
    """Everything a location defines. ``hash`` changes exactly when the content does."""

    assets: tuple[AssetNodeSnap, ...]
    jobs: tuple[JobSnap, ...] = ()
    schedules: tuple[ScheduleSnap, ...] = ()
    sensors: tuple[SensorSnap, ...] = ()
    hash: str = ""
    resources: tuple[ResourceSnap, ...] = ()


def snapshot_of(defs: Definitions) -> LocationSnapshot:
    """Describe ``defs`` as values, in a stable order, with a content hash."""
    graph = defs.graph
    jobs_of: dict[AssetKey, list[str]] = {}
    jobs: list[JobSnap] = []
    for job in defs.jobs:
        keys = sorted(defs.job_asset_keys(job.name))
        for key in keys:
            jobs_of.setdefault(key, []).append(job.name)
        jobs.append(
            JobSnap(
                job.name,
                tuple(keys),
                job.description,
                dict(job.tags),
                retry_policy_snap(job.op_retry_policy),
                job.config,
            )
        )

    nodes: list[AssetNodeSnap] = []
    for definition in defs.assets:
        config_type = definition.config_type
        classic = definition.signature.config_schema
        schema = (
            config_type.model_json_schema()
            if config_type is not None
            else (classic.json_schema() if classic is not None else None)
        )
        ops_schema = None
        if definition.node_def is not None:
            if schema is None:
                node_schema = definition.node_def.config_json_schema()
                schema = dict(node_schema) if node_schema is not None else None
            node_ops_schema = definition.node_def.ops_config_json_schema()
            ops_schema = dict(node_ops_schema) if node_ops_schema is not None else None
        retry = retry_policy_snap(definition.retry_policy)
        resources = tuple(sorted(definition.required_resource_keys))
        can_subset = definition.can_subset or len(definition.specs) == 1
        for spec in definition.specs:
            nodes.append(
                AssetNodeSnap(
                    key=spec.key,
                    deps=tuple(
                        DepSnap(d, "data" if d in definition.input_keys else "order")
                        for d in spec.deps
                    ),
                    group=spec.group,
                    node_name=definition.node_name,
                    description=spec.description,
                    code_version=spec.code_version,
                    metadata=definition_metadata(spec.metadata),
                    tags=spec.tags,
                    owners=spec.owners,
                    config_schema=schema,
                    required_resources=resources,
                    retry_policy=retry,
                    is_executable=True,
                    jobs=tuple(jobs_of.get(spec.key, ())),
                    can_subset=can_subset,
                    ops_config_schema=ops_schema,
                )
            )
    for spec in graph.declared_external.values():
        nodes.append(
            AssetNodeSnap(
                key=spec.key,
                deps=tuple(DepSnap(d, "order") for d in spec.deps),
                group=spec.group,
                node_name="__".join(spec.key.parts),
                description=spec.description,
                code_version=spec.code_version,
                metadata=definition_metadata(spec.metadata),
                tags=dict(spec.tags),
                owners=spec.owners,
                is_executable=False,
            )
        )
    nodes.sort(key=lambda n: n.key.parts)
    schedules = tuple(
        ScheduleSnap(s.schedule_name, s.job.name, s.cron_schedule, s.execution_timezone)
        for s in defs.schedules
    )
    sensors = tuple(
        SensorSnap(s.name, s.job.name if s.job else None, s.minimum_interval_seconds)
        for s in defs.sensors
    )
    resource_snaps = tuple(resource_snap(k, v) for k, v in sorted(defs.resources.items()))
    snapshot = LocationSnapshot(tuple(nodes), tuple(jobs), schedules, sensors, "", resource_snaps)
    return LocationSnapshot(
        snapshot.assets,
        snapshot.jobs,
        snapshot.schedules,
        snapshot.sensors,
        snapshot_hash(snapshot),
        snapshot.resources,
    )


_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def resource_snap(key: str, resource: Any) -> ResourceSnap:
    """What the asset page shows of one resource: its class, description and config schema.

    A ``ConfigurableResource`` (a pydantic model) gives its JSON Schema; a
    ``ResourceDefinition`` whose ``config_schema`` maps names to plain types gives one made
    from them. Anything else has no schema.
    """
    cls = type(resource)
    schema: Mapping[str, Any] | None = None
    description = getattr(resource, "description", None)
    model_schema = getattr(cls, "model_json_schema", None)
    if model_schema is not None:
        try:
            schema = model_schema()
        except Exception:  # a field of a type pydantic cannot describe: no schema, no failure
            schema = None
        description = description or (cls.__doc__ and cls.__doc__.strip().splitlines()[0])
    else:
        fields = getattr(resource, "config_schema", None)
        if isinstance(fields, Mapping):
            schema = {
                "type": "object",
                "properties": {
                    str(name): {"type": _TYPE_NAMES[t]} if t in _TYPE_NAMES else {}
                    for name, t in fields.items()
                },
                "required": sorted(str(name) for name in fields),
            }
    return ResourceSnap(
        key,
        f"{cls.__module__}.{cls.__qualname__}",
        description if isinstance(description, str) else None,
        schema,
    )


def retry_policy_snap(policy: RetryPolicy | None) -> RetryPolicySnap | None:
    """``policy`` as a value of the snapshot."""
    if policy is None:
        return None
    return RetryPolicySnap(
        policy.max_retries,
        policy.delay,
        policy.backoff.value if policy.backoff else None,
        policy.jitter.value if policy.jitter else None,
    )


def _retry_row(retry: RetryPolicySnap | None) -> tuple[Any, ...] | None:
    return None if retry is None else (retry.max_retries, retry.delay, retry.backoff, retry.jitter)


def snapshot_hash(snapshot: LocationSnapshot) -> str:
    """A content hash over every field of every node, independent of ``snapshot.hash``.

    Each node becomes a tuple of plain values and the whole list is hashed through one
    ``repr``: far cheaper than encoding nodes one by one, which matters at 100,000 assets.
    Loading the same code gives the same values in the same order, so the same hash.
    """
    rows: list[tuple[Any, ...]] = []
    for n in snapshot.assets:
        retry = n.retry_policy
        rows.append(
            (
                n.key.parts,
                tuple((d.key.parts, d.kind) for d in n.deps),
                n.group,
                n.node_name,
                n.description,
                n.code_version,
                tuple((k, v.kind, v.value) for k, v in n.metadata.items()),
                tuple(n.tags.items()),
                n.owners,
                n.config_schema,
                n.required_resources,
                _retry_row(retry),
                n.is_executable,
                n.jobs,
                n.can_subset,
                n.ops_config_schema,
            )
        )
    rest = (
        [
            (
                j.name,
                tuple(k.parts for k in j.asset_keys),
                j.description,
                tuple(j.tags.items()),
                _retry_row(j.op_retry_policy),
                j.config,
            )
            for j in snapshot.jobs
        ],
        [(s.name, s.job_name, s.cron_schedule, s.execution_timezone) for s in snapshot.schedules],
        [(s.name, s.job_name, s.minimum_interval_seconds) for s in snapshot.sensors],
        [(r.key, r.type, r.description, r.config_schema) for r in snapshot.resources],
    )
    return hashlib.sha256(repr((rows, rest)).encode()).hexdigest()[:32]
