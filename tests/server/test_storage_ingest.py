"""The ingest path: idempotent by (run_id, seq), materializations, run status, last_seq."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DataError

from codeloc._key import AssetKey as K
from codeloc._runs import Event, RunStatus
from codeloc._wire import event_from_json
from server.errors import NotFound, RunEnded, Unauthorized
from server.storage.db import Database
from server.storage.events import (
    IngestResult,
    ingest_batch,
    ingest_events,
    latest_materializations,
    list_events,
    list_materializations,
    materialization_version,
)
from server.storage.models import MaterializationRow, RunEventRow, RunRow
from server.storage.runs import create_run, get_run, hash_token, set_status, tags_of


def event(seq: int, type_: str = "LOG", *, timestamp: float | None = None, **extra: Any) -> dict:
    return {
        "seq": seq,
        "timestamp": float(seq) if timestamp is None else timestamp,
        "type": type_,
        "message": f"event {seq}",
        **extra,
    }


def materialized(
    seq: int, key: list[str], *, timestamp: float | None = None, code_version: str = "v1"
) -> dict:
    return event(
        seq,
        "ASSET_MATERIALIZATION",
        timestamp=timestamp,
        asset_key=key,
        materialization={
            "asset_key": key,
            "code_version": code_version,
            "data_version": f"data-{seq}",
            "metadata": {"rows": {"kind": "int", "value": seq}},
            "tags": {"seq": str(seq)},
        },
    )


def events_of(batch: list[dict]) -> list[Event]:
    """The events of a batch in the wire format, as the ingest endpoint hands them on."""
    return [event_from_json(e, "run-1") for e in batch]


@pytest.fixture
def run_id(database: Database) -> str:
    with database.transaction() as session:
        create_run(
            session,
            run_id="run-1",
            location="code_location_1",
            # The keys the tests materialize.
            asset_keys=[K(k) for k in ("code_location_1_asset", "a", "b", ["one", "two"])]
            + [K(["x" * 2000])],
            run_config={},
            tags={"team": "data"},
            token="secret",
        )
    return "run-1"


def ingest(database: Database, run_id: str, events: list[dict]) -> IngestResult:
    """One batch, as the ingest route stores it (on PostgreSQL, in one statement unless the
    batch holds run-level events)."""
    return ingest_batch(database, run_id, "secret", events_of(events))


def stored_seqs(database: Database, run_id: str) -> list[int]:
    with database.transaction() as session:
        return [e.seq for e in list_events(session, run_id)]


def run_row(database: Database, run_id: str) -> RunRow:
    with database.transaction() as session:
        row = get_run(session, run_id)
        assert row is not None
        return row


def test_create_run_stores_it_queued_with_tags(database: Database, run_id: str) -> None:
    row = run_row(database, run_id)
    assert (row.status, row.location, row.asset_keys[:2], row.last_seq) == (
        "QUEUED",
        "code_location_1",
        ["code_location_1_asset", "a"],
        0,
    )
    with database.transaction() as session:
        assert tags_of(session, [run_id]) == {run_id: {"team": "data"}}


def test_the_same_batch_twice_is_stored_once(database: Database, run_id: str) -> None:
    batch = [event(1), event(2), materialized(3, ["code_location_1_asset"])]

    first = ingest(database, run_id, batch)
    second = ingest(database, run_id, batch)

    assert first == IngestResult(accepted=3, duplicates=0, last_seq=3)
    assert second == IngestResult(accepted=0, duplicates=3, last_seq=3)
    assert stored_seqs(database, run_id) == [1, 2, 3]
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(MaterializationRow)) == 1


def test_a_seq_repeated_inside_one_batch_counts_once(database: Database, run_id: str) -> None:
    result = ingest(database, run_id, [event(1), event(1), event(2)])

    assert (result.accepted, result.last_seq) == (2, 2)
    assert stored_seqs(database, run_id) == [1, 2]


def test_overlapping_batches_store_each_event_once(database: Database, run_id: str) -> None:
    first = ingest(database, run_id, [event(s) for s in (1, 2, 3, 4)])
    second = ingest(database, run_id, [event(s) for s in (3, 4, 5, 6)])

    assert (first.accepted, first.duplicates) == (4, 0)
    assert (second.accepted, second.duplicates, second.last_seq) == (2, 2, 6)
    assert stored_seqs(database, run_id) == [1, 2, 3, 4, 5, 6]
    with database.transaction() as session:
        messages = [e.message for e in list_events(session, run_id, after=4)]
    assert messages == ["event 5", "event 6"]


def test_out_of_order_batches_keep_last_seq_at_the_max(database: Database, run_id: str) -> None:
    late = ingest(database, run_id, [event(s) for s in (5, 6)])
    early = ingest(database, run_id, [event(s) for s in (1, 2)])
    middle = ingest(database, run_id, [event(s) for s in (4, 3)])

    assert [late.last_seq, early.last_seq, middle.last_seq] == [6, 6, 6]
    assert run_row(database, run_id).last_seq == 6
    assert stored_seqs(database, run_id) == [1, 2, 3, 4, 5, 6]


def test_events_of_another_run_are_apart(database: Database, run_id: str) -> None:
    with database.transaction() as session:
        create_run(
            session,
            run_id="run-2",
            location="code_location_2",
            asset_keys=[],
            run_config={},
            tags={},
            token="secret",
        )
    ingest(database, run_id, [event(1), event(2)])
    other = ingest(database, "run-2", [event(1)])

    assert (other.accepted, other.duplicates, other.last_seq) == (1, 0, 1)
    assert stored_seqs(database, "run-2") == [1]
    assert run_row(database, run_id).last_seq == 2


def test_materialization_fills_history_and_latest(database: Database, run_id: str) -> None:
    key = ["one", "two"]
    ingest(database, run_id, [event(1, "RUN_START"), materialized(2, key, timestamp=100.0)])

    with database.transaction() as session:
        history = list_materializations(session, K(["one", "two"]))
        latest = latest_materializations(session)
        version = materialization_version(session)
    assert [(m.run_id, m.event_seq, m.timestamp, m.code_version) for m in history] == [
        (run_id, 2, 100.0, "v1")
    ]
    assert history[0].mat_metadata == {"rows": {"kind": "int", "value": 2}}
    assert history[0].tags == {"seq": "2"}
    assert list(latest) == [K(["one", "two"])]
    row = latest[K(["one", "two"])]
    assert (row.materialization_id, row.run_id, row.timestamp, row.data_version) == (
        history[0].id,
        run_id,
        100.0,
        "data-2",
    )
    assert version == history[0].id


def test_materialization_and_latest_are_one_transaction(database: Database, run_id: str) -> None:
    def fail_after_ingest() -> None:
        with database.transaction() as session:
            run = get_run(session, run_id)
            assert run is not None
            ingest_events(session, run, events_of([materialized(1, ["code_location_1_asset"])]))
            raise RuntimeError("the request fails after ingest")

    with pytest.raises(RuntimeError, match="fails after ingest"):
        fail_after_ingest()

    with database.transaction() as session:
        assert list_events(session, run_id) == []
        assert list_materializations(session, K("code_location_1_asset")) == []
        assert latest_materializations(session) == {}
        assert materialization_version(session) == 0


@pytest.mark.parametrize("token", ["wrong", ""])
def test_a_batch_with_a_wrong_token_stores_nothing(
    database: Database, run_id: str, token: str
) -> None:
    batch = [event(1), materialized(2, ["a"]), event(3)]
    with pytest.raises(Unauthorized, match="run-1"):
        ingest_batch(database, run_id, token, events_of(batch))

    with database.transaction() as session:
        assert list_events(session, run_id) == []
        assert list_materializations(session, K("a")) == []
        assert latest_materializations(session) == {}
    assert run_row(database, run_id).last_seq == 0


def test_events_the_server_writes_need_no_token(database: Database, run_id: str) -> None:
    # As the coordinator does when it claims a run: a new token, then RUN_STARTING, in one
    # transaction whose loaded row still holds the old token's hash.
    with database.transaction() as session:
        run = get_run(session, run_id)
        assert run is not None
        session.execute(
            update(RunRow)
            .where(RunRow.run_id == run_id)
            .values(token_hash=hash_token("new"))
            .execution_options(synchronize_session=False)
        )
        result = ingest_events(session, run, events_of([event(1, "LOG"), event(2, "RUN_STARTING")]))
    assert result == IngestResult(2, 0, 2)
    assert stored_seqs(database, run_id) == [1, 2]
    assert ingest_batch(database, run_id, "new", events_of([event(3)])) == IngestResult(1, 0, 3)


def test_a_batch_for_an_unknown_run_is_not_found(database: Database, run_id: str) -> None:
    with pytest.raises(NotFound, match="no run 'run-2'"):
        ingest_batch(database, "run-2", "secret", events_of([event(1)]))


# SQLite does not enforce column lengths: the failure is made on PostgreSQL, where a batch of
# events is one statement.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_failing_materialization_stores_none_of_the_batch(
    database: Database, run_id: str
) -> None:
    # An asset key longer than its column fails the statement after the events went in.
    batch = [event(1), materialized(2, ["x" * 2000]), event(3)]
    with pytest.raises(DataError, match="too long"):
        ingest(database, run_id, batch)

    assert stored_seqs(database, run_id) == []
    assert run_row(database, run_id).last_seq == 0
    assert ingest(database, run_id, [event(1), event(3)]) == IngestResult(2, 0, 3)


def test_a_retried_batch_with_materializations_adds_none(database: Database, run_id: str) -> None:
    batch = [event(1), materialized(2, ["a"]), materialized(3, ["a"]), materialized(4, ["b"])]
    assert ingest(database, run_id, batch) == IngestResult(4, 0, 4)
    assert ingest(database, run_id, batch) == IngestResult(0, 4, 4)

    with database.transaction() as session:
        history = list_materializations(session, K("a"))
        latest = latest_materializations(session)
    assert [m.event_seq for m in history] == [3, 2]
    assert latest[K("a")].materialization_id == history[0].id
    assert set(latest) == {K("a"), K("b")}


def test_a_newer_materialization_replaces_the_latest(database: Database, run_id: str) -> None:
    ingest(database, run_id, [materialized(1, ["a"], timestamp=10.0, code_version="old")])
    ingest(database, run_id, [materialized(2, ["a"], timestamp=20.0, code_version="new")])

    with database.transaction() as session:
        latest = latest_materializations(session, [K("a")])[K("a")]
        history = list_materializations(session, K("a"))
    assert (latest.timestamp, latest.code_version) == (20.0, "new")
    assert [m.code_version for m in history] == ["new", "old"]


def test_an_older_materialization_stored_late_does_not_replace_the_latest(
    database: Database, run_id: str
) -> None:
    ingest(database, run_id, [materialized(5, ["a"], timestamp=50.0, code_version="newer")])
    ingest(database, run_id, [materialized(3, ["a"], timestamp=30.0, code_version="older")])

    with database.transaction() as session:
        latest = latest_materializations(session)
        history = list_materializations(session, K("a"))
    assert (latest[K("a")].timestamp, latest[K("a")].code_version) == (50.0, "newer")
    assert latest[K("a")].materialization_id == min(m.id for m in history)
    assert len(history) == 2


def test_latest_is_per_key(database: Database, run_id: str) -> None:
    ingest(
        database,
        run_id,
        [
            materialized(1, ["a"], timestamp=1.0),
            materialized(2, ["b"], timestamp=2.0),
            materialized(3, ["a"], timestamp=3.0, code_version="v2"),
        ],
    )

    with database.transaction() as session:
        latest = latest_materializations(session)
        only_b = latest_materializations(session, [K("b")])
    assert {k: (r.timestamp, r.code_version) for k, r in latest.items()} == {
        K("a"): (3.0, "v2"),
        K("b"): (2.0, "v1"),
    }
    assert list(only_b) == [K("b")]


@pytest.mark.parametrize(
    ("final", "status"),
    [("RUN_SUCCESS", "SUCCESS"), ("RUN_FAILURE", "FAILURE"), ("RUN_CANCELED", "CANCELED")],
)
def test_run_status_follows_run_events(
    database: Database, run_id: str, final: str, status: str
) -> None:
    ingest(database, run_id, [event(1, "RUN_START", timestamp=100.0)])
    started = run_row(database, run_id)
    assert (started.status, started.started_at, started.ended_at) == ("STARTED", 100.0, None)

    ingest(database, run_id, [event(2, final, timestamp=105.0, error="boom")])

    ended = run_row(database, run_id)
    assert (ended.status, ended.started_at, ended.ended_at) == (status, 100.0, 105.0)
    assert ended.error == (None if status == "SUCCESS" else "boom")


def test_a_terminal_status_never_changes(database: Database, run_id: str) -> None:
    ingest(database, run_id, [event(1, "RUN_START"), event(2, "RUN_SUCCESS", timestamp=20.0)])
    # Late batches: a failure, a restart, then events out of order. None is stored.
    for late in ([event(3, "RUN_FAILURE", error="late"), event(4, "RUN_START")], [event(5)]):
        with pytest.raises(RunEnded, match="run 'run-1' is SUCCESS; it takes no more events"):
            ingest(database, run_id, late)

    row = run_row(database, run_id)
    assert (row.status, row.ended_at, row.error, row.last_seq) == ("SUCCESS", 20.0, None, 2)
    assert stored_seqs(database, run_id) == [1, 2]


def test_an_event_numbered_before_the_end_that_comes_late_is_refused(
    database: Database, run_id: str
) -> None:
    ingest(database, run_id, [event(9, "RUN_FAILURE", timestamp=9.0, message="step failed")])
    with pytest.raises(RunEnded):
        ingest(database, run_id, [event(1, "RUN_START", timestamp=1.0)])

    row = run_row(database, run_id)
    assert (row.status, row.error, row.ended_at) == ("FAILURE", "step failed", 9.0)
    assert stored_seqs(database, run_id) == [9]


def test_set_status_on_a_terminal_run_returns_false(database: Database, run_id: str) -> None:
    with database.transaction() as session:
        assert set_status(session, run_id, RunStatus.STARTED, at=1.0)
        assert set_status(session, run_id, RunStatus.CANCELED, at=2.0, error="stop")
    before = run_row(database, run_id)

    with database.transaction() as session:
        for status in RunStatus:
            assert not set_status(session, run_id, status, at=99.0, error="again")

    after = run_row(database, run_id)
    assert (after.status, after.ended_at, after.updated_at, after.error) == (
        "CANCELED",
        2.0,
        before.updated_at,
        "stop",
    )


def test_set_status_only_from(database: Database, run_id: str) -> None:
    with database.transaction() as session:
        moved = set_status(session, run_id, RunStatus.CANCELED, only_from=["STARTED"])
    assert not moved
    assert run_row(database, run_id).status == "QUEUED"


def test_duplicate_status_events_do_not_apply_twice(database: Database, run_id: str) -> None:
    ingest(database, run_id, [event(1, "RUN_START", timestamp=10.0)])
    with database.transaction() as session:
        assert set_status(session, run_id, RunStatus.CANCELING, at=11.0)
    # The RUN_START batch retried: its event is a duplicate and must not undo CANCELING.
    result = ingest(database, run_id, [event(1, "RUN_START", timestamp=10.0)])

    assert result.duplicates == 1
    assert run_row(database, run_id).status == "CANCELING"


def test_empty_batch(database: Database, run_id: str) -> None:
    ingest(database, run_id, [event(1), event(2)])
    assert ingest(database, run_id, []) == IngestResult(0, 0, 2)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RunEventRow)) == 2
        assert session.scalar(select(RunRow.last_seq)) == 2


def test_text_with_nul_characters_is_stored(database: Database, run_id: str) -> None:
    # Captured output may hold anything; PostgreSQL text cannot hold NUL.
    batch = [
        event(1, message="binary \x00 output", error="err\x00or", step_key="st\x00ep"),
        materialized(2, ["a"]),
    ]
    batch[1]["materialization"]["metadata"] = {"text": {"kind": "text", "value": "x\x00y"}}
    batch[1]["materialization"]["tags"] = {"t": "v\x00"}
    assert ingest(database, run_id, batch) == IngestResult(2, 0, 2)
    with database.transaction() as session:
        [first, _] = list_events(session, run_id)
        [mat] = list_materializations(session, K("a"))
    assert first.message == "binary \ufffd output"
    assert first.error == "err\ufffdor"
    assert first.step_key == "st\ufffdep"
    assert mat.mat_metadata["text"]["value"] == "x\ufffdy"
    assert mat.tags == {"t": "v\ufffd"}


def test_long_free_form_text_of_user_code_is_stored(database: Database, run_id: str) -> None:
    version = "v" * 5000
    long_step = "step_" * 200
    batch = [
        event(1, level="A_CUSTOM_LEVEL_NAME_LONGER_THAN_SIXTEEN", step_key=long_step),
        materialized(2, ["a"], code_version=version),
    ]
    batch[1]["materialization"]["data_version"] = version
    assert ingest(database, run_id, batch) == IngestResult(2, 0, 2)
    with database.transaction() as session:
        [first, _] = list_events(session, run_id)
        latest = latest_materializations(session)[K("a")]
    assert (first.level, first.step_key) == ("A_CUSTOM_LEVEL_NAME_LONGER_THAN_SIXTEEN", long_step)
    assert (latest.code_version, latest.data_version) == (version, version)
