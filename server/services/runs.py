"""Runs as the API shows them: launch, list, read and cancel runs; read and ingest their events.

Creating, starting and canceling runs is the coordinator's (``server.runs.coordinator``);
what is here turns its rows into the API's schemas and takes a run worker's events in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from codeloc._runs import EventType, RunStatus
from codeloc._wire import Batch
from server.errors import IdempotencyKeyReused, InvalidEvent, InvalidRequest, NotFound
from server.runs.coordinator import RunCoordinator
from server.schemas import (
    MAX_LISTED_CONFIG_BYTES,
    EventPublic,
    IngestResultPublic,
    RunCreate,
    RunPublic,
    RunsCreatedPublic,
    RunsPublic,
)
from server.services.cursor import decode_id_cursor, encode_cursor
from server.services.tokens import check_locations
from server.storage import events as event_store
from server.storage import idempotency
from server.storage import runs as run_store
from server.storage.db import Database
from server.storage.keys import decode_key
from server.storage.models import RunEventRow, RunRow

__all__ = [
    "cancel_run",
    "create_runs",
    "get_run",
    "ingest",
    "list_events",
    "list_runs",
]

_STATUSES = [s.value for s in RunStatus]


def create_runs(
    coordinator: RunCoordinator,
    database: Database,
    request: RunCreate,
    *,
    locations: frozenset[str] | None = None,
    idempotency_key: str | None = None,
    key_seconds: float = 24 * 3600.0,
) -> tuple[RunsCreatedPublic, bool]:
    """The runs of a launch request: one per location, in dependency order; and whether
    they are those an earlier request with the same ``idempotency_key`` created.

    A key is remembered for ``key_seconds`` with a hash of the request: the same request
    again answers the runs it created, another request with it is refused. The key is
    stored in the transaction that creates the runs, so that of two requests sent at once
    with one key, the second waits for the first at the key's unique index, fails, and
    answers the first one's runs: the runs are created once.

    ``locations`` are those the caller may launch in (``None``: all); a run in another is
    refused, and the transaction that made the runs rolls back, so nothing is created.
    """
    if idempotency_key is None:
        with database.transaction() as session:
            rows = _submit(coordinator, session, request, locations)
            created = RunsCreatedPublic(runs=_runs(session, rows))
        coordinator.wake()
        return created, False
    digest = _request_hash(request)
    now = time.time()
    try:
        with database.transaction() as session:
            idempotency.forget_keys_before(session, now - key_seconds)
            replayed = _replay(session, idempotency_key, digest)
            if replayed is not None:
                return replayed, True
            rows = _submit(coordinator, session, request, locations)
            run_ids = [r.run_id for r in rows]
            idempotency.remember_key(session, idempotency_key, digest, run_ids, now)
            created = RunsCreatedPublic(runs=_runs(session, rows))
    except IntegrityError:
        # Another request with this key committed between our look and our insert.
        with database.transaction() as session:
            replayed = _replay(session, idempotency_key, digest)
        if replayed is None:
            raise
        return replayed, True
    coordinator.wake()
    return created, False


def _submit(
    coordinator: RunCoordinator,
    session: Session,
    request: RunCreate,
    locations: frozenset[str] | None,
) -> list[RunRow]:
    # Committed, the coordinator may start them: the caller wakes it then, not sooner, and
    # after the answer is built, so that its work does not hold the answer up.
    rows = coordinator.submit(session, request.selection, request.run_config, request.tags)
    check_locations(locations, [r.location for r in rows], "the selection has assets")
    return rows


def _request_hash(request: RunCreate) -> str:
    return hashlib.sha256(_canonical_json(request.model_dump(mode="json"))).hexdigest()


def _replay(session: Session, key: str, digest: str) -> RunsCreatedPublic | None:
    """The runs first created with ``key``, as they are now; ``None`` for a new key."""
    row = idempotency.find_key(session, key)
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key '{key}' was first sent with another launch request (runs "
            f"{', '.join(row.run_ids)}); a new launch needs a new key",
            run_ids=row.run_ids,
        )
    rows = [r for r in map(functools.partial(run_store.get_run, session), row.run_ids) if r]
    return RunsCreatedPublic(runs=_runs(session, rows))


def list_runs(
    session: Session,
    *,
    status: Sequence[str] = (),
    location: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RunsPublic:
    """A page of runs, newest first. ``status`` holds names, each possibly a comma-separated
    list of them, in any case; ``tag`` is ``key=value``."""
    wanted = [s.upper() for part in status for s in part.split(",") if s]
    unknown = [s for s in wanted if s not in _STATUSES]
    if unknown:
        raise InvalidRequest(f"unknown run status {unknown}; statuses are {_STATUSES}")
    tag_filter = None
    if tag is not None:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise InvalidRequest("tag filter must look like key=value")
        tag_filter = (key, value)
    before = decode_id_cursor(cursor, "runs")
    rows = run_store.list_runs(
        session, statuses=wanted, location=location, tag=tag_filter, before_id=before, limit=limit
    )
    return RunsPublic(
        runs=_runs(session, rows, config_bytes=MAX_LISTED_CONFIG_BYTES),
        next_cursor=encode_cursor("runs", rows[-1].id) if len(rows) == limit else None,
    )


def get_run(session: Session, run_id: str) -> RunPublic:
    return _runs(session, [_existing(session, run_id)])[0]


def cancel_run(
    coordinator: RunCoordinator,
    database: Database,
    run_id: str,
    *,
    locations: frozenset[str] | None = None,
) -> RunPublic:
    """The run, now ``CANCELING`` (its location was asked to stop it), ``CANCELED`` (it had
    not started), or as it was if it had already ended. ``locations`` are those the caller
    may cancel runs in (``None``: all)."""
    if locations is not None:
        with database.transaction() as session:
            location = _existing(session, run_id).location
        check_locations(locations, [location], f"run '{run_id}' is")
    row = coordinator.cancel(run_id)
    with database.transaction() as session:
        return _runs(session, [row])[0]


def list_events(
    session: Session, run_id: str, *, after: int = 0, limit: int = 1000
) -> list[EventPublic]:
    """The events of a run after seq ``after``, in order."""
    _existing(session, run_id)
    return [_event(e) for e in event_store.list_events(session, run_id, after=after, limit=limit)]


def ingest(
    database: Database, coordinator: RunCoordinator, run_id: str, token: str, batch: Batch
) -> IngestResultPublic:
    """Store a batch of a run's events, authenticated by the token issued to the run; once
    it answers, the batch is committed. Idempotent by ``(run_id, seq)``.

    The token writes only its run's events (``server.storage.events``): seqs of the worker's
    range, keys of the run's own assets (or made by its steps, as the location's snapshot
    says), nothing once the run has ended (409).
    """
    if batch.run_id != run_id:
        raise InvalidRequest(f"batch is for run '{batch.run_id}', posted to run '{run_id}'")
    for index, event in enumerate(batch.events):
        if (reason := event_store.worker_seq_problem(event.seq)) is not None:
            raise InvalidEvent(f"events.{index}.seq", reason)
    result = event_store.ingest_batch(
        database, run_id, token, batch.events, made_with=coordinator.made_with
    )
    if any(_ends_run(e.type) for e in batch.events):
        # A run that ended may release a downstream run or a slot in the queue.
        coordinator.wake()
    return IngestResultPublic(
        accepted=result.accepted, duplicates=result.duplicates, last_seq=result.last_seq
    )


# -- pieces ---------------------------------------------------------------------------------------


def _ends_run(event_type: EventType) -> bool:
    status = event_store.STATUS_OF_EVENT.get(event_type)
    return status is not None and status.is_terminal


def _existing(session: Session, run_id: str) -> RunRow:
    row = run_store.get_run(session, run_id)
    if row is None:
        raise NotFound(f"no run '{run_id}'")
    return row


def _runs(
    session: Session, rows: Sequence[RunRow], *, config_bytes: int | None = None
) -> list[RunPublic]:
    """The runs as the API shows them: two queries for any number of runs. A config larger
    than ``config_bytes`` as JSON is left out."""
    tags = run_store.tags_of(session, [r.run_id for r in rows])
    positions = run_store.queue_positions(session, rows)
    omitted = {
        row.run_id
        for row in rows
        if config_bytes is not None and _json_size(row.run_config) > config_bytes
    }
    return [
        RunPublic(
            run_id=row.run_id,
            location=row.location,
            status=row.status,
            asset_keys=[k.path for k in run_store.asset_keys_of(row)],
            run_config=None if row.run_id in omitted else row.run_config,
            run_config_omitted=row.run_id in omitted,
            tags=tags[row.run_id],
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            error=row.error,
            job_name=row.job_name,
            depends_on=row.depends_on,
            queue_position=positions.get(row.run_id),
        )
        for row in rows
    ]


def _json_size(value: Any) -> int:
    return len(_canonical_json(value))


def _canonical_json(value: Any) -> bytes:
    """``value`` as JSON with its keys sorted: by orjson, or by Python's json module for what
    orjson refuses and JSON allows (an integer past 64 bits, a lone surrogate)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True).encode()


def _event(row: RunEventRow) -> EventPublic:
    return EventPublic(
        seq=row.seq,
        timestamp=row.timestamp,
        type=row.type,
        level=row.level,
        step_key=row.step_key,
        asset_key=decode_key(row.asset_key).path if row.asset_key else None,
        message=row.message,
        metadata=row.event_metadata,
        error=row.error,
    )
