"""Run events and materializations: the ingest path, and reading them back.

Ingest is idempotent by ``(run_id, seq)``: ``INSERT … ON CONFLICT DO NOTHING RETURNING seq``
says which events are new, and only those produce materializations and status changes, so
a batch sent twice (a retry after a lost answer) changes nothing the second time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from codeloc._runs import RunStatus
from server.errors import NotFound, Unauthorized
from server.storage.db import Database
from server.storage.models import (
    LatestMaterializationRow,
    MaterializationRow,
    RunEventRow,
    RunRow,
)
from server.storage.runs import TERMINAL, get_run, hash_token, set_status

__all__ = [
    "IngestResult",
    "ingest_batch",
    "ingest_events",
    "latest_materializations",
    "latest_versions",
    "latest_versions_since",
    "list_events",
    "list_materializations",
    "materialization_version",
]

# What a run-level event does to the run's status.
_STATUS_OF_EVENT = {
    "RUN_START": RunStatus.STARTED,
    "RUN_SUCCESS": RunStatus.SUCCESS,
    "RUN_FAILURE": RunStatus.FAILURE,
    "RUN_CANCELED": RunStatus.CANCELED,
}


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    last_seq: int


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def ingest_batch(
    database: Database, run_id: str, token: str, events: Sequence[Mapping[str, Any]]
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
    if events and not database.is_sqlite and not any(e["type"] in _STATUS_OF_EVENT for e in events):
        with database.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            params = _batch_params(run_id, token_hash, _by_seq(events))
            row = connection.execute(_BATCH_PG, params).one()
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


def ingest_events(
    session: Session, run: RunRow, events: Sequence[Mapping[str, Any]]
) -> IngestResult:
    """Store a batch of one run's events (dicts of the wire format); skip those already stored."""
    if not events:
        return IngestResult(0, 0, run.last_seq)
    by_seq = _by_seq(events)
    if session.get_bind().dialect.name == "postgresql":
        # The caller holds the run: no token to check.
        row = session.execute(_BATCH_PG, _batch_params(run.run_id, None, by_seq)).one()
        if not row.found:
            raise NotFound(f"no run '{run.run_id}'")
        inserted = row.inserted
        new_events = [by_seq[seq] for seq in inserted]
    else:
        if b"\\u0000" in orjson.dumps(list(by_seq.values())):
            by_seq = {seq: _without_nul(e) for seq, e in by_seq.items()}
        new_events = _ingest_sqlite(session, run.run_id, by_seq)
    for event in new_events:
        status = _STATUS_OF_EVENT.get(event["type"])
        if status is not None:
            error = event.get("error") or (
                event.get("message") if status is not RunStatus.SUCCESS else None
            )
            set_status(
                session,
                run.run_id,
                status,
                at=float(event["timestamp"]),
                error=error if status in (RunStatus.FAILURE, RunStatus.CANCELED) else None,
            )
    last_seq = max(run.last_seq, max(by_seq))
    return IngestResult(len(new_events), len(by_seq) - len(new_events), last_seq)


