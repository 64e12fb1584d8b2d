"""``/api/v1/runs``: launch, list, read, cancel, and the run events (read and ingest)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, status
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.api.cursor import decode_cursor, encode_cursor
from server.api.deps import CoordinatorDep, DatabaseDep, SessionDep
from server.api.schemas import (
    EventPublic,
    IngestBatch,
    IngestResultPublic,
    RunCreate,
    RunPublic,
    RunsCreatedPublic,
    RunsPublic,
)
from server.errors import InvalidRequest, NotFound
from server.storage import events as event_store
from server.storage import runs as run_store
from server.storage.models import RunRow

router = APIRouter(tags=["runs"])
ingest_router = APIRouter(tags=["ingest"])

STATUSES = ("QUEUED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED")


def run_view(
    row: RunRow, tags: dict[str, str], queue_position: int | None = None
) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "location": row.location,
        "status": row.status,
        "asset_keys": [k.split("/") for k in row.asset_keys],
        "run_config": row.run_config,
        "tags": tags,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "error": row.error,
        "job_name": row.job_name,
        "depends_on": row.depends_on,
        "queue_position": queue_position,
    }


def _views(session: Session, rows: list[RunRow]) -> list[dict[str, Any]]:
    tags = run_store.tags_of(session, [r.run_id for r in rows])
    return [run_view(r, tags[r.run_id], _queue_position(session, r)) for r in rows]


def _queue_position(session: Session, row: RunRow) -> int | None:
    if row.status != "QUEUED":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(RunRow)
        .where(
            RunRow.status == "QUEUED",
            or_(
                RunRow.priority > row.priority,
                (RunRow.priority == row.priority) & (RunRow.id < row.id),
            ),
        )
    )
    return int(ahead or 0) + 1


@router.post("/runs", status_code=status.HTTP_201_CREATED, response_model=RunsCreatedPublic)
async def create_runs(
    body: RunCreate, coordinator: CoordinatorDep, database: DatabaseDep
) -> dict[str, Any]:
    rows = await asyncio.to_thread(coordinator.submit, body.selection, body.run_config, body.tags)
    with database.transaction() as session:
        fresh = [run_store.get_run(session, r.run_id) or r for r in rows]
        return {"runs": _views(session, fresh)}


@router.get("/runs", response_model=RunsPublic)
def list_runs(
    session: SessionDep,
    status: Annotated[list[str] | None, Query()] = None,
    location: str | None = None,
    tag: Annotated[str | None, Query(description="k=v")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    wanted = [s.upper() for part in status or [] for s in part.split(",") if s]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise InvalidRequest(f"unknown run status {unknown}; statuses are {list(STATUSES)}")
    tag_filter = None
    if tag is not None:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise InvalidRequest("tag filter must look like key=value")
        tag_filter = (key, value)
    before = decode_cursor(cursor, "runs")
    if before is not None and not isinstance(before, int):
        raise InvalidRequest("invalid cursor for /runs")
    rows = run_store.list_runs(
        session, statuses=wanted, location=location, tag=tag_filter, before_id=before, limit=limit
    )
    return {
        "runs": _views(session, rows),
        "next_cursor": encode_cursor("runs", rows[-1].id) if len(rows) == limit else None,
    }


def _get(session: Session, run_id: str) -> RunRow:
    row = run_store.get_run(session, run_id)
    if row is None:
        raise NotFound(f"no run '{run_id}'")
    return row


@router.get("/runs/{run_id}", response_model=RunPublic)
def get_run(run_id: str, session: SessionDep) -> dict[str, Any]:
    return _views(session, [_get(session, run_id)])[0]


@router.post("/runs/{run_id}/cancel", response_model=RunPublic)
async def cancel_run(
    run_id: str, coordinator: CoordinatorDep, database: DatabaseDep
) -> dict[str, Any]:
    row = await asyncio.to_thread(coordinator.cancel, run_id)
    with database.transaction() as session:
        return _views(session, [row])[0]


@router.get("/runs/{run_id}/events", response_model=list[EventPublic])
def list_run_events(
    run_id: str,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    _get(session, run_id)
    return [
        {
            "seq": e.seq,
            "timestamp": e.timestamp,
            "type": e.type,
            "level": e.level,
            "step_key": e.step_key,
            "asset_key": e.asset_key.split("/") if e.asset_key else None,
            "message": e.message,
            "metadata": e.event_metadata,
            "error": e.error,
        }
        for e in event_store.list_events(session, run_id, after=after, limit=limit)
    ]


@ingest_router.post("/runs/{run_id}/events", response_model=IngestResultPublic)
def ingest(
    run_id: str,
    body: IngestBatch,
    database: DatabaseDep,
    coordinator: CoordinatorDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Store a batch of a run's events; idempotent by ``(run_id, seq)``.

    Authenticated by the token issued to the run when it was launched. The transaction
    commits before the answer goes out: a worker that reads 200 may forget the batch.
    """
    if body.run_id != run_id:
        raise InvalidRequest(f"batch is for run '{body.run_id}', posted to run '{run_id}'")
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    result = event_store.ingest_batch(
        database, run_id, token, [e.model_dump(mode="json") for e in body.events]
    )
    if any(e.type in ("RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED") for e in body.events):
        # A run that ended may release a downstream run or a slot in the queue.
        coordinator.wake()
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "last_seq": result.last_seq,
    }
