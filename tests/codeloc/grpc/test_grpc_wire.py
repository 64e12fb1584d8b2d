"""The ingest wire format: what workers POST and the server reads back."""

from __future__ import annotations

import json

import pytest

from codeloc import AssetKey, MetadataValue
from codeloc._wire import (
    BATCH_JSON_SCHEMA,
    Batch,
    WireError,
    batch_from_json,
    batch_to_json,
    event_from_json,
    event_to_json,
)
from codeloc.engine import AssetMaterialization, Event, EventType


def test_an_event_with_every_field_round_trips_through_json() -> None:
    metadata = {
        "rows": MetadataValue.int(5),
        "ratio": MetadataValue.float(0.5),
        "doc": MetadataValue.md("# x"),
        "extra": MetadataValue.json({"a": [1, None]}),
        "none": MetadataValue.null(),
    }
    event = Event(
        EventType.ASSET_MATERIALIZATION,
        "run-1",
        seq=7,
        timestamp=1716.25,
        level="INFO",
        step_key="orders",
        asset_key=AssetKey(["raw", "orders"]),
        message="materialized 'raw/orders'",
        metadata=metadata,
        materialization=AssetMaterialization(
            AssetKey(["raw", "orders"]), metadata, {"tessera/code_version": "v2"}, "v2", "abc"
        ),
        error=None,
    )

    data = json.loads(json.dumps(event_to_json(event)))

    assert data["asset_key"] == ["raw", "orders"]
    assert data["metadata"]["rows"] == {"kind": "int", "value": 5}
    assert "run_id" not in data  # once per batch
    assert event_from_json(data, "run-1") == event


def test_a_failure_event_and_a_batch() -> None:
    event = Event(
        EventType.STEP_FAILURE, "r", seq=3, level="ERROR", step_key="s", error="Traceback …"
    )
    body = batch_to_json("r", [event])
    assert body["run_id"] == "r"
    (data,) = body["events"]
    assert data["materialization"] is None
    assert data["asset_key"] is None
    assert event_from_json(data, "r") == event


def test_a_batch_reads_back_and_agrees_with_its_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    events = [
        Event(EventType.LOG, "r", seq=1, timestamp=1.0, message="hello"),
        Event(
            EventType.ASSET_MATERIALIZATION,
            "r",
            seq=2,
            timestamp=2.0,
            asset_key=AssetKey(["a", "b"]),
            metadata={"rows": MetadataValue.int(3)},
            materialization=AssetMaterialization(AssetKey(["a", "b"]), tags={"t": "v"}),
        ),
    ]
    body = json.loads(json.dumps(batch_to_json("r", events)))

    jsonschema.validate(body, BATCH_JSON_SCHEMA)
    assert batch_from_json(body) == Batch("r", events)


def test_an_unnumbered_event_alone_reads_back_but_not_in_a_batch() -> None:
    # A step's events are numbered when its run emits them.
    event = Event(EventType.STEP_START, "r", step_key="s")
    assert event_from_json(event_to_json(event), "r") == event
    with pytest.raises(WireError) as raised:
        batch_from_json(batch_to_json("r", [event]))
    assert raised.value.field == ("events", 0, "seq")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"run_id": 1, "events": []}, ("run_id",)),
        ({"run_id": "r", "events": [{"seq": 1, "timestamp": 1.0}]}, ("events", 0, "type")),
        (
            {"run_id": "r", "events": [{"seq": 1, "timestamp": 1.0, "type": "LOG", "tags": 1}]},
            None,  # fields not of the format are ignored
        ),
        (
            {
                "run_id": "r",
                "events": [
                    {"seq": 1, "timestamp": 1, "type": "LOG"},
                    {"seq": 2, "timestamp": 1, "type": "LOG", "materialization": {"asset_key": []}},
                ],
            },
            ("events", 1, "materialization", "asset_key"),
        ),
    ],
)
def test_a_body_not_of_the_format_names_its_field(body: dict, field: tuple | None) -> None:
    if field is None:
        assert len(batch_from_json(body).events) == 1
        return
    with pytest.raises(WireError) as raised:
        batch_from_json(body)
    assert raised.value.field == field
    assert str(raised.value).startswith(".".join(map(str, field)) + ": ")


def test_a_batch_may_be_bounded() -> None:
    body = batch_to_json("r", [Event(EventType.LOG, "r", seq=s) for s in (1, 2, 3)])
    assert len(batch_from_json(body, max_events=3).events) == 3
    with pytest.raises(WireError, match="at most 2 events"):
        batch_from_json(body, max_events=2)


@pytest.mark.parametrize("timestamp", [float("nan"), float("inf"), float("-inf"), 10**400])
def test_a_timestamp_is_a_finite_number(timestamp: float) -> None:
    # Python's json reads NaN and Infinity, and writes them; SQL's JSON and orjson have none.
    body = {"run_id": "r", "events": [{"seq": 1, "timestamp": timestamp, "type": "LOG"}]}
    with pytest.raises(WireError) as raised:
        batch_from_json(body)
    assert raised.value.field == ("events", 0, "timestamp")
    assert "finite" in raised.value.message