def _ingest_sqlite(
    session: Session, run_id: str, by_seq: Mapping[int, Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The events, materializations and ``last_seq`` of a batch; returns the new events."""
    rows = [{"run_id": run_id, **_event_row(seq, e)} for seq, e in sorted(by_seq.items())]
    statement = (
        _insert(session, RunEventRow.__table__)
        .on_conflict_do_nothing(index_elements=["run_id", "seq"])
        .returning(RunEventRow.__table__.c.seq)
    )
    inserted = sorted(session.scalars(statement, rows))
    new_events = [by_seq[seq] for seq in inserted]
    for event in new_events:
        if event["type"] == "ASSET_MATERIALIZATION" and event.get("materialization"):
            _record_materialization(session, run_id, event)
    last_seq = max(by_seq)
    session.execute(
        update(RunRow)
        .where(RunRow.run_id == run_id, RunRow.last_seq < last_seq)
        .values(last_seq=last_seq)
        .execution_options(synchronize_session=False)
    )
    return new_events


def _record_materialization(session: Session, run_id: str, event: Mapping[str, Any]) -> None:
    values = {"run_id": run_id, **_materialization_row(event)}
    seq = values.pop("seq")
    mat_id = session.scalar(
        _insert(session, MaterializationRow.__table__)
        .values(event_seq=seq, **values)
        .returning(MaterializationRow.__table__.c.id)
    )
    # The newest by timestamp wins (the later stored on a tie): a batch retried or sent out
    # of order stores an older materialization after a newer one, and it must not hide it.
    latest = _insert(session, LatestMaterializationRow.__table__).values(
        materialization_id=mat_id, **values
    )
    table = LatestMaterializationRow.__table__
    session.execute(
        latest.on_conflict_do_update(
            index_elements=["asset_key"],
            set_={
                c: latest.excluded[c] for c in ("materialization_id", *values) if c != "asset_key"
            },
            where=or_(
                table.c.timestamp < latest.excluded.timestamp,
                and_(
                    table.c.timestamp == latest.excluded.timestamp,
                    table.c.materialization_id < latest.excluded.materialization_id,
                ),
            ),
        )
    )


# A whole batch in one statement whose text never changes (parsed and planned once per
# connection): the events and the materializations travel as two JSON documents, read by
# json_to_recordset; data-modifying CTEs run once each and see each other's RETURNING.
# Nothing is written unless the run exists and the token's hash matches (when one is given).
# A key materialized twice in the batch goes to the latest table once, the newest (an upsert
# cannot touch a row twice); an older materialization stored late does not replace a newer one.
_BATCH_PG = text(
    """
    WITH run AS (
        SELECT run_id, last_seq FROM runs
        WHERE run_id = :run_id AND (CAST(:token_hash AS text) IS NULL OR token_hash = :token_hash)
    ),
    ev AS (
        INSERT INTO run_events
            (run_id, seq, timestamp, type, level, step_key, asset_key, message, metadata, error)
        SELECT run.run_id, e.seq, e.timestamp, e.type, e.level, e.step_key, e.asset_key,
               e.message, e.metadata, e.error
        FROM run, json_to_recordset(CAST(:events AS json)) AS e(
            seq integer, timestamp double precision, type text, level text, step_key text,
            asset_key text, message text, metadata json, error text)
        ON CONFLICT (run_id, seq) DO NOTHING
        RETURNING seq
    ),
    mat AS (
        INSERT INTO asset_materializations
            (asset_key, run_id, event_seq, timestamp, code_version, data_version, metadata, tags)
        SELECT m.asset_key, :run_id, m.seq, m.timestamp, m.code_version, m.data_version,
               m.metadata, m.tags
        FROM json_to_recordset(CAST(:materializations AS json)) AS m(
            seq integer, asset_key text, timestamp double precision, code_version text,
            data_version text, metadata json, tags json)
        WHERE m.seq IN (SELECT seq FROM ev)
        ORDER BY m.seq
        RETURNING id, asset_key, run_id, timestamp, code_version, data_version, metadata, tags
    ),
    latest AS (
        INSERT INTO latest_materializations
            (asset_key, materialization_id, run_id, timestamp, code_version, data_version,
             metadata, tags)
        SELECT DISTINCT ON (asset_key) asset_key, id, run_id, timestamp, code_version,
               data_version, metadata, tags
        FROM mat
        ORDER BY asset_key, timestamp DESC, id DESC
        ON CONFLICT (asset_key) DO UPDATE SET
            materialization_id = excluded.materialization_id, run_id = excluded.run_id,
            timestamp = excluded.timestamp, code_version = excluded.code_version,
            data_version = excluded.data_version, metadata = excluded.metadata,
            tags = excluded.tags
        WHERE latest_materializations.timestamp < excluded.timestamp
           OR (latest_materializations.timestamp = excluded.timestamp
               AND latest_materializations.materialization_id < excluded.materialization_id)
    ),
    bump AS (
        UPDATE runs SET last_seq = :max_seq
        WHERE run_id = (SELECT run_id FROM run) AND last_seq < :max_seq
    )
    SELECT EXISTS (SELECT 1 FROM run) AS found,
           ARRAY(SELECT seq FROM ev ORDER BY seq) AS inserted,
           CAST(:received AS integer) AS received,
           GREATEST((SELECT last_seq FROM run), :max_seq) AS last_seq
    """
)


def _by_seq(events: Sequence[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The events of a batch by ``seq``; of a seq sent twice in one batch, the first."""
    by_seq: dict[int, Mapping[str, Any]] = {}
    for event in events:
        by_seq.setdefault(int(event["seq"]), event)
    return by_seq


def _batch_params(
    run_id: str, token_hash: str | None, by_seq: Mapping[int, Mapping[str, Any]]
) -> dict[str, Any]:
    ordered = sorted(by_seq.items())
    materializations = [
        _materialization_row(e)
        for _, e in ordered
        if e["type"] == "ASSET_MATERIALIZATION" and e.get("materialization")
    ]
    return {
        "run_id": run_id,
        "token_hash": token_hash,
        "received": len(ordered),
        "max_seq": ordered[-1][0],
        "events": _json_without_nul([_event_row(seq, e) for seq, e in ordered]),
        "materializations": _json_without_nul(materializations),
    }


def _event_row(seq: int, e: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of ``run_events`` but ``run_id``, from an event of the wire format."""
    return {
        "seq": seq,
        "timestamp": float(e["timestamp"]),
        "type": e["type"],
        "level": e.get("level") or "INFO",
        "step_key": e.get("step_key"),
        "asset_key": _key_string(e.get("asset_key")),
        "message": e.get("message") or "",
        "metadata": e.get("metadata") or {},
        "error": e.get("error"),
    }


def _materialization_row(e: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of ``asset_materializations`` but ``run_id``, with ``seq`` for
    ``event_seq``, from an ``ASSET_MATERIALIZATION`` event."""
    mat = e["materialization"]
    return {
        "seq": int(e["seq"]),
        "asset_key": _key_string(mat.get("asset_key") or e.get("asset_key")) or "",
        "timestamp": float(e["timestamp"]),
        "code_version": mat.get("code_version"),
        "data_version": mat.get("data_version"),
        "metadata": mat.get("metadata") or {},
        "tags": mat.get("tags") or {},
    }


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


def _key_string(key: Any) -> str | None:
    if key is None:
        return None
    if isinstance(key, str):
        return key
    return "/".join(key)


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
    session: Session, asset_key: str, *, before_id: int | None = None, limit: int = 50
) -> list[MaterializationRow]:
    """Newest first, served by the ``(asset_key, id)`` index however long the history."""
    query = (
        select(MaterializationRow)
        .where(MaterializationRow.asset_key == asset_key)
        .order_by(MaterializationRow.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(MaterializationRow.id < before_id)
    return list(session.scalars(query))


def latest_materializations(
    session: Session, keys: Sequence[str] | None = None
) -> dict[str, LatestMaterializationRow]:
    query = select(LatestMaterializationRow)
    if keys is not None:
        query = query.where(LatestMaterializationRow.asset_key.in_(keys))
    return {row.asset_key: row for row in session.scalars(query)}


class LatestVersions(NamedTuple):
    timestamp: float
    code_version: str | None
    data_version: str | None


def latest_versions(session: Session) -> dict[str, LatestVersions]:
    """What staleness needs of every asset's latest materialization, as plain tuples: at
    100,000 assets, loading whole ORM rows costs several times as much."""
    row = LatestMaterializationRow
    rows = session.execute(select(row.asset_key, row.timestamp, row.code_version, row.data_version))
    return {key: LatestVersions(ts, cv, dv) for key, ts, cv, dv in rows}


def latest_versions_since(
    session: Session, after_id: int, *, limit: int = 5_000
) -> dict[str, LatestVersions] | None:
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
    return {key: LatestVersions(ts, cv, dv) for key, ts, cv, dv in rows}


def materialization_version(session: Session) -> int:
    """Changes whenever a materialization is stored: the staleness cache is keyed on it."""
    return int(session.scalar(select(func.coalesce(func.max(MaterializationRow.id), 0))) or 0)


def is_terminal(status: str) -> bool:
    return status in TERMINAL
