"""The run queue in the database: what the coordinator reads and claims on each tick.

Functions flush, never commit. Claiming is one conditional ``UPDATE … WHERE status =
'QUEUED'``; the count-then-claim of a tick is made safe across server processes by
:func:`lock_queue`, held until the transaction ends.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import NamedTuple

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from codeloc._runs import RunStatus
from server.storage.models import RunRow, RunTagRow
from server.storage.runs import ACTIVE, hash_token

__all__ = [
    "EndedRun",
    "active_counts",
    "active_runs",
    "active_runs_on",
    "active_tag_counts",
    "claim",
    "lock_queue",
    "queued_runs",
    "succeeded",
    "unchanged_since",
    "unsuccessful",
]

_LOCK_ID = 0x7E55E4A


class EndedRun(NamedTuple):
    run_id: str
    location: str
    status: str


def lock_queue(session: Session) -> None:
    """Hold the queue until the transaction ends: one tick at a time, across processes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    else:
        # A write as the first statement takes SQLite's write lock for the transaction.
        session.execute(text("UPDATE runs SET updated_at = updated_at WHERE 1 = 0"))


def queued_runs(session: Session, *, limit: int | None = None) -> list[RunRow]:
    """Queued runs in the order they start: higher priority first, then the older."""
    query = (
        select(RunRow)
        .where(RunRow.status == RunStatus.QUEUED.value)
        .order_by(RunRow.priority.desc(), RunRow.id)
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))


def unsuccessful(session: Session, run_ids: Collection[str]) -> dict[str, EndedRun]:
    """Those of ``run_ids`` that ended without success (failed or canceled)."""
    if not run_ids:
        return {}
    rows = session.execute(
        select(RunRow.run_id, RunRow.location, RunRow.status).where(
            RunRow.run_id.in_(run_ids),
            RunRow.status.in_([RunStatus.FAILURE.value, RunStatus.CANCELED.value]),
        )
    )
    return {r.run_id: EndedRun(r.run_id, r.location, r.status) for r in rows}


def succeeded(session: Session, run_ids: Collection[str]) -> set[str]:
    """Those of ``run_ids`` that ended in success."""
    if not run_ids:
        return set()
    return set(
        session.scalars(
            select(RunRow.run_id).where(
                RunRow.run_id.in_(run_ids), RunRow.status == RunStatus.SUCCESS.value
            )
        )
    )


def active_counts(session: Session) -> tuple[int, dict[str, int]]:
    """Active runs in all, and by location."""
    rows = session.execute(
        select(RunRow.location, func.count())
        .where(RunRow.status.in_(ACTIVE))
        .group_by(RunRow.location)
    ).all()
    by_location = {loc: int(n) for loc, n in rows}
    return sum(by_location.values()), by_location


def active_tag_counts(session: Session, tags: Iterable[str]) -> dict[str, int]:
    """Active runs of each tag ``k=v`` of ``tags``."""
    out: dict[str, int] = {}
    for tag in tags:
        key, _, value = tag.partition("=")
        out[tag] = int(
            session.scalar(
                select(func.count())
                .select_from(RunTagRow)
                .join(RunRow, RunRow.run_id == RunTagRow.run_id)
                .where(RunTagRow.key == key, RunTagRow.value == value, RunRow.status.in_(ACTIVE))
            )
            or 0
        )
    return out


def claim(session: Session, run_id: str, *, token: str, server_id: str | None) -> bool:
    """Move a queued run to STARTING with a new token, unless another claim came first.

    ``server_id`` is the location process the run is launched on: a restart shows as another
    server id, and the run's worker is then gone.
    """
    result = session.execute(
        update(RunRow)
        .where(RunRow.run_id == run_id, RunRow.status == RunStatus.QUEUED.value)
        .values(
            status=RunStatus.STARTING.value,
            token_hash=hash_token(token),
            updated_at=time.time(),
            location_server_id=server_id,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unchanged_since(session: Session, status: RunStatus, before: float) -> list[RunRow]:
    """Runs in ``status`` that have not changed since ``before`` (a time)."""
    return list(
        session.scalars(
            select(RunRow).where(RunRow.status == status.value, RunRow.updated_at < before)
        )
    )


def active_runs(session: Session, locations: Collection[str]) -> list[RunRow]:
    """Active runs of ``locations``."""
    return list(
        session.scalars(
            select(RunRow).where(RunRow.location.in_(locations), RunRow.status.in_(ACTIVE))
        )
    )


def active_runs_on(session: Session, location: str, server_id: str | None) -> list[RunRow]:
    """Active runs launched on one process of ``location`` (None: on none known)."""
    return list(
        session.scalars(
            select(RunRow).where(
                RunRow.location == location,
                RunRow.status.in_(ACTIVE),
                # None compares as IS NULL.
                RunRow.location_server_id == server_id,
            )
        )
    )
