"""An in-process ``LocationServer`` on port 0, its fork server and workers, through the client."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from codeloc import AssetKey, ConfigInvalid
from codeloc._loading import load_definitions
from codeloc._runs import RunStatus
from codeloc._snapshot import snapshot_of
from codeloc.grpc import (
    CodeLocationClient,
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    EventDestination,
    LaunchRejected,
    LocationServer,
    RunAlreadyExists,
    RunLaunch,
    RunNotFound,
    RunState,
)

if TYPE_CHECKING:
    from conftest import Receiver, StartServer

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


@pytest.fixture(scope="module")
def runs_server(start_server: StartServer) -> LocationServer:
    return start_server("grpc_runs")


@pytest.fixture
def client(runs_server: LocationServer) -> CodeLocationClient:
    c = CodeLocationClient(runs_server.address)
    c.wait_until_loaded(30)
    return c


def launch(
    client: CodeLocationClient,
    destination: EventDestination,
    *keys: str,
    **kwargs: Any,
) -> RunState:
    run_id = kwargs.pop("run_id", f"run-{uuid.uuid4().hex[:12]}")
    return client.launch(
        RunLaunch(run_id, tuple(AssetKey.from_user_string(k) for k in keys), destination, **kwargs)
    )


def wait_for_status(client: CodeLocationClient, run_id: str, timeout: float = 20.0) -> RunState:
    deadline = time.monotonic() + timeout
    while True:
        state = next(r for r in client.runs() if r.run_id == run_id)
        if state.status.is_terminal or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def assert_numbered(events: list[dict[str, Any]], first: int = 1) -> None:
    """seq from ``first`` without gaps, RUN_START first, exactly one final event, last."""
    assert [e["seq"] for e in events] == list(range(first, first + len(events)))
    assert events[0]["type"] == "RUN_START"
    finals = [e for e in events if e["type"] in ("RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED")]
    assert finals == [events[-1]]


def test_snapshot_info_health_and_reflection(start_server: StartServer) -> None:
    server = start_server("grpc_rich", name="rich")
    with CodeLocationClient(server.address) as client:
        info = client.wait_until_loaded(30)
        snapshot = client.snapshot()
        defs = load_definitions(module="grpc_rich", working_directory=str(RESOURCES))
        expected = snapshot_of(defs)

        assert snapshot == expected  # every field of every node, jobs, schedules, sensors
        assert info.name == "rich"
        assert info.state == "loaded"
        assert info.snapshot_hash == expected.hash
        assert info.asset_count == len(expected.assets) == 6
        assert info.sdk_version == "0.1.0"
        assert info.load_error is None
        assert client.snapshot_if_changed(expected.hash) is None
        assert client.snapshot_if_changed("stale") == expected

        channel = grpc.insecure_channel(server.address)
        try:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "tessera.codelocation.v1.CodeLocation"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
            services = {s.name for s in answer.list_services_response.service}
            assert {"tessera.codelocation.v1.CodeLocation", "grpc.health.v1.Health"} <= services
            request = reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="tessera.codelocation.v1.CodeLocation"
            )
            (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
            assert answer.file_descriptor_response.file_descriptor_proto  # for grpcurl & co
        finally:
            channel.close()


def test_code_that_ends_the_importing_process_is_reported(start_server: StartServer) -> None:
    server = start_server("grpc_exits")
    with CodeLocationClient(server.address) as client:
        with pytest.raises(CodeLocationNotLoaded):
            client.wait_until_loaded(30)
        info = client.info()
        assert info.load_error is not None
        assert info.load_error.type == "ForkServerExited"
        assert "exit code 7" in info.load_error.message
        assert client.health() == "NOT_SERVING"


def test_a_run_streams_its_numbered_events(
    client: CodeLocationClient, receiver: Receiver, storage: Path
) -> None:
    state = launch(client, receiver.destination, "hello", "double")
    assert state.status is RunStatus.STARTED
    assert state.pid > 0

    events = receiver.wait_for_end(state.run_id)
    assert_numbered(events)
    assert events[-1]["type"] == "RUN_SUCCESS"
    materialized = [e["asset_key"] for e in events if e["type"] == "ASSET_MATERIALIZATION"]
    assert materialized == [["hello"], ["double"]]
    logs = {e["message"]: e for e in events if e["type"] == "LOG"}
    assert logs["hello from context.log"]["step_key"] == "hello"
    assert logs["hello on stdout"]["metadata"]["stream"] == {"kind": "text", "value": "stdout"}
    assert logs["and on stderr"]["level"] == "WARNING"
    assert (storage / "double").exists()  # values stored for later runs to read
    assert len(receiver.deliveries) == len(events)
    assert wait_for_status(client, state.run_id).status is RunStatus.SUCCESS


def test_in_process_runs_attribute_output_to_the_step(
    client: CodeLocationClient, receiver: Receiver
) -> None:
    state = launch(client, receiver.destination, "hello", executor="in_process", first_seq=3)
    events = receiver.wait_for_end(state.run_id)
    assert_numbered(events, first=3)  # the server numbered RUN_QUEUED and RUN_STARTING
    stdout = next(e for e in events if e["message"] == "hello on stdout")
    assert stdout["step_key"] == "hello"


def test_run_config_reaches_the_step_and_bad_config_is_refused(
    client: CodeLocationClient, receiver: Receiver, storage: Path
) -> None:
    config = {"ops": {"scaled": {"config": {"factor": 5}}}}
    state = launch(client, receiver.destination, "hello", "double", "scaled", run_config=config)
    assert receiver.wait_for_end(state.run_id)[-1]["type"] == "RUN_SUCCESS"
    assert (storage / "scaled").read_bytes()  # 1 * 2 * 5, pickled

    bad = {"ops": {"scaled": {"config": {"factor": "x"}}}}
    with pytest.raises(ConfigInvalid) as info:
        launch(client, receiver.destination, "scaled", run_config=bad)
    assert (info.value.asset, info.value.field) == ("scaled", "factor")


def test_launches_that_cannot_run_are_refused_before_a_worker_exists(
    client: CodeLocationClient, receiver: Receiver
) -> None:
    before = len(client.runs())
    with pytest.raises(LaunchRejected, match="unknown assets: nope"):
        launch(client, receiver.destination, "nope")
    with pytest.raises(LaunchRejected, match="run id"):
        launch(client, receiver.destination, "hello", run_id="../escape")
    with pytest.raises(LaunchRejected, match="http"):
        launch(client, EventDestination("ftp://x"), "hello")
    assert len(client.runs()) == before

    state = launch(client, receiver.destination, "hello")
    with pytest.raises(RunAlreadyExists):
        launch(client, receiver.destination, "hello", run_id=state.run_id)
    with pytest.raises(RunNotFound):
        client.cancel("no-such-run")
    receiver.wait_for_end(state.run_id)


def test_a_failing_step_fails_the_run(client: CodeLocationClient, receiver: Receiver) -> None:
    state = launch(client, receiver.destination, "broken")
    events = receiver.wait_for_end(state.run_id)
    assert_numbered(events)
    failure = next(e for e in events if e["type"] == "STEP_FAILURE")
    assert "ValueError: broken on purpose" in failure["error"]
    assert events[-1]["type"] == "RUN_FAILURE"
    assert wait_for_status(client, state.run_id).status is RunStatus.FAILURE


def test_cancel_interrupts_the_step_and_ends_the_run_canceled(
    client: CodeLocationClient, receiver: Receiver, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    config = {"ops": {"sleepy": {"config": {"seconds": 60, "marker": str(marker)}}}}
    state = launch(client, receiver.destination, "sleepy", run_config=config)
    receiver.wait_for(state.run_id, "STEP_START")

    assert client.cancel(state.run_id).status is RunStatus.CANCELING
    events = receiver.wait_for_end(state.run_id, timeout=10)
    assert_numbered(events)
    assert events[-1]["type"] == "RUN_CANCELED"
    assert marker.read_text() == "interrupted"  # the step saw RunInterrupted
    assert wait_for_status(client, state.run_id).status is RunStatus.CANCELED


def test_a_step_that_ignores_cancel_is_killed_after_the_grace(
    client: CodeLocationClient, receiver: Receiver, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    config = {"ops": {"stubborn": {"config": {"seconds": 60, "marker": str(marker)}}}}
    state = launch(client, receiver.destination, "stubborn", run_config=config, cancel_grace=0.5)
    receiver.wait_for(state.run_id, "STEP_START")
    started = time.monotonic()
    client.cancel(state.run_id)

    final = wait_for_status(client, state.run_id, timeout=10)
    assert final.status is RunStatus.CANCELED
    assert 0.4 < time.monotonic() - started < 8
    assert marker.read_text() == "ignored"
    events = receiver.wait_for_end(state.run_id)
    assert_numbered(events)
    # The worker died without its final event; the location wrote it, with the next seq.
    assert events[-1]["type"] == "RUN_CANCELED"
    assert not any(e["type"] == "RUN_SUCCESS" for e in events)


def test_a_run_the_server_has_ended_stops_and_ships_nothing_more(
    runs_server: LocationServer, client: CodeLocationClient, receiver: Receiver, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    config = {"ops": {"chatty": {"config": {"seconds": 60, "marker": str(marker)}}}}
    state = launch(client, receiver.destination, "chatty", run_config=config)
    receiver.wait_for(state.run_id, "STEP_START")
    # The server fails the run (it took the location for lost): 409 to every batch since.
    receiver.status = 409

    final = wait_for_status(client, state.run_id, timeout=10)
    assert final.status is RunStatus.CANCELED
    assert marker.read_text() == "interrupted"  # the step was stopped, not left running
    refused = receiver.refused
    time.sleep(1.0)
    assert receiver.refused == refused  # nobody writes for the run any more
    spools = runs_server.location._drainer.directory  # nothing left to deliver, ever
    assert not list(spools.glob(f"{state.run_id}.*"))


def test_a_worker_killed_from_outside_fails_the_run_with_the_reason(
    client: CodeLocationClient, receiver: Receiver
) -> None:
    config = {"ops": {"sleepy": {"config": {"seconds": 60}}}}
    state = launch(client, receiver.destination, "sleepy", run_config=config)
    receiver.wait_for(state.run_id, "STEP_START")
    os.kill(state.pid, signal.SIGKILL)

    final = wait_for_status(client, state.run_id)
    assert final.status is RunStatus.FAILURE
    assert final.error == "run worker was killed by signal 9 (SIGKILL)"
    events = receiver.wait_for_end(state.run_id)
    assert_numbered(events)
    assert events[-1]["type"] == "RUN_FAILURE"
    assert events[-1]["message"] == "run worker was killed by signal 9 (SIGKILL)"


def test_events_are_spooled_while_the_destination_is_down(
    client: CodeLocationClient,
    unused_port: int,
    start_receiver: Callable[[int], Receiver],
) -> None:
    destination = EventDestination(f"http://127.0.0.1:{unused_port}/events", "test-token")
    state = launch(client, destination, "hello", "double")
    # The worker cannot deliver, ends anyway, and leaves its events in the spool.
    assert wait_for_status(client, state.run_id).status is RunStatus.SUCCESS
    time.sleep(0.5)

    receiver = start_receiver(unused_port)
    events = receiver.wait_for_end(state.run_id, timeout=15)
    assert_numbered(events)
    assert events[-1]["type"] == "RUN_SUCCESS"
    assert [seq for _, seq in receiver.deliveries] == [e["seq"] for e in events]  # no duplicates


def test_a_launch_larger_than_the_location_receives_is_refused(
    start_server: StartServer, receiver: Receiver
) -> None:
    # The server refuses such a launch itself (TESSERA_MAX_LAUNCH_BYTES, read on both sides):
    # this is the limit that it keeps in step with.
    server = start_server("grpc_runs", max_receive_bytes=65536)
    small = CodeLocationClient(server.address)
    small.wait_until_loaded(30)
    key = small.snapshot().assets[0].key.to_user_string()
    with pytest.raises(CodeLocationUnavailable, match="RESOURCE_EXHAUSTED"):
        launch(small, receiver.destination, key, run_config={"resources": {"x": "y" * 70_000}})
    assert small.runs() == []
