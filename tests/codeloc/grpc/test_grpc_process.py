"""``tessera codeloc`` as a real process: serving, failing to import, restarts, shutdown."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from codeloc import AssetKey
from codeloc.grpc import (
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    RunLaunch,
)

if TYPE_CHECKING:
    from conftest import CodelocProcess, Receiver

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
Start = Callable[..., "CodelocProcess"]


def standard_health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return int(reply.status)


def test_serves_then_restarts_with_a_new_server_id(codeloc_process: Start) -> None:
    first = codeloc_process("-m", "grpc_runs", "-d", str(RESOURCES), "--name", "runs")
    assert first.name == "runs"
    info = first.client.wait_until_loaded(30)
    assert standard_health(first.address) == health_pb2.HealthCheckResponse.SERVING
    assert info.name == "runs"
    assert info.pid == first.proc.pid
    code, err = first.stop()
    assert code == 0, err

    second = codeloc_process("-m", "grpc_runs", "-d", str(RESOURCES), "--name", "runs")
    again = second.client.wait_until_loaded(30)
    assert again.server_id != info.server_id
    assert again.snapshot_hash == info.snapshot_hash


def test_code_that_fails_to_import_is_reported_not_fatal(
    codeloc_process: Start, receiver: Receiver
) -> None:
    process = codeloc_process("-f", str(RESOURCES / "grpc_broken.py"))
    assert process.name == "grpc_broken"
    with pytest.raises(CodeLocationNotLoaded):
        process.client.wait_until_loaded(30)

    info = process.client.info()
    assert info.state == "failed"
    assert info.load_error is not None
    assert info.load_error.type == "RuntimeError"
    assert info.load_error.message == "this module is broken on purpose"
    assert "grpc_broken.py" in info.load_error.traceback
    assert standard_health(process.address) == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(CodeLocationNotLoaded, match="broken on purpose"):
        process.client.snapshot()
    with pytest.raises(CodeLocationNotLoaded):
        process.client.launch(RunLaunch("r1", (AssetKey("fine"),), receiver.destination))
    assert process.proc.poll() is None  # still up, still answering
    code, _ = process.stop()
    assert code == 0


def test_shutdown_drains_running_work_then_exits(
    codeloc_process: Start, receiver: Receiver, tmp_path: Path
) -> None:
    process = codeloc_process(
        "-m", "grpc_runs", "-d", str(RESOURCES), env={"TESSERA_HOME": str(tmp_path)}
    )
    process.client.wait_until_loaded(30)
    config = {"ops": {"sleepy": {"config": {"seconds": 1.0}}}}
    process.client.launch(
        RunLaunch("drained", (AssetKey("sleepy"),), receiver.destination, run_config=config)
    )
    receiver.wait_for("drained", "STEP_START")

    assert process.client.shutdown(grace=20) == 1
    with pytest.raises(CodeLocationUnavailable):
        process.client.launch(RunLaunch("late", (AssetKey("hello"),), receiver.destination))
    code = process.proc.wait(timeout=20)
    assert code == 0
    assert receiver.wait_for_end("drained")[-1]["type"] == "RUN_SUCCESS"


def test_a_port_in_use_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tessera = str(Path(sys.executable).with_name("tessera"))
        result = subprocess.run(
            [tessera, "codeloc", "-m", "grpc_runs", "-d", str(RESOURCES), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr


def test_a_hundred_thousand_assets(codeloc_process: Start) -> None:
    started = time.perf_counter()
    process = codeloc_process(
        "-m", "grpc_many", "-d", str(RESOURCES), env={"TESSERA_TEST_ASSETS": "100000"}
    )
    info = process.client.wait_until_loaded(120)
    serving = time.perf_counter() - started
    snapshot = process.client.snapshot()
    fetched = time.perf_counter() - started - serving

    assert info.asset_count == len(snapshot.assets) == 100_000
    assert snapshot.hash == info.snapshot_hash
    by_key = {n.key: n for n in snapshot.assets}
    last = by_key[AssetKey("a099999")]
    assert [d.key for d in last.deps] == [AssetKey("a099998")]
    assert by_key[AssetKey("a000000")].deps == ()
    print(f"100,000 assets: serving after {serving:.2f}s, snapshot in {fetched:.2f}s")
