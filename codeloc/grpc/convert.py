"""The edge between protobuf messages and the project's dataclasses.

Every ``*_pb2`` type stays in this module (and in the servicer and the client, which only
pass messages through it). ``to_*`` functions build messages, ``from_*`` functions read
them back; for every value ``from_x(to_x(v)) == v``.

JSON-shaped values (run config, config schemas, ``json`` metadata) travel as
``google.protobuf.Struct``/``Value``, whose numbers are doubles: an integral double comes
back as an ``int``, which compares equal to the float it may have been.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from google.protobuf import struct_pb2

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._runs import ExecutorName, RunStatus
from codeloc._snapshot import (
    AssetNodeSnap,
    DepKind,
    DepSnap,
    JobSnap,
    LocationSnapshot,
    ResourceSnap,
    RetryPolicySnap,
    ScheduleSnap,
    SensorSnap,
)
from codeloc.grpc._errors import SnapshotInvalid, SnapshotRejected
from codeloc.grpc._model import (
    DEFAULT_CANCEL_GRACE,
    EventDestination,
    LoadError,
    LoadState,
    LocationInfo,
    RunLaunch,
    RunState,
)
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2 as cl_pb
from codeloc.protos.tessera.codelocation.v1 import runs_pb2 as runs_pb
from codeloc.protos.tessera.codelocation.v1 import snapshot_pb2 as snap_pb

__all__ = [
    "SnapshotAssembler",
    "from_info",
    "from_launch",
    "from_node",
    "from_run_state",
    "from_struct",
    "to_info",
    "to_launch",
    "to_node",
    "to_run_state",
    "to_snapshot_chunks",
    "to_struct",
    "unchanged_chunk",
]

CHUNK_BYTES = 1 << 20
"""Target size of one snapshot chunk; far below gRPC's default 4 MiB receive limit."""

JOB_KEYS_PER_PIECE = 20_000

_INT64 = (-(2**63), 2**63 - 1)
# A double holds every integer up to 2**53 exactly; beyond, an integral double stays a float.
_EXACT_INT = 2**53


# -- JSON values --------------------------------------------------------------------------------


def to_struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {k: _from_value(v) for k, v in struct.fields.items()}


def _to_value(data: Any, value: struct_pb2.Value) -> None:
    if data is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(data, bool):
        value.bool_value = data
    elif isinstance(data, int | float):
        value.number_value = data
    elif isinstance(data, str):
        value.string_value = data
    elif isinstance(data, Mapping):
        value.struct_value.update(data)
    else:
        value.list_value.extend(data)


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) <= _EXACT_INT:
            return int(number)
        return number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    return None


# -- metadata -----------------------------------------------------------------------------------

_SCALAR_FIELDS = {
    "text": "text",
    "int": "int_value",
    "float": "float_value",
    "bool": "bool_value",
    "md": "markdown",
    "url": "url",
    "path": "path",
    "notebook": "notebook",
    "timestamp": "timestamp",
    "run": "run_id",
    "pool": "pool",
}
_KIND_OF_FIELD = {f: k for k, f in _SCALAR_FIELDS.items()}


def to_metadata_value(value: MetadataValue) -> snap_pb.MetadataValue:
    msg = snap_pb.MetadataValue()
    kind = value.kind
    if kind == "int" and not _INT64[0] <= value.value <= _INT64[1]:
        raise ValueError(f"metadata int {value.value} does not fit in 64 bits")
    if kind in _SCALAR_FIELDS:
        setattr(msg, _SCALAR_FIELDS[kind], value.value)
    elif kind == "json":
        _to_value(value.value, msg.json)
    elif kind == "null":
        msg.null = struct_pb2.NULL_VALUE
    elif kind == "python_artifact":
        msg.python_artifact.module = value.value["module"]
        msg.python_artifact.name = value.value["name"]
    elif kind == "job":
        job = value.value
        msg.job.job_name = job["job_name"]
        msg.job.location_name = job["location_name"]
        if job.get("repository_name") is not None:
            msg.job.repository_name = job["repository_name"]
    elif kind == "table_schema":
        _to_table_schema(value.value, msg.table_schema)
    elif kind == "table":
        _to_table(value.value, msg.table)
    elif kind == "column_lineage":
        _to_column_lineage(value.value, msg.column_lineage)
    else:  # asset
        msg.asset.path.extend(AssetKey.from_user_string(value.value).path)
    return msg


