"""Events as JSON: the body run workers POST to the server's ingest endpoint.

One batch is ``{"run_id": "...", "events": [E, ...]}``; each ``E`` is::

    {"seq": 3, "timestamp": 1716.2, "type": "STEP_START", "level": "INFO",
     "step_key": "orders" | null, "asset_key": ["raw", "orders"] | null, "message": "...",
     "metadata": {"rows": {"kind": "int", "value": 5}},
     "materialization": null | {"asset_key": [...], "metadata": {...}, "tags": {...},
                                "code_version": str | null, "data_version": str | null},
     "error": str | null}

Both sides use these functions: a run worker to send, the server to receive. They are pure
(no I/O), so either side can test them alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._runs import AssetMaterialization, Event, EventType

__all__ = [
    "batch_to_json",
    "event_from_json",
    "event_to_json",
    "metadata_from_json",
    "metadata_to_json",
]


def metadata_to_json(metadata: Mapping[str, MetadataValue]) -> dict[str, Any]:
    return {name: {"kind": v.kind, "value": v.value} for name, v in metadata.items()}


def metadata_from_json(data: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    return {name: MetadataValue(v["kind"], v["value"]) for name, v in (data or {}).items()}


def event_to_json(event: Event) -> dict[str, Any]:
    """``event`` as a JSON-ready dict (the run id travels once per batch, not per event)."""
    mat = event.materialization
    return {
        "seq": event.seq,
        "timestamp": event.timestamp,
        "type": event.type.value,
        "level": event.level,
        "step_key": event.step_key,
        "asset_key": list(event.asset_key.path) if event.asset_key else None,
        "message": event.message,
        "metadata": metadata_to_json(event.metadata),
        "materialization": None
        if mat is None
        else {
            "asset_key": list(mat.asset_key.path),
            "metadata": metadata_to_json(mat.metadata),
            "tags": dict(mat.tags),
            "code_version": mat.code_version,
            "data_version": mat.data_version,
        },
        "error": event.error,
    }


def event_from_json(data: Mapping[str, Any], run_id: str = "") -> Event:
    """The inverse of ``event_to_json``; raises ``KeyError``/``ValueError`` on a bad event."""
    mat = data.get("materialization")
    asset_key = data.get("asset_key")
    return Event(
        type=EventType(data["type"]),
        run_id=run_id,
        seq=int(data["seq"]),
        timestamp=float(data["timestamp"]),
        level=str(data.get("level") or "INFO"),
        step_key=data.get("step_key"),
        asset_key=AssetKey(asset_key) if asset_key else None,
        message=str(data.get("message") or ""),
        metadata=metadata_from_json(data.get("metadata")),
        materialization=None
        if mat is None
        else AssetMaterialization(
            asset_key=AssetKey(mat["asset_key"]),
            metadata=metadata_from_json(mat.get("metadata")),
            tags=dict(mat.get("tags") or {}),
            code_version=mat.get("code_version"),
            data_version=mat.get("data_version"),
        ),
        error=data.get("error"),
    )


def batch_to_json(run_id: str, events: list[Event]) -> dict[str, Any]:
    """The body of one ingest request."""
    return {"run_id": run_id, "events": [event_to_json(e) for e in events]}
