"""Asset keys through storage: one codec, and every stored key reads back as the same key."""

from __future__ import annotations

import pytest

from codeloc._key import AssetKey
from codeloc._runs import AssetMaterialization, Event, EventType
from server.storage._batch import EVENT_COLUMNS, LATEST_COPIED, MATERIALIZATION_COLUMNS
from server.storage.db import Database
from server.storage.events import (
    ingest_batch,
    latest_materializations,
    latest_versions,
    latest_versions_since,
    list_events,
    list_materializations,
    rows_of,
)
from server.storage.keys import MAX_KEY_LENGTH, decode_key, encode_key, unstorable
from server.storage.models import MaterializationRow, RunEventRow
from server.storage.runs import asset_keys_of, create_run, get_run

KEYS = [
    AssetKey("orders"),
    AssetKey(["raw", "orders"]),
    AssetKey(["one", "two", "three", "upstream_asset"]),
    AssetKey(["with space", "ünïcödé", "dots.and-dashes"]),
]


@pytest.mark.parametrize("key", KEYS)
def test_a_key_reads_back_as_itself(key: AssetKey) -> None:
    assert unstorable(key) is None
    assert decode_key(encode_key(key)) == key
    assert encode_key(key) == "/".join(key.path)  # the form earlier rows hold


def test_a_key_that_would_not_read_back_the_same_is_unstorable() -> None:
    slash = unstorable(AssetKey(["raw/orders"]))
    assert slash is not None
    assert "'raw/orders'" in slash
    assert decode_key(encode_key(AssetKey(["raw/orders"]))) != AssetKey(["raw/orders"])
    longest = AssetKey(["x" * (MAX_KEY_LENGTH - 2), "y"])
    assert unstorable(longest) is None
    too_long = unstorable(AssetKey(["x" * (MAX_KEY_LENGTH - 1), "y"]))
    assert too_long is not None
    assert str(MAX_KEY_LENGTH) in too_long


def materialization(seq: int, key: AssetKey) -> Event:
    return Event(
        EventType.ASSET_MATERIALIZATION,
        "run-1",
        seq=seq,
        timestamp=float(seq),
        asset_key=key,
        materialization=AssetMaterialization(key, code_version="v1"),
    )


def test_every_storage_function_gives_back_the_keys_it_was_given(database: Database) -> None:
    with database.transaction() as session:
        create_run(
            session,
            run_id="run-1",
            location="here",
            asset_keys=KEYS,
            run_config={},
            tags={},
            token="t",
        )
    ingest_batch(database, "run-1", "t", [materialization(i + 1, k) for i, k in enumerate(KEYS)])

    with database.transaction() as session:
        run = get_run(session, "run-1")
        assert run is not None
        assert asset_keys_of(run) == KEYS
        events = list_events(session, "run-1")
        assert [decode_key(e.asset_key) for e in events if e.asset_key] == KEYS
        assert set(latest_materializations(session)) == set(KEYS)
        assert set(latest_materializations(session, KEYS[1:3])) == set(KEYS[1:3])
        assert set(latest_versions(session)) == set(KEYS)
        assert set(latest_versions_since(session, 0) or {}) == set(KEYS)
        for key in KEYS:
            [row] = list_materializations(session, key)
            assert decode_key(row.asset_key) == key


def test_rows_fill_exactly_the_columns_of_the_batch_statement() -> None:
    event = materialization(1, AssetKey(["a", "b"]))
    rows = rows_of([event, Event(EventType.LOG, "run-1", seq=2)])
    assert [set(r) for r in rows.events] == [set(EVENT_COLUMNS)] * 2
    assert [set(r) for r in rows.materializations] == [set(MATERIALIZATION_COLUMNS)]
    assert rows.events[0]["asset_key"] == rows.materializations[0]["asset_key"] == "a/b"
    # The statement's column lists come from the models, not from a second list.
    assert set(EVENT_COLUMNS) == {c.name for c in RunEventRow.__table__.columns} - {"id", "run_id"}
    assert set(LATEST_COPIED) <= {c.name for c in MaterializationRow.__table__.columns}
