"""Run events and materializations: the ingest path, and reading them back.

Ingest is idempotent by ``(run_id, seq)``: ``INSERT … ON CONFLICT DO NOTHING RETURNING seq``
says which events are new, and only those produce materializations and status changes, so
a batch sent twice (a retry after a lost answer) changes nothing the second time.

An event arrives as a ``codeloc._runs.Event`` and becomes rows in one place, :func:`rows_of`;
on PostgreSQL the rows travel as JSON documents to one statement (``server.storage._batch``)
whose column lists are derived from the same models.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from codeloc._key import AssetKey
from codeloc._runs import Event, EventType, RunStatus
from codeloc._wire import metadata_to_json
from server.errors import NotFound, Unauthorized
from server.storage._batch import BATCH_STATEMENT
from server.storage.db import Database
from server.storage.keys import decode_key, encode_key
from server.storage.keys import unstorable as unstorable_key
from server.storage.models import (
    LatestMaterializationRow,
    MaterializationRow,
    RunEventRow,
    RunRow,
)
from server.storage.runs import get_run, hash_token, set_status

__all__ = [
    "MAX_SEQ",
    "STATUS_OF_EVENT",
    "IngestResult",
    "LatestVersions",
    "ingest_batch",
    "ingest_events",
    "latest_materializations",
    "latest_versions",
    "latest_versions_since",
    "list_events",
    "list_materializations",
    "materialization_version",
    "rows_of",
    "unstorable",
]

#: What a run-level event does to the run's status.
STATUS_OF_EVENT: Mapping[EventType, RunStatus] = {
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    last_seq: int


class Rows(NamedTuple):
    """The rows of some events, without the run id (it is the batch's): ``events`` for
    ``run_events``, ``materializations`` for ``asset_materializations``, keyed by column."""

    events: list[dict[str, Any]]
    materializations: list[dict[str, Any]]


def rows_of(events: Iterable[Event]) -> Rows:
    """The rows of ``events``, in their order: the one place an event becomes columns."""
    event_rows = []
    materializations = []
    for event in events:
        key = event.asset_key
        event_rows.append(
            {
                "seq": event.seq,
                "timestamp": event.timestamp,
                "type": event.type.value,
                "level": event.level,
                "step_key": event.step_key,
                "asset_key": None if key is None else encode_key(key),
                "message": event.message,
                "metadata": metadata_to_json(event.metadata) if event.metadata else {},
                "error": event.error,
            }
        )
        mat = event.materialization
        if mat is not None and event.type is EventType.ASSET_MATERIALIZATION:
            materializations.append(
                {
                    "event_seq": event.seq,
                    "asset_key": encode_key(mat.asset_key),
                    "timestamp": event.timestamp,
                    "code_version": mat.code_version,
                    "data_version": mat.data_version,
                    "metadata": metadata_to_json(mat.metadata),
                    "tags": mat.tags,
                }
            )
    return Rows(event_rows, materializations)


#: The largest ``seq`` its column holds.
MAX_SEQ = 2**31 - 1


def unstorable(event: Event) -> tuple[tuple[str, ...], str] | None:
    """Which field of ``event`` the database cannot store so as to read it back the same,
    and why; None when it can store them all."""
    if event.seq > MAX_SEQ:
        return ("seq",), f"must be at most {MAX_SEQ}, not {event.seq}"
    if event.asset_key is not None and (reason := unstorable_key(event.asset_key)):
        return ("asset_key",), reason
    mat = event.materialization
    if mat is not None and (reason := unstorable_key(mat.asset_key)):
        return ("materialization", "asset_key"), reason
    return None


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def ingest_batch(
    database: Database, run_id: str, token: str, events: Sequence[Event]
) -> IngestResult:
    """Store a batch a run's worker sent, authenticated by the run's token.

    On PostgreSQL a batch without run-level events (nearly all of them) is one statement in
    one round trip, committed on its own: the token check, the events, the materializations,
    the latest table and ``last_seq`` together, atomic as any single statement. A batch that
    moves the run's status goes through :func:`ingest_events` in a transaction, as does one
    that names an unknown run or a wrong token, to say which: ``NotFound`` or
    ``Unauthorized``, and nothing is stored.
    """
    token_hash = hash_token(token)
    if events and not database.is_sqlite and not any(e.type in STATUS_OF_EVENT for e in events):
        with database.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            params = _batch_params(run_id, token_hash, _by_seq(events))
            row = connection.execute(BATCH_STATEMENT, params).one()
        if row.found:
            return IngestResult(len(row.inserted), row.received - len(row.inserted), row.last_seq)
        # Nothing was written: say why, outside the hot path.
    with database.transaction() as session:
        run = get_run(session, run_id)
        if run is None:
            raise NotFound(f"no run '{run_id}'")
        if not token or not hmac.compare_digest(token_hash, run.token_hash):
            raise Unauthorized(f"wrong or missing token for run '{run_id}'")
        return ingest_events(session, run, events)


def ingest_events(session: Session, run: RunRow, events: Sequence[Event]) -> IngestResult:
    """Store a batch of one run's events; skip those already stored."""
    if not events:
        return IngestResult(0, 0, run.last_seq)
    by_seq = _by_seq(events)
    if session.get_bind().dialect.name == "postgresql":
        # The caller holds the run: no token to check.
        row = session.execute(BATCH_STATEMENT, _batch_params(run.run_id, None, by_seq)).one()
        if not row.found:
            raise NotFound(f"no run '{run.run_id}'")
        new_events = [by_seq[seq] for seq in row.inserted]
    else:
        new_events = _ingest_sqlite(session, run.run_id, by_seq)
    for event in new_events:
        status = STATUS_OF_EVENT.get(event.type)
        if status is not None:
            error = event.error or (event.message if status is not RunStatus.SUCCESS else None)
            # The run's error column is text as the event's are: its NUL becomes U+FFFD too.
            error = None if error is None else _without_nul(error)
            set_status(
                session,
                run.run_id,
                status,
                at=event.timestamp,
                error=error if status in (RunStatus.FAILURE, RunStatus.CANCELED) else None,
            )
    last_seq = max(run.last_seq, max(by_seq))
    return IngestResult(len(new_events), len(by_seq) - len(new_events), last_seq)


def _by_seq(events: Sequence[Event]) -> dict[int, Event]:
    """The events of a batch by ``seq``, in order; of a seq sent twice in one batch, the first."""
    by_seq: dict[int, Event] = {}
    for event in events:
        by_seq.setdefault(event.seq, event)
    return dict(sorted(by_seq.items()))


def _batch_params(
    run_id: str, token_hash: str | None, by_seq: Mapping[int, Event]
) -> dict[str, Any]:
    rows = rows_of(by_seq.values())
    return {
        "run_id": run_id,
        "token_hash": token_hash,
        "received": len(by_seq),
        "max_seq": next(reversed(by_seq)),
        "events": _json_without_nul(rows.events),
        "materializations": _json_without_nul(rows.materializations),
    }


def _ingest_sqlite(session: Session, run_id: str, by_seq: Mapping[int, Event]) -> list[Event]:
    """The events, materializations and ``last_seq`` of a batch; returns the new events."""
    rows = rows_of(by_seq.values())
    if b"\\u0000" in orjson.dumps([rows.events, rows.materializations]):
        rows = Rows(*_without_nul(list(rows)))
    statement = (
        _insert(session, RunEventRow.__table__)
        .on_conflict_do_nothing(index_elements=["run_id", "seq"])
        .returning(RunEventRow.__table__.c.seq)
    )
    inserted = set(session.scalars(statement, [{"run_id": run_id, **r} for r in rows.events]))
    for row in rows.materializations:
        if row["event_seq"] in inserted:
            _record_materialization(session, {"run_id": run_id, **row})
    last_seq = max(by_seq)
    session.execute(
        update(RunRow)
        .where(RunRow.run_id == run_id, RunRow.last_seq < last_seq)
        .values(last_seq=last_seq)
        .execution_options(synchronize_session=False)
    )
    return [event for seq, event in by_seq.items() if seq in inserted]


def _record_materialization(session: Session, values: Mapping[str, Any]) -> None:
    mat_id = session.scalar(
        _insert(session, MaterializationRow.__table__)
        .values(**values)
        .returning(MaterializationRow.__table__.c.id)
    )
    # The newest by timestamp wins (the later stored on a tie): a batch retried or sent out
    # of order stores an older materialization after a newer one, and it must not hide it.
    table = LatestMaterializationRow.__table__
    latest = _insert(session, table).values(
        materialization_id=mat_id, **{c: v for c, v in values.items() if c in table.c}
    )
    session.execute(
        latest.on_conflict_do_update(
            index_elements=["asset_key"],
            set_={c.name: latest.excluded[c.name] for c in table.c if c.name != "asset_key"},
            where=or_(
                table.c.timestamp < latest.excluded.timestamp,
                and_(
                    table.c.timestamp == latest.excluded.timestamp,
                    table.c.materialization_id < latest.excluded.materialization_id,
                ),
            ),
        )
    )


# Captured output can hold NUL characters, which PostgreSQL text cannot: refused, the batch
# would be sent again and again. They become U+FFFD, on SQLite as well.
def _json_without_nul(value: Any) -> str:
    dumped = orjson.dumps(value)
    if b"\\u0000" in dumped:  # rare; a false alarm (an escaped backslash) costs a walk
        dumped = orjson.dumps(_without_nul(value))
    return dumped.decode()


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


# -- reading ------------------------------------------------------------------------------------


def list_events(
    session: Session, run_id: str, *, after: int = 0, limit: int = 1000
) -> list[RunEventRow]:
    return list(
        session.scalars(
            select(RunEventRow)
            .where(RunEventRow.run_id == run_id, RunEventRow.seq > after)
            .order_by(RunEventRow.seq)
            .limit(limit)
        )
    )


def list_materializations(
    session: Session, key: AssetKey, *, before_id: int | None = None, limit: int = 50
) -> list[MaterializationRow]:
    """Newest first, served by the ``(asset_key, id)`` index however long the history."""
    query = (
        select(MaterializationRow)
        .where(MaterializationRow.asset_key == encode_key(key))
        .order_by(MaterializationRow.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(MaterializationRow.id < before_id)
    return list(session.scalars(query))


def latest_materializations(
    session: Session, keys: Sequence[AssetKey] | None = None
) -> dict[AssetKey, LatestMaterializationRow]:
    query = select(LatestMaterializationRow)
    if keys is not None:
        query = query.where(LatestMaterializationRow.asset_key.in_([encode_key(k) for k in keys]))
    return {decode_key(row.asset_key): row for row in session.scalars(query)}


class LatestVersions(NamedTuple):
    timestamp: float
    code_version: str | None
    data_version: str | None


def latest_versions(session: Session) -> dict[AssetKey, LatestVersions]:
    """What staleness needs of every asset's latest materialization, as plain tuples: at
    100,000 assets, loading whole ORM rows costs several times as much."""
    row = LatestMaterializationRow
    rows = session.execute(select(row.asset_key, row.timestamp, row.code_version, row.data_version))
    return {decode_key(key): LatestVersions(ts, cv, dv) for key, ts, cv, dv in rows}


def latest_versions_since(
    session: Session, after_id: int, *, limit: int = 5_000
) -> dict[AssetKey, LatestVersions] | None:
    """``latest_versions`` of the keys materialized after materialization ``after_id``; None
    when more than ``limit`` materializations came since (then reading them all is cheaper)."""
    keys = session.scalars(
        select(MaterializationRow.asset_key)
        .where(MaterializationRow.id > after_id)
        .order_by(MaterializationRow.id)
        .limit(limit + 1)
    ).all()
    if len(keys) > limit:
        return None
    if not keys:
        return {}
    row = LatestMaterializationRow
    rows = session.execute(
        select(row.asset_key, row.timestamp, row.code_version, row.data_version).where(
            row.asset_key.in_(set(keys))
        )
    )
    return {decode_key(key): LatestVersions(ts, cv, dv) for key, ts, cv, dv in rows}


def materialization_version(session: Session) -> int:
    """Changes whenever a materialization is stored: the staleness cache is keyed on it."""
    return int(session.scalar(select(func.coalesce(func.max(MaterializationRow.id), 0))) or 0)