# Table values cross as their JSON form (codeloc._table), which the messages mirror field by field.


def _to_table_schema(schema: Mapping[str, Any], msg: snap_pb.TableSchema) -> None:
    for column in schema["columns"]:
        cons = column["constraints"]
        col = msg.columns.add(
            name=column["name"],
            type=column["type"],
            nullable=cons["nullable"],
            unique=cons["unique"],
            other_constraints=cons["other"],
            tags=[snap_pb.ColumnTag(key=k, value=v) for k, v in column["tags"].items()],
        )
        if column["description"] is not None:
            col.description = column["description"]
    msg.constraints.extend(schema["constraints"]["other"])


def _from_table_schema(msg: snap_pb.TableSchema) -> dict[str, Any]:
    return {
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "description": c.description if c.HasField("description") else None,
                "constraints": {
                    "nullable": c.nullable,
                    "unique": c.unique,
                    "other": list(c.other_constraints),
                },
                "tags": {t.key: t.value for t in c.tags},
            }
            for c in msg.columns
        ],
        "constraints": {"other": list(msg.constraints)},
    }


def _to_table(table: Mapping[str, Any], msg: snap_pb.Table) -> None:
    for row in table["records"]:
        record = msg.records.add()
        for name, v in row.items():
            f = record.fields.add(name=name)
            if v is None:
                f.null = struct_pb2.NULL_VALUE
            elif isinstance(v, bool):  # before int: bool is a subclass of int
                f.bool_value = v
            elif isinstance(v, int):
                if not _INT64[0] <= v <= _INT64[1]:
                    raise ValueError(f"table value {v} of column {name!r} does not fit in 64 bits")
                f.int_value = v
            elif isinstance(v, float):
                f.float_value = v
            else:
                f.text = v
    _to_table_schema(table["schema"], msg.schema)


def _field_value(f: snap_pb.TableField) -> Any:
    which = f.WhichOneof("value")
    if which is None or which == "null":
        return None
    return getattr(f, which)


def _from_table(msg: snap_pb.Table) -> dict[str, Any]:
    return {
        "records": [{f.name: _field_value(f) for f in r.fields} for r in msg.records],
        "schema": _from_table_schema(msg.schema),
    }


def _to_column_lineage(lineage: Mapping[str, Any], msg: snap_pb.TableColumnLineage) -> None:
    for column, deps in lineage["deps_by_column"].items():
        entry = msg.columns.add(column=column)
        for dep in deps:
            entry.deps.add(
                asset_key=snap_pb.AssetKey(path=AssetKey.from_user_string(dep["asset_key"]).parts),
                column_name=dep["column_name"],
            )


def _from_column_lineage(msg: snap_pb.TableColumnLineage) -> dict[str, Any]:
    return {
        "deps_by_column": {
            c.column: [
                {"asset_key": "/".join(d.asset_key.path), "column_name": d.column_name}
                for d in c.deps
            ]
            for c in msg.columns
        }
    }


def from_metadata_value(msg: snap_pb.MetadataValue) -> MetadataValue:
    which = msg.WhichOneof("value")
    if which in _KIND_OF_FIELD:
        return MetadataValue(_KIND_OF_FIELD[which], getattr(msg, which))
    if which == "json":
        return MetadataValue("json", _from_value(msg.json))
    if which == "asset":
        return MetadataValue("asset", "/".join(msg.asset.path))
    if which == "python_artifact":
        artifact = msg.python_artifact
        return MetadataValue("python_artifact", {"module": artifact.module, "name": artifact.name})
    if which == "job":
        job = msg.job
        return MetadataValue(
            "job",
            {
                "job_name": job.job_name,
                "location_name": job.location_name,
                "repository_name": job.repository_name if job.HasField("repository_name") else None,
            },
        )
    if which == "table_schema":
        return MetadataValue("table_schema", _from_table_schema(msg.table_schema))
    if which == "table":
        return MetadataValue("table", _from_table(msg.table))
    if which == "column_lineage":
        return MetadataValue("column_lineage", _from_column_lineage(msg.column_lineage))
    return MetadataValue("null", None)


def _to_metadata(metadata: Mapping[str, MetadataValue]) -> list[snap_pb.MetadataEntry]:
    return [snap_pb.MetadataEntry(name=k, value=to_metadata_value(v)) for k, v in metadata.items()]


