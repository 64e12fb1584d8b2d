"""``/api/v1/runs``: launch, list, read and cancel runs, and read their events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from server.api.deps import CoordinatorDep, DatabaseDep, Launcher, SessionDep, require
from server.auth import Scope
from server.schemas import EventPublic, RunCreate, RunPublic, RunsCreatedPublic, RunsPublic
from server.services import runs
from server.storage.events import MAX_SEQ

router = APIRouter(tags=["runs"])

READ = [Depends(require(Scope.READ))]


@router.post("/runs", status_code=status.HTTP_201_CREATED)
def create_runs(
    body: RunCreate, coordinator: CoordinatorDep, database: DatabaseDep, caller: Launcher
) -> RunsCreatedPublic:
    return runs.create_runs(coordinator, database, body, locations=caller.locations)


@router.get("/runs", dependencies=READ)
def list_runs(
    session: SessionDep,
    status: Annotated[list[str] | None, Query()] = None,
    location: str | None = None,
    tag: Annotated[str | None, Query(description="k=v")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> RunsPublic:
    return runs.list_runs(
        session, status=status or (), location=location, tag=tag, limit=limit, cursor=cursor
    )


@router.get("/runs/{run_id}", dependencies=READ)
def get_run(run_id: str, session: SessionDep) -> RunPublic:
    return runs.get_run(session, run_id)


@router.post("/runs/{run_id}/cancel")
def cancel_run(
    run_id: str, coordinator: CoordinatorDep, database: DatabaseDep, caller: Launcher
) -> RunPublic:
    return runs.cancel_run(coordinator, database, run_id, locations=caller.locations)


@router.get("/runs/{run_id}/events", dependencies=READ)
def list_run_events(
    run_id: str,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[EventPublic]:
    return runs.list_events(session, run_id, after=after, limit=limit)
