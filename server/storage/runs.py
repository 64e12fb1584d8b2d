"""Runs in the database: create, read, list, change status. Functions flush, never commit."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, func, select, text, update
from sqlalchemy.orm import Session

from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from server.storage.keys import decode_key, encode_key
from server.storage.models import RunRow, RunTagRow

__all__ = [
    "ACTIVE",
    "TERMINAL",
    "asset_keys_of",
    "create_run",
    "get_run",
    "hash_token",
    "list_runs",
    "lock_run",
    "queue_positions",
    "set_status",
    "tags_of",
]

TERMINAL = tuple(s.value for s in RunStatus if s.is_terminal)
#: A run in one of these holds a slot: it counts against the limits.
ACTIVE = (RunStatus.STARTING.value, RunStatus.STARTED.value, RunStatus.CANCELING.value)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_run(
    session: Session,
    *,
    run_id: str,
    location: str,
    asset_keys: Sequence[AssetKey],
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
    token: str,
    depends_on: Sequence[str] = (),
    job_name: str | None = None,
    priority: int = 0,
) -> RunRow:
    now = time.time()
    row = RunRow(
        run_id=run_id,
        location=location,
        job_name=job_name,
        status=RunStatus.QUEUED.value,
        asset_keys=[encode_key(k) for k in asset_keys],
        run_config=dict(run_config),
        priority=priority,
        depends_on=list(depends_on),
        created_at=now,
        updated_at=now,
        token_hash=hash_token(token),
        last_seq=0,
    )
    session.add(row)
    session.flush()
    for key, value in tags.items():
        session.add(RunTagRow(run_id=run_id, key=key, value=value))
    session.flush()
    return row


def get_run(session: Session, run_id: str) -> RunRow | None:
    return session.scalar(select(RunRow).where(RunRow.run_id == run_id))


def lock_run(session: Session, run_id: str) -> RunRow | None:
    """The run as it is now, held until the transaction ends: whoever writes a run's events
    locks it first, so that its status cannot change between a check and a write (the run
    ending while a batch is stored after its end).

    On PostgreSQL a row lock (``FOR NO KEY UPDATE``: rows that only reference the run are not
    held up). On SQLite the database's write lock, taken by a write as the transaction's first
    statement; called later in a transaction that has only read, it may fail as busy.
    """
    if session.get_bind().dialect.name == "postgresql":
        query = select(RunRow).where(RunRow.run_id == run_id).with_for_update(key_share=True)
    else:
        session.execute(text("UPDATE runs SET updated_at = updated_at WHERE 1 = 0"))
        query = select(RunRow).where(RunRow.run_id == run_id)
    # A row loaded earlier in the session is read again, not taken from the identity map.
    return session.scalar(query.execution_options(populate_existing=True))


def asset_keys_of(run: RunRow) -> list[AssetKey]:
    """The keys a run materializes, as ``create_run`` was given them."""
    return [decode_key(k) for k in run.asset_keys]


def queue_positions(session: Session, runs: Sequence[RunRow]) -> dict[str, int]:
    """Where each queued run of ``runs`` stands in the queue (1: next to start), in one query.

    The queue's order is the coordinator's: higher priority first, then the older run.
    """
    queued = [r.run_id for r in runs if r.status == RunStatus.QUEUED.value]
    if not queued:
        return {}
    position = (
        select(
            RunRow.run_id,
            func.row_number(type_=Integer)
            .over(order_by=(RunRow.priority.desc(), RunRow.id))
            .label("position"),
        )
        .where(RunRow.status == RunStatus.QUEUED.value)
        .subquery()
    )
    rows = session.execute(
        select(position.c.run_id, position.c.position).where(position.c.run_id.in_(queued))
    )
    return {row.run_id: int(row.position) for row in rows}


def tags_of(session: Session, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {r: {} for r in run_ids}
    if not run_ids:
        return out
    rows = session.execute(
        select(RunTagRow.run_id, RunTagRow.key, RunTagRow.value).where(
            RunTagRow.run_id.in_(run_ids)
        )
    )
    for run_id, key, value in rows:
        out[run_id][key] = value
    return out


def list_runs(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    location: str | None = None,
    tag: tuple[str, str] | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[RunRow]:
    """Newest first; ``before_id`` continues a page."""
    query = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
    if statuses:
        query = query.where(RunRow.status.in_(statuses))
    if location:
        query = query.where(RunRow.location == location)
    if tag is not None:
        query = query.where(
            RunRow.run_id.in_(
                select(RunTagRow.run_id).where(RunTagRow.key == tag[0], RunTagRow.value == tag[1])
            )
        )
    if before_id is not None:
        query = query.where(RunRow.id < before_id)
    return list(session.scalars(query))


def set_status(
    session: Session,
    run_id: str,
    status: RunStatus,
    *,
    error: str | None = None,
    at: float | None = None,
    only_from: Sequence[str] | None = None,
) -> bool:
    """Move a run to ``status`` unless it is terminal (or not in ``only_from``).

    One conditional UPDATE: two writers racing cannot take a terminal run anywhere else.
    Returns whether the run changed.
    """
    now = at or time.time()
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if status is RunStatus.STARTED:
        values["started_at"] = func.coalesce(RunRow.started_at, now)
    if status.is_terminal:
        values["ended_at"] = now
    if error is not None:
        values["error"] = error
    query = update(RunRow).where(RunRow.run_id == run_id, RunRow.status.not_in(TERMINAL))
    if only_from is not None:
        query = query.where(RunRow.status.in_(only_from))
    result = session.execute(query.values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]
