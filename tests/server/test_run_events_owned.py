"""What a run's token may write, with the coordinator writing its own events beside it.

The server and the worker number a run's events from disjoint ranges, so that neither can
take a seq of the other's; a run that has ended takes no more events; a token writes only
its run's assets. Runs are launched by a real coordinator on a real database, on a location
that answers from memory and never starts a worker: the test posts the worker's events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from codeloc._key import AssetKey
from codeloc._runs import AssetMaterialization, Event, EventType, RunStatus
from codeloc._snapshot import AssetNodeSnap, LocationSnapshot
from codeloc._wire import Batch
from codeloc.grpc._model import LocationInfo, RunLaunch
from server.errors import Forbidden, InvalidEvent, RunEnded
from server.runs.coordinator import FIRST_WORKER_SEQ, RunCoordinator
from server.schemas import IngestResultPublic, RunCreate
from server.services import runs
from server.storage.db import Database
from server.storage.events import SERVER_SEQ_BASE, list_events, list_materializations
from server.storage.runs import get_run
from server.workspace.registry import LocationRegistry

LOCATION = "loc"


class _Location:
    """A location that loads a snapshot from memory and takes launches without starting any
    worker; ``reachable = False`` makes it stop answering."""

    def __init__(self) -> None:
        self.reachable = True
        self.launches: list[RunLaunch] = []
        # ``m1`` and ``m2`` are one multi-asset (one step): a run of one makes both.
        self.snapshot_value = LocationSnapshot(
            (
                AssetNodeSnap(AssetKey("a"), (), "default", "a"),
                AssetNodeSnap(AssetKey("m1"), (), "default", "m"),
                AssetNodeSnap(AssetKey("m2"), (), "default", "m"),
                AssetNodeSnap(AssetKey("other"), (), "default", "other"),
            ),
            hash="h1",
        )

    def info(self) -> LocationInfo:
        if not self.reachable:
            raise ConnectionError("connection refused")
        return LocationInfo(LOCATION, "s1", "0", "loaded", self.snapshot_value.hash)

    def snapshot(self) -> LocationSnapshot:
        return self.snapshot_value

    def launch(self, launch: RunLaunch) -> None:
        self.launches.append(launch)

    def close(self) -> None:
        pass


@pytest.fixture
def location() -> _Location:
    return _Location()


@pytest.fixture
def coordinator(database: Database, location: _Location) -> Iterator[RunCoordinator]:
    registry = LocationRegistry(lambda _address: location)
    registry.add(LOCATION, "nowhere:1")
    registry.refresh(LOCATION)
    coordinator = RunCoordinator(
        database,
        registry,
        event_url="http://127.0.0.1:1",
        starting_timeout=3600.0,
        lost_location_seconds=0.0,
    )
    yield coordinator
    coordinator._launcher.shutdown(wait=True)


def launched(
    coordinator: RunCoordinator, database: Database, location: _Location, key: str
) -> tuple[str, str]:
    """A run of ``key``, claimed and launched: its id and the token its worker got."""
    created, _ = runs.create_runs(coordinator, database, RunCreate(selection=[[key]]))
    [run] = created.runs
    coordinator.tick()
    deadline = time.monotonic() + 10
    while not any(launch.run_id == run.run_id for launch in location.launches):
        assert time.monotonic() < deadline, "the coordinator never launched the run"
        time.sleep(0.01)
    launch = next(launch for launch in location.launches if launch.run_id == run.run_id)
    assert launch.first_seq == FIRST_WORKER_SEQ
    return run.run_id, launch.destination.token


def post(
    coordinator: RunCoordinator, database: Database, run_id: str, token: str, events: list[Event]
) -> IngestResultPublic:
    """A batch of the worker's, as the ingest endpoint hands it on."""
    return runs.ingest(database, coordinator, run_id, token, Batch(run_id, events))


def stored(database: Database, run_id: str) -> list[tuple[int, str]]:
    with database.transaction() as session:
        return [(e.seq, e.type) for e in list_events(session, run_id)]


def status(database: Database, run_id: str) -> str:
    with database.transaction() as session:
        row = get_run(session, run_id)
        assert row is not None
        return row.status


def materialized(run_id: str, seq: int, key: str) -> Event:
    return Event(
        EventType.ASSET_MATERIALIZATION,
        run_id,
        seq=seq,
        asset_key=AssetKey(key),
        materialization=AssetMaterialization(AssetKey(key)),
    )


