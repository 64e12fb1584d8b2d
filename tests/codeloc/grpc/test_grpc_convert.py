"""convert.py alone: every value survives its trip through protobuf, chunks stay bounded."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from codeloc import AssetKey, MetadataValue
from codeloc._loading import load_definitions
from codeloc._runs import RunStatus
from codeloc._snapshot import (
    AssetNodeSnap,
    DepSnap,
    JobSnap,
    LocationSnapshot,
    snapshot_of,
)
from codeloc.grpc import (
    EventDestination,
    LoadError,
    LocationInfo,
    RunLaunch,
    RunState,
    SnapshotInvalid,
    SnapshotRejected,
    convert,
)
from codeloc.protos.tessera.codelocation.v1 import snapshot_pb2 as snap_pb

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


@pytest.fixture(scope="module")
def rich() -> LocationSnapshot:
    return snapshot_of(load_definitions(module="grpc_rich", working_directory=str(RESOURCES)))


def through_the_wire(
    snapshot: LocationSnapshot, max_bytes: int = convert.CHUNK_BYTES
) -> LocationSnapshot:
    chunks = convert.to_snapshot_chunks(snapshot, max_bytes)
    return convert.from_snapshot_chunks(type(c).FromString(c.SerializeToString()) for c in chunks)


def test_every_field_of_a_snapshot_survives(rich: LocationSnapshot) -> None:
    # The module must exercise every field, or equality below proves little.
    for f in dataclasses.fields(AssetNodeSnap):
        values = [getattr(node, f.name) for node in rich.assets]
        assert any(v != f.default and v not in ((), {}, None) for v in values), f.name
    assert {n.is_executable for n in rich.assets} == {True, False}
    assert {d.kind for n in rich.assets for d in n.deps} == {"data", "order"}
    kinds = {v.kind for n in rich.assets for v in n.metadata.values()}
    assert kinds == MetadataValue.KINDS
    assert rich.schedules[0].execution_timezone == "Europe/Paris"
    assert {s.job_name for s in rich.sensors} == {"nightly", None}
    assert [(r.key, r.description) for r in rich.resources] == [
        ("store", "An object store."),
        ("warehouse", None),
    ]

    back = through_the_wire(rich)

    assert back == rich
    assert back.hash == rich.hash
    orders = next(n for n in back.assets if n.key == AssetKey(["raw", "orders"]))
    assert list(orders.metadata)[:3] == ["text", "count", "ratio"]  # the order the user wrote
    assert orders.metadata["big"] == MetadataValue.int(2**62)
    assert type(orders.metadata["count"].value) is int


def test_config_schema_numbers_keep_their_type(rich: LocationSnapshot) -> None:
    schema = next(n.config_schema for n in through_the_wire(rich).assets if n.config_schema)
    assert schema is not None
    props = schema["properties"]
    assert type(props["limit"]["default"]) is int
    assert props["ratio"]["default"] == 0.25
    assert props["names"]["default"] == []


def test_chunks_are_bounded_and_complete() -> None:
    nodes = tuple(
        AssetNodeSnap(
            key=AssetKey(["big", f"n{i:05d}"]),
            deps=(DepSnap(AssetKey(["big", f"n{i - 1:05d}"]), "order"),) if i else (),
            group="g",
            node_name=f"n{i}",
            description="x" * 500,
        )
        for i in range(3000)
    )
    snapshot = LocationSnapshot(nodes, hash="h")
    chunks = convert.to_snapshot_chunks(snapshot, max_bytes=64 * 1024)

    assert len(chunks) > 20
    assert chunks[0].header.chunk_count == len(chunks)
    assert chunks[0].header.asset_count == 3000
    biggest_node = max(n.ByteSize() for c in chunks for n in c.assets)
    assert max(c.ByteSize() for c in chunks) <= 64 * 1024 + biggest_node + 64
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert convert.from_snapshot_chunks(chunks) == snapshot

    with pytest.raises(SnapshotInvalid, match="incomplete snapshot"):
        convert.from_snapshot_chunks(chunks[:-1])
    with pytest.raises(SnapshotInvalid, match="expected 1"):
        convert.from_snapshot_chunks([chunks[0], chunks[2]])


def test_a_huge_job_is_split_over_chunks_and_joined_again() -> None:
    keys = tuple(AssetKey(["k", str(i)]) for i in range(convert.JOB_KEYS_PER_PIECE * 2 + 5))
    job = JobSnap("all", keys, "every key", {"team": "x"})
    snapshot = LocationSnapshot((), (job, JobSnap("empty", ())), hash="h")
    chunks = convert.to_snapshot_chunks(snapshot, max_bytes=256 * 1024)

    pieces = [j for c in chunks for j in c.jobs if j.name == "all"]
    assert len(pieces) == 3
    assert [p.continued for p in pieces] == [False, True, True]
    assert through_the_wire(snapshot, max_bytes=256 * 1024) == snapshot


def test_an_int_beyond_64_bits_names_the_asset() -> None:
    node = AssetNodeSnap(
        AssetKey("huge"), (), "g", "huge", metadata={"n": MetadataValue.int(2**70)}
    )
    with pytest.raises(ValueError, match=r"asset 'huge'.*64 bits"):
        convert.to_node(node)


def test_launch_info_and_run_state_round_trip() -> None:
    launch = RunLaunch(
        run_id="r-1",
        asset_keys=(AssetKey(["a", "b"]), AssetKey("c")),
        destination=EventDestination("http://x/events", "secret"),
        run_config={"ops": {"c": {"config": {"n": 3, "f": 0.5, "l": [1, "x", None]}}}},
        tags={"team": "bi"},
        executor="in_process",
        max_concurrent=2,
        cancel_grace=1.5,
        first_seq=3,
    )
    back = convert.from_launch(convert.to_launch(launch))
    assert back == launch
    assert type(back.run_config["ops"]["c"]["config"]["n"]) is int

    defaults = convert.from_launch(
        convert.to_launch(RunLaunch("r", (AssetKey("c"),), EventDestination("http://x")))
    )
    # No executor: the location's default.
    assert (defaults.executor, defaults.max_concurrent, defaults.first_seq) == (None, None, 1)
    for executor in ("multiprocess", "in_process", "celery"):
        sent = RunLaunch("r", (AssetKey("c"),), EventDestination("http://x"), executor=executor)
        assert convert.from_launch(convert.to_launch(sent)).executor == executor

    info = LocationInfo("loc", "id", "0.1.0", "failed", "", 0, LoadError("E", "m", "tb"), 12, 1.5)
    assert convert.from_info(convert.to_info(info)) == info
    loaded = LocationInfo("loc", "id", "0.1.0", "loaded", "abc", 7, None, 12, 1.5)
    assert convert.from_info(convert.to_info(loaded)) == loaded

    for state in (
        RunState("r", RunStatus.STARTED, 5, (AssetKey("a"),), 1.0),
        RunState("r", RunStatus.FAILURE, 5, (), 1.0, 2.0, "run worker was killed"),
    ):
        assert convert.from_run_state(convert.to_run_state(state)) == state


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"run_id": ""}, "run_id"),
        ({"asset_keys": ()}, "asset_keys"),
        ({"destination": EventDestination("")}, "url"),
    ],
)
def test_a_launch_without_essentials_is_refused(change: dict[str, object], message: str) -> None:
    launch = RunLaunch("r", (AssetKey("c"),), EventDestination("http://x"))
    request = convert.to_launch(dataclasses.replace(launch, **change))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        convert.from_launch(request)


def _good_chunks() -> list[snap_pb.SnapshotChunk]:
    nodes = (
        AssetNodeSnap(AssetKey("a"), (), "g", "a"),
        AssetNodeSnap(AssetKey(["b", "c"]), (DepSnap(AssetKey("a"), "data"),), "g", "c"),
    )
    return convert.to_snapshot_chunks(LocationSnapshot(nodes, hash="h"))


def _spoil(change: str) -> list[snap_pb.SnapshotChunk]:
    chunks = _good_chunks()
    first = chunks[0]
    if change == "no header":
        first.ClearField("header")
    elif change == "no hash":
        first.header.snapshot_hash = ""
    elif change == "empty key":
        del first.assets[0].key.path[:]
    elif change == "empty segment":
        first.assets[1].key.path.append("")
    elif change == "dep kind":
        first.assets[1].deps[0].kind = 7  # type: ignore[assignment]
    elif change == "dep key":
        del first.assets[1].deps[0].key.path[:]
    elif change == "backoff":
        first.assets[0].retry_policy.backoff = 9  # type: ignore[assignment]
    elif change == "too many assets":
        first.header.asset_count = 1
    elif change == "duplicate":
        first.assets[1].key.CopyFrom(first.assets[0].key)
        del first.assets[1].deps[:]
    elif change == "too many chunks":
        chunks.append(snap_pb.SnapshotChunk(index=1))
    elif change == "second header":
        first.header.chunk_count = 2
        chunks.append(snap_pb.SnapshotChunk(index=1, header=first.header))
    elif change == "continued job":
        first.jobs.add(name="j", continued=True)
    return chunks


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no header", "first snapshot chunk has no header"),
        ("no hash", "no snapshot_hash"),
        ("empty key", "chunk 0: asset '': key: an AssetKey needs at least one segment"),
        ("empty segment", "asset 'b/c/': key: asset key segments must be non-empty"),
        ("dep kind", "asset 'b/c': dependency 0 has an unknown kind 7"),
        ("dep key", "asset 'b/c': dependency 0: an AssetKey needs at least one segment"),
        ("backoff", "asset 'a': retry_policy has an unknown backoff 9"),
        ("too many assets", "more than the 1 assets the header announced"),
        ("duplicate", "asset 'a' appears twice"),
        ("too many chunks", "chunk 1 is past the 1 the header announced"),
        ("second header", "chunk 1 has a second header"),
        ("continued job", "job 'j' continues, but it did not start"),
    ],
)
def test_a_malformed_snapshot_names_what_is_wrong(change: str, message: str) -> None:
    assert convert.from_snapshot_chunks(_good_chunks()).hash == "h"
    with pytest.raises(SnapshotInvalid, match=re.escape(message)):
        convert.from_snapshot_chunks(_spoil(change))


def test_an_assembler_bounds_the_assets_and_keys_it_builds() -> None:
    header = snap_pb.SnapshotHeader(snapshot_hash="h", asset_count=3, chunk_count=1)
    with pytest.raises(SnapshotRejected, match="announces 3 assets, more than the limit of 2"):
        convert.SnapshotAssembler(max_assets=2).add(snap_pb.SnapshotChunk(header=header))

    # Within the asset limit, but naming ever more keys: each costs far more in memory.
    header.asset_count = 1
    chunk = snap_pb.SnapshotChunk(header=header)
    node = chunk.assets.add(group="g", node_name="n")
    node.key.path.append("a")
    for i in range(10):
        node.deps.add(kind=snap_pb.DEP_KIND_DATA).key.path.append(f"d{i}")
    with pytest.raises(SnapshotRejected, match="more than 4 asset keys"):
        convert.SnapshotAssembler(max_assets=2).add(chunk)
    assembler = convert.SnapshotAssembler(max_assets=6)
    assembler.add(chunk)
    assert len(assembler.result().assets[0].deps) == 10


def test_table_metadata_keeps_its_types_and_order(rich: LocationSnapshot) -> None:
    orders = next(n for n in through_the_wire(rich).assets if n.key == AssetKey(["raw", "orders"]))
    schema = orders.metadata["dagster/column_schema"].schema
    assert list(schema.columns[0].tags) == ["pk", "domain", "a"]  # the order the user wrote
    assert schema.columns[0].constraints.other == [">0"]
    assert schema.constraints.other == ["amount >= 0"]
    first, second = orders.metadata["sample"].records
    assert [type(v) for v in first.data.values()] == [int, float, bool, type(None), str]
    assert second.data["id"] == 2**62
    assert list(first.data) == ["id", "amount", "paid", "note", "who"]
    lineage = orders.metadata["dagster/column_lineage"].lineage
    assert [d.asset_key for d in lineage.deps_by_column["id"]] == [
        AssetKey("b"),
        AssetKey(["vendor", "feed"]),
    ]
