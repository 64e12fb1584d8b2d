"""Migrations on SQLite and PostgreSQL: from nothing, from 0001 with rows, against the models."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, String, inspect, select

from codeloc._key import AssetKey
from codeloc._wire import event_from_json
from server.storage.db import Database
from server.storage.events import ingest_events, latest_materializations
from server.storage.migrate import (
    SchemaBehind,
    check_at_head,
    current_revision,
    engine_for,
    head_revision,
    upgrade,
)
from server.storage.models import (
    Base,
    LatestMaterializationRow,
    MaterializationRow,
    RunEventRow,
    RunRow,
    RunTagRow,
)
from server.storage.runs import create_run

RUNS = RunRow.__table__
TAGS = RunTagRow.__table__
EVENTS = RunEventRow.__table__
MATERIALIZATIONS = MaterializationRow.__table__
LATEST = LatestMaterializationRow.__table__


def _rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]


def _run(run_id: str, status: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "location": "code_location_1",
        "job_name": None,
        "status": status,
        "asset_keys": ["a", "b/c"],
        "run_config": {"ops": {"a": {"config": {"limit": 3}}}},
        "priority": 0,
        "depends_on": [],
        "created_at": 1.0,
        "started_at": 2.0,
        "ended_at": 3.0,
        "updated_at": 3.0,
        "error": None,
        "token_hash": "0" * 64,
        "location_server_id": "server-1",
        "last_seq": 4,
    }


def _materialization(key: str, run_id: str, seq: int, timestamp: float) -> dict[str, Any]:
    return {
        "asset_key": key,
        "run_id": run_id,
        "event_seq": seq,
        "timestamp": timestamp,
        "code_version": f"v{seq}",
        "data_version": f"d{seq}",
        "metadata": {"rows": {"kind": "int", "value": seq}},
        "tags": {"seq": str(seq)},
    }


def test_upgrade_from_empty_to_head(empty_database_url: str) -> None:
    upgrade(empty_database_url)

    engine = engine_for(empty_database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
        check_at_head(engine)  # does not raise
    finally:
        engine.dispose()


def test_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)

    engine = engine_for(empty_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_from_0001_keeps_rows_and_fills_latest(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0001")
    engine = engine_for(empty_database_url)
    try:
        assert current_revision(engine) == "0001"
        assert "latest_materializations" not in inspect(engine).get_table_names()
        with engine.begin() as conn:
            conn.execute(RUNS.insert(), [_run("r1", "SUCCESS"), _run("r2", "FAILURE")])
            conn.execute(TAGS.insert(), [{"run_id": "r1", "key": "team", "value": "data"}])
            conn.execute(
                EVENTS.insert(),
                [
                    {
                        "run_id": run_id,
                        "seq": seq,
                        "timestamp": float(seq),
                        "type": "LOG",
                        "level": "INFO",
                        "step_key": None,
                        "asset_key": None,
                        "message": f"event {seq}",
                        "metadata": {},
                        "error": None,
                    }
                    for run_id in ("r1", "r2")
                    for seq in (1, 2, 3)
                ],
            )
            # Inserted one by one, so their ids are 1..6 in this order.
            for row in [
                _materialization("a", "r1", 1, 10.0),
                _materialization("b/c", "r1", 2, 15.0),
                _materialization("a", "r1", 3, 20.0),
                _materialization("d", "r2", 1, 50.0),
                _materialization("a", "r2", 2, 30.0),
                # stored after the one above, but made before it: it is not the newest of d
                _materialization("d", "r2", 3, 40.0),
            ]:
                conn.execute(MATERIALIZATIONS.insert(), row)
        before = {t: _rows(engine, t) for t in (RUNS, TAGS, EVENTS, MATERIALIZATIONS)}
        assert [r[0] for r in before[MATERIALIZATIONS]] == [1, 2, 3, 4, 5, 6]

        upgrade(empty_database_url)

        assert current_revision(engine) == head_revision()
        for table, rows in before.items():
            assert _rows(engine, table) == rows, table.name
        assert _rows(engine, LATEST) == [
            (
                "a",
                5,
                "r2",
                30.0,
                "v2",
                "d2",
                {"rows": {"kind": "int", "value": 2}},
                {"seq": "2"},
            ),
            (
                "b/c",
                2,
                "r1",
                15.0,
                "v2",
                "d2",
                {"rows": {"kind": "int", "value": 2}},
                {"seq": "2"},
            ),
            (
                "d",
                4,
                "r2",
                50.0,
                "v1",
                "d1",
                {"rows": {"kind": "int", "value": 1}},
                {"seq": "1"},
            ),
        ]
    finally:
        engine.dispose()

    # The migrated database takes new materializations where the old history left off.
    db = Database(empty_database_url)
    try:
        with db.transaction() as session:
            # A new run: the old ones have ended, and an ended run takes no more events.
            run = create_run(
                session,
                run_id="r3",
                location="here",
                asset_keys=[AssetKey("a")],
                run_config={},
                tags={},
                token="t",
            )
            event = {
                "seq": 9,
                "timestamp": 60.0,
                "type": "ASSET_MATERIALIZATION",
                "materialization": {"asset_key": ["a"], "code_version": "v9"},
            }
            ingest_events(session, run, [event_from_json(event)])
        with db.transaction() as session:
            latest = latest_materializations(session)[AssetKey("a")]
            assert (latest.materialization_id, latest.code_version) == (7, "v9")
    finally:
        db.dispose()


@pytest.mark.parametrize("revision", [None, "0001"])
def test_check_at_head_refuses_an_old_schema(empty_database_url: str, revision: str | None) -> None:
    if revision is not None:
        upgrade(empty_database_url, revision)
    engine = engine_for(empty_database_url)
    try:
        with pytest.raises(SchemaBehind, match="tessera migrate") as raised:
            check_at_head(engine)
    finally:
        engine.dispose()
    state = "empty" if revision is None else f"at revision {revision}"
    assert state in str(raised.value)
    assert head_revision() in str(raised.value)


def test_models_match_migrations(database_url: str) -> None:
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_the_comparison_would_see_a_changed_type(database_url: str) -> None:
    # Guards the test above against comparing nothing: types are compared on this backend.
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["runs"].c.status.type = String(32)

    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), changed)
    finally:
        engine.dispose()
    assert [(d[0][0], d[0][2], d[0][3]) for d in diffs] == [("modify_type", "runs", "status")]
