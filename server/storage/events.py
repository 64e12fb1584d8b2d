"""Run events and materializations: the ingest path, and reading them back.

Ingest is idempotent by ``(run_id, seq)``: ``INSERT … ON CONFLICT DO NOTHING RETURNING seq``
says which events are new, and only those produce materializations and status changes, so
a batch sent twice (a retry after a lost answer) changes nothing the second time.

A run's token writes that run's events and no others':

- ``seq`` in the worker's range only. The seqs of a run are shared out so that the server
  and the worker never number the same event, whatever either does: 1 and 2 are the
  server's ``RUN_QUEUED`` and ``RUN_STARTING``, written before a worker exists;
  ``FIRST_WORKER_SEQ`` up to ``SERVER_SEQ_BASE - 1`` are the worker's; from
  ``SERVER_SEQ_BASE`` up they are the server's again, counted apart from the worker's
  (:func:`next_server_seq`), for the end of a run the server observes (a failed launch, a
  lost location). Those are all ends: an event the server wrote mid-run would sort after
  the worker's later ones and be skipped by a reader paging with ``after``.
- materializations (and any event naming an asset) of the run's own assets only;
- nothing once the run has ended (``RunEnded``, 409), and nothing after its end in a batch:
  a run's end is its last event. A batch whose events are all stored already is still
  answered, as duplicates: the worker whose answer was lost retries the batch that ended its
  run, and must not be told that its run took none of it.

Every writer locks the run's row first (``server.storage.runs.lock_run``), so that a run
ending at the same moment (the worker's end, the server failing a run that seems stuck)
either waits for the batch or refuses it; nothing is stored after the end.

An event arrives as a ``codeloc._runs.Event`` and becomes rows in one place, :func:`rows_of`;
on PostgreSQL the rows travel as JSON documents to one statement (``server.storage._batch``)
whose column lists are derived from the same models.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from codeloc._key import AssetKey
from codeloc._runs import Event, EventType, RunStatus
from codeloc._wire import MAX_SEQ, metadata_to_json
from server.errors import Forbidden, InvalidEvent, NotFound, RunEnded, Unauthorized
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
from server.storage.runs import hash_token, lock_run, set_status

__all__ = [
    "FIRST_WORKER_SEQ",
    "MAX_SEQ",
    "SERVER_SEQ_BASE",
    "STATUS_OF_EVENT",
    "IngestResult",
    "LatestVersions",
    "MadeWith",
    "ingest_batch",
    "ingest_events",
    "latest_materializations",
    "latest_versions",
    "latest_versions_since",
    "list_events",
    "list_materializations",
    "materialization_version",
    "next_server_seq",
    "rows_of",
    "unstorable",
    "worker_seq_problem",
]

#: What a run-level event does to the run's status.
STATUS_OF_EVENT: Mapping[EventType, RunStatus] = {
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}
_ENDS = frozenset(t for t, status in STATUS_OF_EVENT.items() if status.is_terminal)

#: The first seq of a run's worker: 1 and 2 are the server's ``RUN_QUEUED`` and ``RUN_STARTING``.
FIRST_WORKER_SEQ = 3
#: The first seq the server numbers after a run's launch; the worker's seqs stay below it.
SERVER_SEQ_BASE = 2**30

#: ``made_with(run, keys)``: those of ``keys`` that ``run`` materializes although it was not
#: launched for them (another key of a step it runs).
MadeWith = Callable[[RunRow, Collection[AssetKey]], Collection[AssetKey]]


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


def worker_seq_problem(seq: int) -> str | None:
    """Why a run's worker may not number an event ``seq``; None when it may."""
    if FIRST_WORKER_SEQ <= seq < SERVER_SEQ_BASE:
        return None
    return (
        f"must be from {FIRST_WORKER_SEQ} to {SERVER_SEQ_BASE - 1}, not {seq}: a run's worker "
        "numbers its events in that range, the server its own outside it"
    )


def unstorable(event: Event) -> tuple[tuple[str, ...], str] | None:
    """Which field of ``event``, sent by a run's worker, the server refuses to store, and
    why: a seq outside the worker's range, a key the database would not read back the same.
    None when it can store them all."""
    if (reason := worker_seq_problem(event.seq)) is not None:
        return ("seq",), reason
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
    database: Database,
    run_id: str,
    token: str,
    events: Sequence[Event],
    *,
    made_with: MadeWith | None = None,
) -> IngestResult:
    """Store a batch a run's worker sent, authenticated by the run's token.

    On PostgreSQL a batch without run-level events (nearly all of them) is one statement in
    one round trip, committed on its own: the token, status and key checks, the events, the
    materializations, the latest table and ``last_seq`` together, atomic as any single
    statement. A batch that moves the run's status goes through :func:`ingest_events` in a
    transaction, as does one that statement refused, to say why: ``NotFound``,
    ``Unauthorized``, ``Forbidden`` (a key not the run's, nor one ``made_with`` allows),
    ``RunEnded``; and nothing is stored.
    """
    token_hash = hash_token(token)
    if events and not database.is_sqlite and not any(e.type in STATUS_OF_EVENT for e in events):
        keys = sorted({encode_key(key) for _, _, key in _keys_named(events)})
        with database.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            params = _batch_params(run_id, token_hash, _by_seq(events), keys)
            row = connection.execute(BATCH_STATEMENT, params).one()
        if row.found:
            return IngestResult(len(row.inserted), row.received - len(row.inserted), row.last_seq)
        # Nothing was written: say why, outside the hot path.
    with database.transaction() as session:
        run = lock_run(session, run_id)
        if run is None:
            raise NotFound(f"no run '{run_id}'")
        if not token or not hmac.compare_digest(token_hash, run.token_hash):
            raise Unauthorized(f"wrong or missing token for run '{run_id}'")
        _refuse_foreign_keys(run, events, made_with)
        return ingest_events(session, run, events)


