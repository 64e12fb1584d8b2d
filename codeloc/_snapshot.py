"""Snapshots: plain, frozen descriptions of a location's definitions, as the server sees them.

A snapshot holds no functions and no user classes, only values, so it can cross the wire
(see ``codeloc.grpc.convert``) and be merged by the server with the snapshots of other
locations. ``snapshot_of(defs)`` builds one; the server never imports user code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codeloc._definitions import Definitions
from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue

__all__ = [
    "AssetNodeSnap",
    "DepSnap",
    "JobSnap",
    "LocationSnapshot",
    "RetryPolicySnap",
    "ScheduleSnap",
    "SensorSnap",
    "snapshot_of",
]

DepKind = Literal["data", "order"]


@dataclass(frozen=True, slots=True)
class DepSnap:
    """An edge to an upstream asset: ``data`` passes its value, ``order`` only orders."""

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
    is only declared here (an ``AssetSpec``) and materialized elsewhere."""

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


@dataclass(frozen=True, slots=True)
class JobSnap:
    name: str
    asset_keys: tuple[AssetKey, ...]
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


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
class LocationSnapshot:
    """Everything a location defines. ``hash`` changes exactly when the content does."""

    assets: tuple[AssetNodeSnap, ...]
    jobs: tuple[JobSnap, ...] = ()
    schedules: tuple[ScheduleSnap, ...] = ()
    sensors: tuple[SensorSnap, ...] = ()
    hash: str = ""


def snapshot_of(defs: Definitions) -> LocationSnapshot:
    """Describe ``defs`` as values, in a stable order, with a content hash."""
    graph = defs.graph
    jobs_of: dict[AssetKey, list[str]] = {}
    jobs: list[JobSnap] = []
    for job in defs.jobs:
        keys = sorted(defs.job_asset_keys(job.name))
        for key in keys:
            jobs_of.setdefault(key, []).append(job.name)
        jobs.append(JobSnap(job.name, tuple(keys), job.description, dict(job.tags)))

    nodes: list[AssetNodeSnap] = []
    for definition in defs.assets:
        config_type = definition.config_type
        schema = config_type.model_json_schema() if config_type is not None else None
        policy = definition.retry_policy
        retry = (
            RetryPolicySnap(
                policy.max_retries,
                policy.delay,
                policy.backoff.value if policy.backoff else None,
                policy.jitter.value if policy.jitter else None,
            )
            if policy
            else None
        )
        resources = tuple(sorted(definition.required_resource_keys))
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
                    metadata=dict(spec.metadata),
                    tags=dict(spec.tags),
                    owners=spec.owners,
                    config_schema=schema,
                    required_resources=resources,
                    retry_policy=retry,
                    is_executable=True,
                    jobs=tuple(jobs_of.get(spec.key, ())),
                )
            )
    for spec in graph.declared_external.values():
        nodes.append(
            AssetNodeSnap(
                key=spec.key,
                deps=tuple(DepSnap(d, "order") for d in spec.deps),
                group=spec.group,
                node_name="__".join(spec.key.path),
                description=spec.description,
                code_version=spec.code_version,
                metadata=dict(spec.metadata),
                tags=dict(spec.tags),
                owners=spec.owners,
                is_executable=False,
            )
        )
    nodes.sort(key=lambda n: n.key.path)
    schedules = tuple(
        ScheduleSnap(s.schedule_name, s.job.name, s.cron_schedule, s.execution_timezone)
        for s in defs.schedules
    )
    sensors = tuple(
        SensorSnap(s.name, s.job.name if s.job else None, s.minimum_interval_seconds)
        for s in defs.sensors
    )
    snapshot = LocationSnapshot(tuple(nodes), tuple(jobs), schedules, sensors)
    return LocationSnapshot(
        snapshot.assets,
        snapshot.jobs,
        snapshot.schedules,
        snapshot.sensors,
        snapshot_hash(snapshot),
    )


def snapshot_hash(snapshot: LocationSnapshot) -> str:
    """A content hash over every field of every node, independent of ``snapshot.hash``."""
    h = hashlib.sha256()
    for node in snapshot.assets:
        h.update(
            json.dumps(
                [
                    node.key.path,
                    [(d.key.path, d.kind) for d in node.deps],
                    node.group,
                    node.node_name,
                    node.description,
                    node.code_version,
                    {k: [v.kind, v.value] for k, v in sorted(node.metadata.items())},
                    sorted(node.tags.items()),
                    node.owners,
                    node.config_schema,
                    node.required_resources,
                    None
                    if node.retry_policy is None
                    else [
                        node.retry_policy.max_retries,
                        node.retry_policy.delay,
                        node.retry_policy.backoff,
                        node.retry_policy.jitter,
                    ],
                    node.is_executable,
                    node.jobs,
                ],
                sort_keys=True,
                default=str,
            ).encode()
        )
    for job in snapshot.jobs:
        h.update(json.dumps([job.name, [k.path for k in job.asset_keys]]).encode())
    for sched in snapshot.schedules:
        h.update(json.dumps([sched.name, sched.job_name, sched.cron_schedule]).encode())
    for sens in snapshot.sensors:
        h.update(json.dumps([sens.name, sens.job_name, sens.minimum_interval_seconds]).encode())
    return h.hexdigest()[:32]