def test_a_run_failed_as_stuck_starting_takes_none_of_its_workers_late_events(
    coordinator: RunCoordinator, database: Database, location: _Location
) -> None:
    run_id, token = launched(coordinator, database, location, "a")
    # The worker is slow to start: the server gives up on the run first.
    coordinator.starting_timeout = 0.0
    time.sleep(0.01)
    coordinator.tick()
    assert status(database, run_id) == "FAILURE"
    ended = stored(database, run_id)
    assert ended == [(1, "RUN_QUEUED"), (2, "RUN_STARTING"), (SERVER_SEQ_BASE, "RUN_FAILURE")]

    # Then the worker's first events arrive, numbered from where its launch said.
    late = [
        Event(EventType.RUN_START, run_id, seq=FIRST_WORKER_SEQ),
        Event(EventType.LOG, run_id, seq=FIRST_WORKER_SEQ + 1, message="working"),
    ]
    with pytest.raises(RunEnded, match=f"run '{run_id}' is FAILURE; it takes no more events"):
        post(coordinator, database, run_id, token, late)
    with pytest.raises(RunEnded):
        post(coordinator, database, run_id, token, late[1:])  # without a run-level event
    assert stored(database, run_id) == ended
    assert status(database, run_id) == "FAILURE"


def test_the_servers_end_of_a_run_sorts_after_the_workers_events(
    coordinator: RunCoordinator, database: Database, location: _Location
) -> None:
    run_id, token = launched(coordinator, database, location, "a")
    first = [Event(EventType.RUN_START, run_id, seq=3), Event(EventType.LOG, run_id, seq=4)]
    assert post(coordinator, database, run_id, token, first).accepted == 2

    coordinator.fail(run_id, "the location is gone")
    coordinator.fail(run_id, "and gone again")  # an ended run is not failed twice

    assert [seq for seq, _ in stored(database, run_id)] == [1, 2, 3, 4, SERVER_SEQ_BASE]
    with pytest.raises(RunEnded):
        post(coordinator, database, run_id, token, [Event(EventType.LOG, run_id, seq=5)])
    # The batch before, retried because its answer was lost: answered, as duplicates.
    again = post(coordinator, database, run_id, token, first)
    assert (again.accepted, again.duplicates) == (0, 2)


def test_a_seq_near_2_31_does_not_keep_runs_of_a_lost_location_from_failing(
    coordinator: RunCoordinator, database: Database, location: _Location
) -> None:
    poisoned, token = launched(coordinator, database, location, "a")
    other, _ = launched(coordinator, database, location, "a")

    # The server's own next seq was last_seq + 1: past what the column holds.
    near = [Event(EventType.LOG, poisoned, seq=2**31 - 1)]
    with pytest.raises(InvalidEvent, match=r"events\.0\.seq: must be from 3 to 1073741823"):
        post(coordinator, database, poisoned, token, near)
    highest = [Event(EventType.LOG, poisoned, seq=SERVER_SEQ_BASE - 1)]
    assert post(coordinator, database, poisoned, token, highest).last_seq == SERVER_SEQ_BASE - 1

    location.reachable = False
    coordinator.registry.refresh(LOCATION)
    time.sleep(0.01)
    coordinator.tick()

    assert (status(database, poisoned), status(database, other)) == ("FAILURE", "FAILURE")
    assert stored(database, poisoned)[-2:] == [
        (SERVER_SEQ_BASE - 1, "LOG"),
        (SERVER_SEQ_BASE, "RUN_FAILURE"),
    ]


def test_a_token_materializes_only_its_runs_assets_and_those_made_with_them(
    coordinator: RunCoordinator, database: Database, location: _Location
) -> None:
    run_id, token = launched(coordinator, database, location, "m1")
    # m2 is made by the same step as m1: the run materializes it too.
    own = [materialized(run_id, 3, "m1"), materialized(run_id, 4, "m2")]
    assert post(coordinator, database, run_id, token, own).accepted == 2

    foreign = [Event(EventType.LOG, run_id, seq=5), materialized(run_id, 6, "other")]
    with pytest.raises(Forbidden, match=rf"run '{run_id}' .* 'other' \(events\.1\.asset_key\)"):
        post(coordinator, database, run_id, token, foreign)
    ending = [*foreign, Event(EventType.RUN_SUCCESS, run_id, seq=7)]
    with pytest.raises(Forbidden, match="'other'"):
        post(coordinator, database, run_id, token, ending)

    assert [seq for seq, _ in stored(database, run_id)] == [1, 2, 3, 4]
    with database.transaction() as session:
        assert list_materializations(session, AssetKey("other")) == []
    assert status(database, run_id) == RunStatus.STARTING.value
