"""The runs service: runs as the API shows them, without a server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from codeloc._snapshot import AssetNodeSnap, LocationSnapshot
from codeloc.grpc._model import LocationInfo
from server.errors import InvalidRequest, InvalidSelection, NotFound
from server.runs.coordinator import RunCoordinator
from server.schemas import RunCreate
from server.services import runs
from server.storage.db import Database
from server.storage.runs import create_run, set_status
from server.workspace.registry import LocationRegistry


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def add_runs(database: Database, priorities: list[int], prefix: str = "run") -> list[str]:
    run_ids = []
    with database.transaction() as session:
        for i, priority in enumerate(priorities):
            run_id = f"{prefix}-{i:02d}"
            create_run(
                session,
                run_id=run_id,
                location="here",
                asset_keys=[AssetKey(["raw", f"a{i}"])],
                run_config={},
                tags={"n": str(i)},
                token="t",
                priority=priority,
            )
            run_ids.append(run_id)
    return run_ids


def test_queue_positions_follow_priority_then_age(database: Database) -> None:
    ids = add_runs(database, [0, 5, 0, 5, 0])
    with database.transaction() as session:
        set_status(session, ids[2], RunStatus.STARTED)  # holds no place in the queue
        page = runs.list_runs(session)

    positions = {r.run_id: r.queue_position for r in page.runs}
    assert positions == {ids[1]: 1, ids[3]: 2, ids[0]: 3, ids[2]: None, ids[4]: 4}
    assert [r.run_id for r in page.runs] == ids[::-1]  # newest first
    assert page.runs[0].asset_keys == [["raw", "a4"]]
    assert page.runs[0].tags == {"n": "4"}


def test_a_page_of_runs_costs_the_same_queries_however_long(database: Database) -> None:
    add_runs(database, [0] * 3)
    with database.transaction() as session, statements(database) as few:
        small = runs.list_runs(session)
    add_runs(database, [1] * 40, prefix="more")
    with database.transaction() as session, statements(database) as many:
        large = runs.list_runs(session)

    assert len(small.runs) == 3
    assert len(large.runs) == 43
    assert all(r.queue_position is not None for r in large.runs)
    assert len(many) == len(few) == 3  # the page, its tags, its queue positions


def test_bad_filters_are_refused(database: Database) -> None:
    with database.transaction() as session:
        with pytest.raises(InvalidRequest, match="DANCING"):
            runs.list_runs(session, status=["queued,DANCING"])
        with pytest.raises(InvalidRequest, match="key=value"):
            runs.list_runs(session, tag="team")
        with pytest.raises(NotFound, match="run-9"):
            runs.get_run(session, "run-9")
        with pytest.raises(NotFound, match="run-9"):
            runs.list_events(session, "run-9")


def test_status_and_tag_filters(database: Database) -> None:
    ids = add_runs(database, [0, 0, 0])
    with database.transaction() as session:
        set_status(session, ids[0], RunStatus.SUCCESS)
        queued = runs.list_runs(session, status=["queued"])
        done = runs.list_runs(session, status=["success,failure"])
        tagged = runs.list_runs(session, tag="n=1")
    assert [r.run_id for r in queued.runs] == [ids[2], ids[1]]
    assert [r.run_id for r in done.runs] == [ids[0]]
    assert [r.run_id for r in tagged.runs] == [ids[1]]


class _Location:
    """A location that answers from memory: the snapshot of an older SDK, which let a key
    segment hold '/'."""

    def __init__(self, snapshot: LocationSnapshot) -> None:
        self.current = snapshot

    def info(self) -> LocationInfo:
        return LocationInfo("old", "s1", "0", "loaded", self.current.hash)

    def snapshot(self) -> LocationSnapshot:
        return self.current

    def close(self) -> None:
        pass


def test_a_launch_of_a_key_that_would_not_read_back_the_same_is_refused(
    database: Database,
) -> None:
    odd = AssetKey(["raw/orders"])  # a value, not a definition: constructible
    snapshot = LocationSnapshot((AssetNodeSnap(odd, (), "default", "raw_orders"),), hash="h1")
    registry = LocationRegistry(lambda _address: _Location(snapshot))
    registry.add("old", "nowhere:1")
    registry.refresh("old")
    coordinator = RunCoordinator(database, registry, event_url="http://127.0.0.1:1")
    request = RunCreate(selection=[["raw/orders"]])

    with pytest.raises(InvalidSelection, match=r"\['raw/orders'\]"):
        runs.create_runs(coordinator, database, request)
    with database.transaction() as session:
        assert runs.list_runs(session).runs == []
