"""The PostgreSQL statement that stores a whole batch of events, its columns derived from the
models: a column added to ``run_events`` or ``asset_materializations`` is added here too,
and only :func:`server.storage.events.rows_of` has to learn how to fill it.

The statement's text never changes, so it is parsed and planned once per connection. The
events and the materializations travel as two JSON documents, read by
``json_to_recordset``; data-modifying CTEs run once each and see each other's
``RETURNING``. Nothing is written unless the run exists, has not ended, the token's hash
matches (when one is given) and every key of the batch is one of the run's own (when keys are
given); the run's row is locked first (``FOR NO KEY UPDATE``), so that a run ending at the
same moment either waits for the batch or is seen ended by it. A key materialized twice in
the batch goes to the latest table once, the newest (an upsert cannot touch a row twice); an
older materialization stored late does not replace a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import FromClause, String, TextClause, text
from sqlalchemy.dialects import postgresql

from codeloc._runs import RunStatus
from server.storage.models import LatestMaterializationRow, MaterializationRow, RunEventRow

__all__ = ["BATCH_STATEMENT", "EVENT_COLUMNS", "LATEST_COPIED", "MATERIALIZATION_COLUMNS"]

_EVENTS = RunEventRow.__table__
_MATERIALIZATIONS = MaterializationRow.__table__
_LATEST = LatestMaterializationRow.__table__
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]

#: The columns of ``run_events`` a row of a batch fills: all but the generated id, and the
#: run id, which is the batch's.
EVENT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in _EVENTS.columns if c.name not in ("id", "run_id")
)
#: The same for ``asset_materializations``.
MATERIALIZATION_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in _MATERIALIZATIONS.columns if c.name not in ("id", "run_id")
)
#: What the latest table copies of a materialization: all its columns (each one a column of
#: ``asset_materializations`` too) but the id of the materialization.
LATEST_COPIED: tuple[str, ...] = tuple(
    c.name for c in _LATEST.columns if c.name != "materialization_id"
)
_quote = _DIALECT.identifier_preparer.quote
_TERMINAL = ", ".join(f"'{s.value}'" for s in RunStatus if s.is_terminal)


def _names(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + _quote(name) for name in names)


def _record_type(table: FromClause, names: Sequence[str]) -> str:
    """``name type, …`` for ``json_to_recordset``. Strings are read as ``text``: a value too
    long for its column then fails the INSERT, as it would anywhere else, and is not cut."""
    types = {c.name: c.type for c in table.columns}

    def sql_type(name: str) -> str:
        column_type = types[name]
        return "text" if isinstance(column_type, String) else column_type.compile(_DIALECT).lower()

    return ", ".join(f"{_quote(n)} {sql_type(n)}" for n in names)


def _set_excluded(names: Sequence[str]) -> str:
    return ", ".join(f"{_quote(n)} = excluded.{_quote(n)}" for n in names)


BATCH_STATEMENT: TextClause = text(
    f"""
    WITH run AS (
        SELECT run_id, last_seq FROM runs
        WHERE run_id = :run_id AND (CAST(:token_hash AS text) IS NULL OR token_hash = :token_hash)
          AND status NOT IN ({_TERMINAL})
          AND (CAST(:keys AS text) IS NULL OR CAST(asset_keys AS jsonb) @> CAST(:keys AS jsonb))
        FOR NO KEY UPDATE
    ),
    ev AS (
        INSERT INTO run_events (run_id, {_names(EVENT_COLUMNS)})
        SELECT run.run_id, {_names(EVENT_COLUMNS, "e.")}
        FROM run, json_to_recordset(CAST(:events AS json))
            AS e({_record_type(_EVENTS, EVENT_COLUMNS)})
        ON CONFLICT (run_id, seq) DO NOTHING
        RETURNING seq
    ),
    mat AS (
        INSERT INTO asset_materializations (run_id, {_names(MATERIALIZATION_COLUMNS)})
        SELECT :run_id, {_names(MATERIALIZATION_COLUMNS, "m.")}
        FROM json_to_recordset(CAST(:materializations AS json))
            AS m({_record_type(_MATERIALIZATIONS, MATERIALIZATION_COLUMNS)})
        WHERE m.event_seq IN (SELECT seq FROM ev)
        ORDER BY m.event_seq
        RETURNING id, {_names(LATEST_COPIED)}
    ),
    latest AS (
        INSERT INTO latest_materializations (materialization_id, {_names(LATEST_COPIED)})
        SELECT DISTINCT ON (asset_key) id, {_names(LATEST_COPIED)}
        FROM mat
        ORDER BY asset_key, timestamp DESC, id DESC
        ON CONFLICT (asset_key) DO UPDATE SET
            {_set_excluded([c.name for c in _LATEST.columns if c.name != "asset_key"])}
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
