"""Shipping without a location: spools, the shipper, the drainer, against a real endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from codeloc._wire import event_to_json
from codeloc.engine import Event, EventType
from codeloc.grpc import EventDestination
from codeloc.grpc._shipping import Shipper, SpoolDrainer
from codeloc.grpc._spool import Spool

if TYPE_CHECKING:
    from conftest import Receiver


def event_lines(run_id: str, seqs: range) -> list[tuple[int, str]]:
    return [
        (seq, json.dumps(event_to_json(Event(EventType.LOG, run_id, seq=seq, message=f"m{seq}"))))
        for seq in seqs
    ]


def ship(spool_path: Path, destination: EventDestination, lines: list[tuple[int, str]]) -> bool:
    """Run a shipper over ``lines`` as a worker does; whether everything was delivered."""
    spool = Spool.open(spool_path)
    assert spool is not None
    warnings: list[str] = []
    shipper = Shipper(spool, destination, warnings.append, max_backoff=0.05)
    shipper.start()
    for seq, line in lines:
        spool.append(line)
        shipper.put(seq, line)
    delivered = shipper.close(timeout=10)
    spool.close()
    return delivered


def test_events_arrive_in_batches_in_order(tmp_path: Path, receiver: Receiver) -> None:
    path = Spool.create(tmp_path, "run-a", receiver.destination)
    assert ship(path, receiver.destination, event_lines("run-a", range(1, 2501)))

    events = receiver.run_events("run-a")
    assert [e["seq"] for e in events] == list(range(1, 2501))
    assert len(receiver.deliveries) == 2500  # nothing sent twice
    assert 3 <= receiver.batches < 2500  # batched, at most 1000 a batch
    assert (tmp_path / "run-a.acked").read_text() == "2500"


def test_spooled_events_are_delivered_once_the_destination_is_back(
    tmp_path: Path, unused_port: int, start_receiver: Callable[[int], Receiver]
) -> None:
    port = unused_port
    destination = EventDestination(f"http://127.0.0.1:{port}/events", "test-token")
    path = Spool.create(tmp_path, "run-b", destination, first_seq=3)
    started = time.monotonic()
    assert not ship(path, destination, event_lines("run-b", range(3, 53)))
    assert time.monotonic() - started < 5  # a worker does not wait for a dead destination

    warnings: list[str] = []
    drainer = SpoolDrainer(tmp_path, lambda run_id: False, warnings.append, max_backoff=0.1)
    drainer.drain_once()  # still down: nothing lost, the spool stays
    assert path.exists()
    assert "not delivered yet" in warnings[0]

    receiver = start_receiver(port)
    drainer.start()
    try:
        events = receiver.wait_for_end("run-b", timeout=10)
    finally:
        drainer.stop()
    assert [e["seq"] for e in events] == list(range(3, 54))
    assert [s for _, s in receiver.deliveries] == list(range(3, 54))  # no duplicates
    # The worker never wrote a final event: the drainer ended the run as failed.
    assert events[-1]["type"] == "RUN_FAILURE"
    assert not path.exists()


def test_a_refused_token_is_not_retried_in_a_loop(tmp_path: Path, receiver: Receiver) -> None:
    destination = EventDestination(receiver.destination.url, "wrong-token")
    path = Spool.create(tmp_path, "run-c", destination)
    started = time.monotonic()
    assert not ship(path, destination, event_lines("run-c", range(1, 4)))
    assert time.monotonic() - started < 5
    assert receiver.run_events("run-c") == []
    spool = Spool.open(path)
    assert spool is not None
    with spool:
        assert [seq for seq, _ in spool.read().pending] == [1, 2, 3]


def test_a_torn_last_line_is_dropped_and_the_final_event_numbered_after(tmp_path: Path) -> None:
    path = Spool.create(tmp_path, "run-d", EventDestination("http://127.0.0.1:9/x"))
    spool = Spool.open(path)
    assert spool is not None
    with spool:
        for _, line in event_lines("run-d", range(1, 4)):
            spool.append(line)
        with open(path, "a") as f:
            f.write('{"seq": 4, "ty')  # the writer died here
        contents, appended = spool.end_run(EventType.RUN_FAILURE, "run worker was killed")
    assert appended
    assert contents.last_seq == 4
    assert contents.last_type == "RUN_FAILURE"
    assert [seq for seq, _ in contents.pending] == [1, 2, 3, 4]


def test_a_live_run_is_left_to_its_worker(tmp_path: Path, receiver: Receiver) -> None:
    Spool.create(tmp_path, "run-e", receiver.destination)
    drainer = SpoolDrainer(tmp_path, lambda run_id: run_id == "run-e", print)
    drainer.drain_once()
    assert receiver.run_events("run-e") == []
    assert (tmp_path / "run-e.jsonl").exists()


def test_a_run_the_server_has_ended_is_final_for_the_shipper(
    tmp_path: Path, receiver: Receiver
) -> None:
    # 409: the server failed the run (its location seemed lost) and takes no more events.
    receiver.status = 409
    path = Spool.create(tmp_path, "run-e", receiver.destination, first_seq=3)
    spool = Spool.open(path)
    assert spool is not None
    ended: list[str] = []
    warnings: list[str] = []
    shipper = Shipper(
        spool, receiver.destination, warnings.append, max_backoff=0.05, on_ended=ended.append
    )
    shipper.start()
    started = time.monotonic()
    for seq, line in event_lines("run-e", range(3, 6)):
        spool.append(line)
        shipper.put(seq, line)
    time.sleep(0.3)
    for seq, line in event_lines("run-e", range(6, 8)):  # the run goes on a moment
        spool.append(line)
        shipper.put(seq, line)
    assert not shipper.close(timeout=10)
    spool.close()

    assert time.monotonic() - started < 5
    assert receiver.refused == 1  # not retried: nothing more is sent after the answer
    assert ended == ["HTTP 409 Conflict: failing on purpose"]
    assert shipper.ended_on_server == ended[0]
    assert "the server has ended the run" in warnings[0]


def test_the_drainer_drops_the_spool_of_a_run_the_server_has_ended(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.status = 409
    path = Spool.create(tmp_path, "run-f", receiver.destination, first_seq=3)
    spool = Spool.open(path)
    assert spool is not None
    with spool:
        for _, line in event_lines("run-f", range(3, 6)):
            spool.append(line)
    warnings: list[str] = []
    drainer = SpoolDrainer(tmp_path, lambda run_id: False, warnings.append, max_backoff=0.05)

    drainer.drain_once()

    assert not path.exists()  # never retried: it would be refused forever
    assert receiver.refused == 1
    assert "4 spooled events dropped" in warnings[0]  # the three, and the run's end
    drainer.drain_once()
    assert receiver.refused == 1
