"""The ingest wire format: what workers POST and the server reads back."""

from __future__ import annotations

import json

from codeloc import AssetKey, MetadataValue
from codeloc._wire import batch_to_json, event_from_json, event_to_json
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
