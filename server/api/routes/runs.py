"""``/api/v1/runs``: launch, list, read and cancel runs, and read their events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from server.api.deps import CoordinatorDep, DatabaseDep, Launcher, SettingsDep, ThreadsDep, require
from server.auth import Scope
from server.schemas import EventPublic, RunCreate, RunPublic, RunsCreatedPublic, RunsPublic
from server.services import runs
from server.storage.events import MAX_SEQ

router = APIRouter(tags=["runs"])

READ = [Depends(require(Scope.READ))]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "a key of the client's choosing (printable ASCII): the same request sent again "
            "with it answers the runs it created the first time (header "
            "`Idempotent-Replayed: true`) instead of creating new ones; another request "
            "with it is refused with 422"
        ),
    ),
]


@router.post("/runs", status_code=status.HTTP_201_CREATED)
async def create_runs(
    body: RunCreate,
    response: Response,
    coordinator: CoordinatorDep,
    database: DatabaseDep,
    threads: ThreadsDep,
    settings: SettingsDep,
    caller: Launcher,
    idempotency_key: IdempotencyKey = None,
) -> RunsCreatedPublic:
    created, replayed = await threads.write(
        runs.create_runs,
        coordinator,
        database,
        body,
        locations=caller.locations,
        idempotency_key=idempotency_key,
        key_seconds=settings.idempotency_key_seconds,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created


@router.get("/runs", dependencies=READ)
async def list_runs(
    threads: ThreadsDep,
    status: Annotated[list[str] | None, Query()] = None,
    location: str | None = None,
    tag: Annotated[str | None, Query(description="k=v")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> RunsPublic:
    return await threads.read(
        runs.list_runs, status=status or (), location=location, tag=tag, limit=limit, cursor=cursor
    )


@router.get("/runs/{run_id}", dependencies=READ)
async def get_run(run_id: str, threads: ThreadsDep) -> RunPublic:
    return await threads.read(runs.get_run, run_id)


@router.post("/runs/{run_id}/cancel")
async def cancel_run(
    run_id: str,
    coordinator: CoordinatorDep,
    database: DatabaseDep,
    threads: ThreadsDep,
    caller: Launcher,
) -> RunPublic:
    return await threads.write(
        runs.cancel_run, coordinator, database, run_id, locations=caller.locations
    )


@router.get("/runs/{run_id}/events", dependencies=READ)
async def list_run_events(
    run_id: str,
    threads: ThreadsDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[EventPublic]:
    return await threads.read(runs.list_events, run_id, after=after, limit=limit)