def _from_metadata(entries: Iterable[snap_pb.MetadataEntry]) -> dict[str, MetadataValue]:
    return {e.name: from_metadata_value(e.value) for e in entries}


# -- asset nodes --------------------------------------------------------------------------------

_DEP_KIND: dict[DepKind, snap_pb.DepKind.ValueType] = {
    "data": snap_pb.DEP_KIND_DATA,
    "order": snap_pb.DEP_KIND_ORDER,
}
_DEP_KIND_BACK = {v: k for k, v in _DEP_KIND.items()}
_BACKOFF = {None: snap_pb.BACKOFF_UNSPECIFIED, "LINEAR": snap_pb.BACKOFF_LINEAR}
_BACKOFF["EXPONENTIAL"] = snap_pb.BACKOFF_EXPONENTIAL
_BACKOFF_BACK = {v: k for k, v in _BACKOFF.items()}
_JITTER = {None: snap_pb.JITTER_UNSPECIFIED, "FULL": snap_pb.JITTER_FULL}
_JITTER["PLUS_MINUS"] = snap_pb.JITTER_PLUS_MINUS
_JITTER_BACK = {v: k for k, v in _JITTER.items()}


def to_node(node: AssetNodeSnap) -> snap_pb.AssetNode:
    return snap_pb.AssetNode(**_node_fields(node))


def _node_fields(node: AssetNodeSnap) -> dict[str, Any]:
    # Nested dicts rather than nested messages: upb builds them without a Python object per
    # key and dependency, which halves the cost of a 100,000-asset snapshot.
    fields: dict[str, Any] = {
        "key": {"path": node.key.parts},
        "group": node.group,
        "node_name": node.node_name,
        "is_executable": node.is_executable,
    }
    if node.deps:
        fields["deps"] = [
            {"key": {"path": d.key.parts}, "kind": _DEP_KIND[d.kind]} for d in node.deps
        ]
    if node.description is not None:
        fields["description"] = node.description
    if node.code_version is not None:
        fields["code_version"] = node.code_version
    if node.metadata:
        try:
            fields["metadata"] = _to_metadata(node.metadata)
        except ValueError as exc:
            raise ValueError(f"asset '{node.key.to_user_string()}': {exc}") from None
    if node.tags:
        fields["tags"] = node.tags
    if node.owners:
        fields["owners"] = node.owners
    if node.config_schema is not None:
        fields["config_schema"] = to_struct(node.config_schema)
    if node.ops_config_schema is not None:
        fields["ops_config_schema"] = to_struct(node.ops_config_schema)
    if node.required_resources:
        fields["required_resources"] = node.required_resources
    if node.jobs:
        fields["jobs"] = node.jobs
    if not node.can_subset:
        fields["cannot_subset"] = True
    if node.retry_policy is not None:
        fields["retry_policy"] = _retry_fields(node.retry_policy)
    return fields


def _retry_fields(policy: RetryPolicySnap) -> dict[str, Any]:
    return {
        "max_retries": policy.max_retries,
        "delay": policy.delay,
        "backoff": _BACKOFF[policy.backoff],
        "jitter": _JITTER[policy.jitter],
    }


def _retry_from_proto(p: snap_pb.RetryPolicy) -> RetryPolicySnap:
    return RetryPolicySnap(
        p.max_retries,
        p.delay if p.HasField("delay") else None,
        _BACKOFF_BACK[p.backoff],
        _JITTER_BACK[p.jitter],
    )


