"""Events as JSON: the body run workers POST to the server's ingest endpoint.

One batch is ``{"run_id": "...", "events": [E, ...]}``; each ``E`` is::

    {"seq": 3, "timestamp": 1716.2, "type": "STEP_START", "level": "INFO",
     "step_key": "orders" | null, "asset_key": ["raw", "orders"] | null, "message": "...",
     "metadata": {"rows": {"kind": "int", "value": 5}},
     "materialization": null | {"asset_key": [...], "metadata": {...}, "tags": {...},
                                "code_version": str | null, "data_version": str | null},
     "error": str | null}

``seq``, ``timestamp`` and ``type`` are required; ``seq`` is at most ``MAX_SEQ`` (2³¹ - 1,
what a 32-bit signed integer holds: the server's column, any reader's ``int32``). Every other
field may be left out (its default is the one shown first, ``level`` is ``"INFO"``). Fields
not named here are ignored.
The events of a batch are numbered from 1; an event alone may be unnumbered yet (0), as a
step's events are until its run emits them.

Both sides use these functions: a run worker to send, the server to receive. They are pure
(no I/O), so either side can test them alone. The contract is the round trip:
``event_from_json(event_to_json(e), e.run_id) == e`` for every ``Event``; and a body that
is not of this shape raises ``WireError`` naming the field, never anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._runs import AssetMaterialization, Event, EventType

__all__ = [
    "BATCH_JSON_SCHEMA",
    "MAX_SEQ",
    "Batch",
    "WireError",
    "batch_from_json",
    "batch_to_json",
    "event_from_json",
    "event_to_json",
    "metadata_from_json",
    "metadata_to_json",
]

Field = tuple[str | int, ...]

#: The largest ``seq``: a 32-bit signed integer.
MAX_SEQ = 2**31 - 1


class WireError(ValueError):
    """JSON that is not the wire format. ``field`` is where, from the top of the value
    decoded (``("events", 3, "type")``); ``message`` what is wrong there.

    A ``ValueError``, as ``json.JSONDecodeError`` is: the value, not the program, is wrong.
    """

    def __init__(self, field: Field, message: str) -> None:
        super().__init__(f"{'.'.join(map(str, field)) or 'body'}: {message}")
        self.field = field
        self.message = message


class Batch(NamedTuple):
    """One ingest request: the events of one run."""

    run_id: str
    events: list[Event]


def metadata_to_json(metadata: Mapping[str, MetadataValue]) -> dict[str, Any]:
    return {name: {"kind": v.kind, "value": v.value} for name, v in metadata.items()}


def metadata_from_json(data: Any, field: Field = ("metadata",)) -> dict[str, MetadataValue]:
    if not data:
        return {}
    if not isinstance(data, dict):
        raise WireError(field, f"must be an object of metadata entries, not {_kind(data)}")
    out = {}
    for name, entry in data.items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in MetadataValue.KINDS or "value" not in entry:
            raise WireError(
                (*field, name),
                f'must be {{"kind": K, "value": V}} with K one of {sorted(MetadataValue.KINDS)}',
            )
        value = MetadataValue(kind, entry["value"])
        if kind in _TABLE_KINDS:
            try:
                _TABLE_KINDS[kind](value)
            except (ValueError, TypeError) as exc:
                raise WireError((*field, name), f"is not a valid {kind} value: {exc}") from exc
        out[name] = value
    return out


# A table value is read back into its typed form once, so that a malformed one is refused here.
_TABLE_KINDS: dict[str, Callable[[MetadataValue], object]] = {
    "table": lambda v: v.records,
    "table_schema": lambda v: v.schema,
    "column_lineage": lambda v: v.lineage,
}


def event_to_json(event: Event) -> dict[str, Any]:
    """``event`` as a JSON-ready dict (the run id travels once per batch, not per event)."""
    mat = event.materialization
    return {
        "seq": event.seq,
        "timestamp": event.timestamp,
        "type": event.type.value,
        "level": event.level,
        "step_key": event.step_key,
        "asset_key": event.asset_key.path if event.asset_key else None,
        "message": event.message,
        "metadata": metadata_to_json(event.metadata),
        "materialization": None
        if mat is None
        else {
            "asset_key": mat.asset_key.path,
            "metadata": metadata_to_json(mat.metadata),
            "tags": dict(mat.tags),
            "code_version": mat.code_version,
            "data_version": mat.data_version,
        },
        "error": event.error,
    }


_EVENT_TYPES = {t.value: t for t in EventType}
#: The largest float: a timestamp is finite (JSON has no NaN or infinity, nor has SQL's JSON).
_MAX_TIMESTAMP = sys.float_info.max


def event_from_json(data: Any, run_id: str = "", field: Field = ()) -> Event:
    """The inverse of ``event_to_json``; ``WireError`` for anything not of its shape.

    ``field`` is where ``data`` sits in a larger body, for the error to say.
    """
    if not isinstance(data, dict):
        raise WireError(field, f"an event must be an object, not {_kind(data)}")
    get = data.get
    seq = get("seq")
    if seq.__class__ is not int or not 0 <= seq <= MAX_SEQ:  # bool is not an int here
        raise WireError(
            (*field, "seq"), f"must be an integer from 0 to {MAX_SEQ}, not {_short(seq)}"
        )
    timestamp = get("timestamp")
    if timestamp.__class__ is not float and timestamp.__class__ is not int:  # nor a bool
        raise WireError((*field, "timestamp"), f"must be a number, not {timestamp!r}")
    if not -_MAX_TIMESTAMP <= timestamp <= _MAX_TIMESTAMP:  # NaN compares false
        raise WireError((*field, "timestamp"), f"must be a finite number, not {timestamp!r}")
    raw_type = get("type")
    event_type = _EVENT_TYPES.get(raw_type) if isinstance(raw_type, str) else None
    if event_type is None:
        raise WireError(
            (*field, "type"), f"{raw_type!r} is not an event type; one of {list(_EVENT_TYPES)}"
        )
    mat = get("materialization")
    raw_key = get("asset_key")
    return Event(
        type=event_type,
        run_id=run_id,
        seq=seq,
        timestamp=float(timestamp),
        level=_text(get("level", "INFO"), (*field, "level")),
        step_key=_optional_text(get("step_key"), (*field, "step_key")),
        asset_key=_key(raw_key, (*field, "asset_key")) if raw_key else None,
        message=_text(get("message", ""), (*field, "message")),
        metadata=metadata_from_json(get("metadata"), (*field, "metadata")),
        materialization=None
        if mat is None
        else _materialization_from_json(mat, (*field, "materialization")),
        error=_optional_text(get("error"), (*field, "error")),
    )


def _materialization_from_json(data: Any, field: Field) -> AssetMaterialization:
    if not isinstance(data, dict):
        raise WireError(field, f"must be an object or null, not {_kind(data)}")
    tags = data.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise WireError((*field, "tags"), "must be an object of strings")
    return AssetMaterialization(
        asset_key=_key(data.get("asset_key"), (*field, "asset_key")),
        metadata=metadata_from_json(data.get("metadata"), (*field, "metadata")),
        tags=tags,
        code_version=_optional_text(data.get("code_version"), (*field, "code_version")),
        data_version=_optional_text(data.get("data_version"), (*field, "data_version")),
    )


def _key(value: Any, field: Field) -> AssetKey:
    if isinstance(value, list) and value and all(s.__class__ is str and s for s in value):
        try:
            return AssetKey(value)
        except ValueError as exc:  # a segment AssetKey refuses
            raise WireError(field, f"{value!r} is not an asset key: {exc}") from None
    raise WireError(field, f"must be a non-empty list of non-empty strings, not {value!r}")


def _text(value: Any, field: Field) -> str:
    if not isinstance(value, str):
        raise WireError(field, f"must be a string, not {_kind(value)}")
    return value


def _optional_text(value: Any, field: Field) -> str | None:
    return None if value is None else _text(value, field)


def _short(value: Any) -> str:
    """``repr(value)``, cut short: a number of a million digits must not fill the answer."""
    if value.__class__ is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def batch_to_json(run_id: str, events: list[Event]) -> dict[str, Any]:
    """The body of one ingest request."""
    return {"run_id": run_id, "events": [event_to_json(e) for e in events]}


def batch_from_json(data: Any, *, max_events: int | None = None) -> Batch:
    """The inverse of ``batch_to_json``; ``WireError`` for anything not of its shape, or
    for more than ``max_events`` events."""
    if not isinstance(data, dict):
        raise WireError((), f"a batch must be an object, not {_kind(data)}")
    run_id = data.get("run_id")
    if run_id.__class__ is not str:
        raise WireError(("run_id",), f"must be a string, not {_kind(run_id)}")
    events = data.get("events")
    if not isinstance(events, list):
        raise WireError(("events",), f"must be a list of events, not {_kind(events)}")
    if max_events is not None and len(events) > max_events:
        raise WireError(
            ("events",), f"a batch holds at most {max_events:,} events, not {len(events):,}"
        )
    out = [event_from_json(e, run_id, ("events", i)) for i, e in enumerate(events)]
    for i, event in enumerate(out):
        if event.seq < 1:
            raise WireError(("events", i, "seq"), "must be at least 1: a run numbers its events")
    return Batch(run_id, out)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_KEY_SCHEMA = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_METADATA_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {"kind": {"enum": sorted(MetadataValue.KINDS)}, "value": {}},
        "required": ["kind", "value"],
    },
}
_TEXT = {"type": "string"}

#: The shape ``batch_from_json`` reads, as JSON Schema: what the server's OpenAPI document
#: shows for its ingest endpoint.
BATCH_JSON_SCHEMA: dict[str, Any] = {
    "title": "IngestBatch",
    "type": "object",
    "required": ["run_id", "events"],
    "properties": {
        "run_id": _TEXT,
        "events": {
            "type": "array",
            "items": {
                "title": "IngestEvent",
                "type": "object",
                "required": ["seq", "timestamp", "type"],
                "properties": {
                    "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
                    "timestamp": {"type": "number"},
                    "type": {"enum": list(_EVENT_TYPES)},
                    "level": {**_TEXT, "default": "INFO"},
                    "step_key": _nullable(_TEXT),
                    "asset_key": _nullable(_KEY_SCHEMA),
                    "message": {**_TEXT, "default": ""},
                    "metadata": _METADATA_SCHEMA,
                    "materialization": _nullable(
                        {
                            "type": "object",
                            "required": ["asset_key"],
                            "properties": {
                                "asset_key": _KEY_SCHEMA,
                                "metadata": _METADATA_SCHEMA,
                                "tags": {"type": "object", "additionalProperties": _TEXT},
                                "code_version": _nullable(_TEXT),
                                "data_version": _nullable(_TEXT),
                            },
                        }
                    ),
                    "error": _nullable(_TEXT),
                },
            },
        },
    },
}