def ingest_events(session: Session, run: RunRow, events: Sequence[Event]) -> IngestResult:
    """Store a batch of one run's events; skip those already stored.

    The run is locked first; ``RunEnded`` if it has ended, unless every event of the batch
    is stored already (a retry); ``InvalidEvent`` for a batch whose end is not its last event.
    """
    locked = lock_run(session, run.run_id)
    if locked is None:
        raise NotFound(f"no run '{run.run_id}'")
    if not events:
        return IngestResult(0, 0, locked.last_seq)
    by_seq = _by_seq(events)
    if RunStatus(locked.status).is_terminal:
        if _stored_count(session, locked.run_id, by_seq) == len(by_seq):
            return IngestResult(0, len(by_seq), locked.last_seq)
        raise RunEnded(
            f"run '{locked.run_id}' is {locked.status}; it takes no more events",
            run_id=locked.run_id,
            run_status=locked.status,
        )
    _refuse_events_after_the_end(locked, events)
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
    last_seq = max(locked.last_seq, max(by_seq))
    return IngestResult(len(new_events), len(by_seq) - len(new_events), last_seq)


def next_server_seq(session: Session, run_id: str) -> int:
    """The seq of the next event the server writes for a run after its launch: counted in the
    server's own range, whatever seqs the worker sent (it cannot reach that range)."""
    highest = session.scalar(
        select(func.max(RunEventRow.seq)).where(
            RunEventRow.run_id == run_id, RunEventRow.seq >= SERVER_SEQ_BASE
        )
    )
    seq = SERVER_SEQ_BASE if highest is None else highest + 1
    if seq > MAX_SEQ:  # 2**30 events the server wrote for one run: a bug, not a run
        raise RuntimeError(f"run '{run_id}' has no server seq left")
    return seq


def _keys_named(events: Sequence[Event]) -> Iterator[tuple[int, str, AssetKey]]:
    """(index, field, key) of every asset key the events name."""
    for index, event in enumerate(events):
        if event.asset_key is not None:
            yield index, "asset_key", event.asset_key
        if event.materialization is not None:
            yield index, "materialization.asset_key", event.materialization.asset_key


def _refuse_foreign_keys(run: RunRow, events: Sequence[Event], made_with: MadeWith | None) -> None:
    """``Forbidden`` naming the first key of ``events`` that is not ``run``'s to write."""
    own = set(run.asset_keys)
    foreign = [(i, f, key) for i, f, key in _keys_named(events) if encode_key(key) not in own]
    if not foreign:
        return
    allowed = set(made_with(run, {key for _, _, key in foreign})) if made_with else set()
    for index, field, key in foreign:
        if key not in allowed:
            raise Forbidden(
                f"run '{run.run_id}' writes only its own assets, and '{key.to_user_string()}' "
                f"(events.{index}.{field}) is not one of them",
                run_id=run.run_id,
                asset_key=key.path,
            )


def _refuse_events_after_the_end(run: RunRow, events: Sequence[Event]) -> None:
    """``InvalidEvent`` for a batch whose end (success, failure, cancel) is not the last event
    of the run: another end, or an event with a higher seq, in the batch or stored already."""
    ends = [(i, e) for i, e in enumerate(events) if e.type in _ENDS]
    if not ends:
        return
    index, end = ends[0]
    other = max(e.seq for e in events)
    if other == end.seq:
        other = next((e.seq for _, e in ends if e.seq != end.seq), other)
    if other != end.seq:
        raise InvalidEvent(
            f"events.{index}.type",
            f"{end.type.value} (seq {end.seq}) ends the run and must be its last event; "
            f"the batch holds seq {other} as well",
        )
    if run.last_seq >= end.seq:
        raise InvalidEvent(
            f"events.{index}.type",
            f"{end.type.value} (seq {end.seq}) ends the run and must be its last event; "
            f"run '{run.run_id}' has events up to seq {run.last_seq}",
        )


def _stored_count(session: Session, run_id: str, by_seq: Mapping[int, Event]) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RunEventRow)
            .where(RunEventRow.run_id == run_id, RunEventRow.seq.in_(list(by_seq)))
        )
        or 0
    )


def _by_seq(events: Sequence[Event]) -> dict[int, Event]:
    """The events of a batch by ``seq``, in order; of a seq sent twice in one batch, the first."""
    by_seq: dict[int, Event] = {}
    for event in events:
        by_seq.setdefault(event.seq, event)
    return dict(sorted(by_seq.items()))


def _batch_params(
    run_id: str,
    token_hash: str | None,
    by_seq: Mapping[int, Event],
    keys: Sequence[str] = (),
) -> dict[str, Any]:
    rows = rows_of(by_seq.values())
    return {
        "run_id": run_id,
        "token_hash": token_hash,
        # The batch's keys must all be the run's own; None: not checked here.
        "keys": orjson.dumps(list(keys)).decode() if keys else None,
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