class _Keys:
    """Builds each distinct ``AssetKey`` and ``DepSnap`` once: a key recurs as a node and
    in its dependents.

    Past ``limit`` distinct ones it raises ``SnapshotRejected``: a few bytes on the wire
    make a few hundred in memory, so the byte limit of a stream alone does not bound them.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._keys: dict[bytes, AssetKey] = {}
        self._deps: dict[bytes, DepSnap] = {}
        self._limit = limit

    def __call__(self, msg: snap_pb.AssetKey) -> AssetKey:
        # The encoded message is a cheaper dict key than a tuple of its segments.
        raw = msg.SerializeToString()
        key = self._keys.get(raw)
        if key is None:
            self._check(self._keys)
            key = self._keys[raw] = AssetKey(tuple(msg.path))
        return key

    def dep(self, msg: snap_pb.AssetDep) -> DepSnap:
        raw = msg.SerializeToString()
        dep = self._deps.get(raw)
        if dep is None:
            self._check(self._deps)
            dep = self._deps[raw] = DepSnap(self(msg.key), _DEP_KIND_BACK[msg.kind])
        return dep

    def _check(self, seen: dict[bytes, Any]) -> None:
        if self._limit is not None and len(seen) >= self._limit:
            raise SnapshotRejected(f"snapshot names more than {self._limit:,} asset keys")


def from_node(msg: snap_pb.AssetNode, keys: _Keys | None = None) -> AssetNodeSnap:
    key_of = keys or _Keys()
    has = msg.HasField
    policy = _retry_from_proto(msg.retry_policy) if has("retry_policy") else None
    deps = msg.deps
    metadata = msg.metadata
    tags = msg.tags
    # Positional arguments, in the order of AssetNodeSnap's fields: this runs once per asset.
    return AssetNodeSnap(
        key_of(msg.key),
        tuple([key_of.dep(d) for d in deps]) if deps else (),
        msg.group,
        msg.node_name,
        msg.description if has("description") else None,
        msg.code_version if has("code_version") else None,
        _from_metadata(metadata) if metadata else {},
        dict(tags) if tags else {},
        tuple(msg.owners),
        from_struct(msg.config_schema) if has("config_schema") else None,
        tuple(msg.required_resources),
        policy,
        msg.is_executable,
        tuple(msg.jobs),
        not msg.cannot_subset,
        from_struct(msg.ops_config_schema) if has("ops_config_schema") else None,
    )


# -- the snapshot stream ------------------------------------------------------------------------


def to_snapshot_chunks(
    snapshot: LocationSnapshot, max_bytes: int = CHUNK_BYTES
) -> list[snap_pb.SnapshotChunk]:
    """``snapshot`` as chunks of about ``max_bytes`` each; the first carries the header."""
    chunks: list[snap_pb.SnapshotChunk] = [snap_pb.SnapshotChunk()]
    size = 0

    def room(item_size: int) -> snap_pb.SnapshotChunk:
        nonlocal size
        if size and size + item_size > max_bytes:
            chunks.append(snap_pb.SnapshotChunk(index=len(chunks)))
            size = 0
        size += item_size + 8  # the field tag and length prefix, roughly
        return chunks[-1]

    for node in snapshot.assets:
        # Added in place (``append`` would copy), so a chunk may pass the target by one node.
        msg = room(0).assets.add(**_node_fields(node))
        size += msg.ByteSize()
    for job in snapshot.jobs:
        for piece in _job_pieces(job):
            room(piece.ByteSize()).jobs.append(piece)
    for sched in snapshot.schedules:
        room(256).schedules.append(
            snap_pb.Schedule(
                name=sched.name,
                job_name=sched.job_name,
                cron_schedule=sched.cron_schedule,
                execution_timezone=sched.execution_timezone,
            )
        )
    for sensor in snapshot.sensors:
        room(256).sensors.append(
            snap_pb.Sensor(
                name=sensor.name,
                job_name=sensor.job_name,
                minimum_interval_seconds=sensor.minimum_interval_seconds,
            )
        )
    chunks[0].resources.extend(_to_resource(r) for r in snapshot.resources)
    chunks[0].header.CopyFrom(
        snap_pb.SnapshotHeader(
            snapshot_hash=snapshot.hash,
            asset_count=len(snapshot.assets),
            chunk_count=len(chunks),
        )
    )
    return chunks


def _to_resource(resource: ResourceSnap) -> snap_pb.Resource:
    msg = snap_pb.Resource(key=resource.key, type=resource.type)
    if resource.description is not None:
        msg.description = resource.description
    if resource.config_schema is not None:
        msg.config_schema.update(resource.config_schema)
    return msg


def _from_resource(msg: snap_pb.Resource) -> ResourceSnap:
    return ResourceSnap(
        msg.key,
        msg.type,
        msg.description if msg.HasField("description") else None,
        from_struct(msg.config_schema) if msg.HasField("config_schema") else None,
    )


def _job_pieces(job: JobSnap) -> Iterator[snap_pb.Job]:
    keys = job.asset_keys
    for start in range(0, max(len(keys), 1), JOB_KEYS_PER_PIECE):
        piece = snap_pb.Job(
            name=job.name,
            asset_keys=_keys_to_proto(keys[start : start + JOB_KEYS_PER_PIECE]),
            continued=start > 0,
        )
        if start == 0:
            if job.description is not None:
                piece.description = job.description
            piece.tags.update(job.tags)
            if job.op_retry_policy is not None:
                piece.op_retry_policy.CopyFrom(
                    snap_pb.RetryPolicy(**_retry_fields(job.op_retry_policy))
                )
            if job.config is not None:
                try:
                    piece.config.CopyFrom(to_struct(job.config))
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"job '{job.name}': its config is not JSON: {exc}") from None
        yield piece


def unchanged_chunk(snapshot_hash: str, asset_count: int) -> snap_pb.SnapshotChunk:
    """The whole stream when the receiver already has the snapshot with this hash."""
    return snap_pb.SnapshotChunk(
        header=snap_pb.SnapshotHeader(
            snapshot_hash=snapshot_hash, asset_count=asset_count, chunk_count=1, unchanged=True
        )
    )


class SnapshotAssembler:
    """Reads a snapshot stream chunk by chunk; ``result()`` checks that nothing is missing.

    The sender is untrusted: anything that does not add up raises ``SnapshotInvalid``
    naming the chunk and what is wrong, at the chunk where it shows. A stream that sends
    more chunks or assets than its header announced stops at the first one too many, and
    past ``max_assets`` (or twice as many distinct keys) it raises ``SnapshotRejected``.
    """

    def __init__(self, max_assets: int | None = None) -> None:
        self.header: snap_pb.SnapshotHeader | None = None
        self.max_assets = max_assets
        self._count = 0
        self._keys = _Keys(None if max_assets is None else 2 * max_assets)
        self._assets: list[AssetNodeSnap] = []
        self._jobs: list[JobSnap] = []
        self._schedules: list[ScheduleSnap] = []
        self._sensors: list[SensorSnap] = []
        self._resources: list[ResourceSnap] = []

    @property
    def unchanged(self) -> bool:
        return self.header is not None and self.header.unchanged

    def add(self, chunk: snap_pb.SnapshotChunk) -> None:
        index = self._count
        if chunk.index != index:
            raise SnapshotInvalid(f"snapshot chunk {chunk.index} arrived, expected {index}")
        header = self._header(chunk)
        if index >= header.chunk_count:
            raise SnapshotInvalid(
                f"snapshot chunk {index} is past the {header.chunk_count} the header announced"
            )
        if len(self._assets) + len(chunk.assets) > header.asset_count:
            raise SnapshotInvalid(
                f"snapshot chunk {index} brings more than the {header.asset_count} assets "
                "the header announced"
            )
        self._count += 1
        try:
            self._add(chunk)
        except (KeyError, ValueError, TypeError) as exc:
            # Found again node by node only now: the happy path converts a chunk at once.
            raise SnapshotInvalid(f"snapshot chunk {index}: {_chunk_problem(chunk, exc)}") from None

    def clear(self) -> None:
        """Drop what was read so far: the stream was cut off."""
        for parts in (self._assets, self._jobs, self._schedules, self._sensors, self._resources):
            parts.clear()
        self._keys = _Keys()

    def _header(self, chunk: snap_pb.SnapshotChunk) -> snap_pb.SnapshotHeader:
        if self.header is not None:
            if chunk.HasField("header"):
                raise SnapshotInvalid(f"snapshot chunk {chunk.index} has a second header")
            return self.header
        if not chunk.HasField("header"):
            raise SnapshotInvalid("the first snapshot chunk has no header")
        header = chunk.header
        if not header.snapshot_hash:
            raise SnapshotInvalid("the snapshot header has no snapshot_hash")
        if header.chunk_count < 1 or (header.unchanged and header.chunk_count != 1):
            raise SnapshotInvalid(f"the snapshot header announces {header.chunk_count} chunks")
        if self.max_assets is not None and header.asset_count > self.max_assets:
            raise SnapshotRejected(
                f"snapshot announces {header.asset_count:,} assets, "
                f"more than the limit of {self.max_assets:,}"
            )
        self.header = header
        return header

    def _add(self, chunk: snap_pb.SnapshotChunk) -> None:
        keys = self._keys
        self._assets.extend(from_node(n, keys) for n in chunk.assets)
        for job in chunk.jobs:
            job_keys = tuple(keys(k) for k in job.asset_keys)
            if job.continued:
                if not self._jobs or self._jobs[-1].name != job.name:
                    raise ValueError(f"job '{job.name}' continues, but it did not start")
                last = self._jobs[-1]
                self._jobs[-1] = replace(last, asset_keys=last.asset_keys + job_keys)
            else:
                has = job.HasField
                self._jobs.append(
                    JobSnap(
                        job.name,
                        job_keys,
                        job.description if has("description") else None,
                        dict(job.tags),
                        _retry_from_proto(job.op_retry_policy) if has("op_retry_policy") else None,
                        from_struct(job.config) if has("config") else None,
                    )
                )
        self._schedules.extend(
            ScheduleSnap(
                s.name,
                s.job_name,
                s.cron_schedule,
                s.execution_timezone if s.HasField("execution_timezone") else None,
            )
            for s in chunk.schedules
        )
        self._sensors.extend(
            SensorSnap(
                s.name,
                s.job_name if s.HasField("job_name") else None,
                s.minimum_interval_seconds,
            )
            for s in chunk.sensors
        )
        self._resources.extend(_from_resource(r) for r in chunk.resources)

    def result(self) -> LocationSnapshot:
        header = self.header
        if header is None:
            raise SnapshotInvalid("the snapshot stream had no header")
        if self._count != header.chunk_count or len(self._assets) != header.asset_count:
            raise SnapshotInvalid(
                f"incomplete snapshot: {self._count} of {header.chunk_count} chunks, "
                f"{len(self._assets)} of {header.asset_count} assets"
            )
        seen: set[AssetKey] = set()
        for node in self._assets:
            if node.key in seen:
                raise SnapshotInvalid(f"asset '{node.key.to_user_string()}' appears twice")
            seen.add(node.key)
        return LocationSnapshot(
            tuple(self._assets),
            tuple(self._jobs),
            tuple(self._schedules),
            tuple(self._sensors),
            header.snapshot_hash,
            tuple(self._resources),
        )


def _chunk_problem(chunk: snap_pb.SnapshotChunk, exc: Exception) -> str:
    """What is wrong in ``chunk``, naming the asset: ``exc`` alone may be a bare ``KeyError``."""
    for node in chunk.assets:
        try:
            from_node(node)
        except (KeyError, ValueError, TypeError) as node_exc:
            name = "/".join(node.key.path)[:200]
            return f"asset '{name}': {_node_problem(node) or _exc_text(node_exc)}"
    return _exc_text(exc)


def _node_problem(msg: snap_pb.AssetNode) -> str | None:
    try:
        AssetKey(tuple(msg.key.path))
    except ValueError as exc:
        return f"key: {exc}"
    for i, dep in enumerate(msg.deps):
        try:
            AssetKey(tuple(dep.key.path))
        except ValueError as exc:
            return f"dependency {i}: {exc}"
        if dep.kind not in _DEP_KIND_BACK:
            return f"dependency {i} has an unknown kind {dep.kind}"
    policy = msg.retry_policy
    if msg.HasField("retry_policy") and policy.backoff not in _BACKOFF_BACK:
        return f"retry_policy has an unknown backoff {policy.backoff}"
    if msg.HasField("retry_policy") and policy.jitter not in _JITTER_BACK:
        return f"retry_policy has an unknown jitter {policy.jitter}"
    return None


def _exc_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def from_snapshot_chunks(chunks: Iterable[snap_pb.SnapshotChunk]) -> LocationSnapshot:
    assembler = SnapshotAssembler()
    for chunk in chunks:
        assembler.add(chunk)
    return assembler.result()


# -- location info ------------------------------------------------------------------------------

_LOAD_STATE: dict[LoadState, cl_pb.LoadState.ValueType] = {
    "loading": cl_pb.LOAD_STATE_LOADING,
    "loaded": cl_pb.LOAD_STATE_LOADED,
    "failed": cl_pb.LOAD_STATE_FAILED,
}
_LOAD_STATE_BACK = {v: k for k, v in _LOAD_STATE.items()}


def to_info(info: LocationInfo) -> cl_pb.LocationInfo:
    msg = cl_pb.LocationInfo(
        name=info.name,
        server_id=info.server_id,
        sdk_version=info.sdk_version,
        state=_LOAD_STATE[info.state],
        snapshot_hash=info.snapshot_hash,
        asset_count=info.asset_count,
        pid=info.pid,
        started_at=info.started_at,
    )
    error = info.load_error
    if error is not None:
        msg.load_error.CopyFrom(
            cl_pb.LoadError(type=error.type, message=error.message, traceback=error.traceback)
        )
    return msg


def from_info(msg: cl_pb.LocationInfo) -> LocationInfo:
    error = msg.load_error
    return LocationInfo(
        name=msg.name,
        server_id=msg.server_id,
        sdk_version=msg.sdk_version,
        state=_LOAD_STATE_BACK.get(msg.state, "loading"),
        snapshot_hash=msg.snapshot_hash,
        asset_count=msg.asset_count,
        load_error=LoadError(error.type, error.message, error.traceback)
        if msg.HasField("load_error")
        else None,
        pid=msg.pid,
        started_at=msg.started_at,
    )


# -- runs ---------------------------------------------------------------------------------------

_EXECUTOR: dict[ExecutorName, runs_pb.Executor.ValueType] = {
    "multiprocess": runs_pb.EXECUTOR_MULTIPROCESS,
    "in_process": runs_pb.EXECUTOR_IN_PROCESS,
    "celery": runs_pb.EXECUTOR_CELERY,
}
_EXECUTOR_BACK = {v: k for k, v in _EXECUTOR.items()}
_RUN_STATUS = {s: getattr(runs_pb, f"RUN_STATUS_{s.value}") for s in RunStatus}
_RUN_STATUS_BACK = {v: k for k, v in _RUN_STATUS.items()}


def _keys_to_proto(keys: Sequence[AssetKey]) -> list[snap_pb.AssetKey]:
    return [snap_pb.AssetKey(path=k.parts) for k in keys]


def to_launch(launch: RunLaunch) -> runs_pb.LaunchRunRequest:
    return runs_pb.LaunchRunRequest(
        run_id=launch.run_id,
        asset_keys=_keys_to_proto(launch.asset_keys),
        run_config=to_struct(launch.run_config),
        tags=launch.tags,
        destination=runs_pb.EventDestination(
            url=launch.destination.url, bearer_token=launch.destination.token
        ),
        executor=runs_pb.EXECUTOR_UNSPECIFIED
        if launch.executor is None
        else _EXECUTOR[launch.executor],
        max_concurrent=launch.max_concurrent,
        cancel_grace_seconds=launch.cancel_grace,
        first_seq=launch.first_seq,
    )


def from_launch(msg: runs_pb.LaunchRunRequest) -> RunLaunch:
    """Raises ``ValueError`` on a request that names no run, no asset or no destination."""
    if not msg.run_id:
        raise ValueError("run_id is required")
    if not msg.asset_keys:
        raise ValueError("asset_keys is empty: select at least one asset")
    if not msg.destination.url:
        raise ValueError("destination.url is required")
    return RunLaunch(
        run_id=msg.run_id,
        asset_keys=tuple(AssetKey(tuple(k.path)) for k in msg.asset_keys),
        destination=EventDestination(msg.destination.url, msg.destination.bearer_token),
        run_config=from_struct(msg.run_config),
        tags=dict(msg.tags),
        executor=_EXECUTOR_BACK.get(msg.executor),
        max_concurrent=msg.max_concurrent if msg.HasField("max_concurrent") else None,
        cancel_grace=msg.cancel_grace_seconds
        if msg.HasField("cancel_grace_seconds")
        else DEFAULT_CANCEL_GRACE,
        first_seq=max(1, msg.first_seq),
    )


def to_run_state(state: RunState) -> runs_pb.RunState:
    return runs_pb.RunState(
        run_id=state.run_id,
        status=_RUN_STATUS[state.status],
        pid=state.pid,
        asset_keys=_keys_to_proto(state.asset_keys),
        started_at=state.started_at,
        ended_at=state.ended_at,
        error=state.error,
    )


def from_run_state(msg: runs_pb.RunState) -> RunState:
    return RunState(
        run_id=msg.run_id,
        status=_RUN_STATUS_BACK[msg.status],
        pid=msg.pid,
        asset_keys=tuple(AssetKey(tuple(k.path)) for k in msg.asset_keys),
        started_at=msg.started_at,
        ended_at=msg.ended_at if msg.HasField("ended_at") else None,
        error=msg.error if msg.HasField("error") else None,
    )
