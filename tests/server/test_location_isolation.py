"""Isolation from bad code locations (DESIGN principle 3), against a real server app.

Next to a good location (a real ``LocationServer`` or ``tessera codeloc`` process), a hostile
one: a real gRPC server on port 0 whose ``StreamSnapshot`` hangs, streams forever, sends too
much or sends garbage. The API must answer at once, the good location load and keep being
polled, and the bad one end ``error`` with the reason.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, Protocol

import grpc
import pytest
from fastapi.testclient import TestClient

from codeloc._snapshot import AssetNodeSnap
from codeloc.grpc import CodeSource
from codeloc.grpc.server import LocationServer
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2 as cl_pb
from codeloc.protos.tessera.codelocation.v1 import snapshot_pb2 as snap_pb
from server.api.app import create_app
from server.core.config import Settings
from server.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "tessera.codelocation.v1.CodeLocation"


class HostileLocation:
    """A code location that answers ``GetInfo`` like a loaded one, and whose snapshot
    stream misbehaves as ``mode`` says. Its chunks are sent as raw bytes, so they may be
    anything."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.server_id = uuid.uuid4().hex
        self.stopped = threading.Event()
        #: set once a snapshot stream was cancelled by the caller
        self.cancelled = threading.Event()
        self.bytes_sent = 0
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            "GetInfo": grpc.unary_unary_rpc_method_handler(
                self._info,
                request_deserializer=cl_pb.GetInfoRequest.FromString,
                response_serializer=cl_pb.GetInfoResponse.SerializeToString,
            ),
            "StreamSnapshot": grpc.unary_stream_rpc_method_handler(
                self._snapshot, request_deserializer=cl_pb.StreamSnapshotRequest.FromString
            ),
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(4))
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, handlers)]
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self._server.start()

    def _info(self, request: cl_pb.GetInfoRequest, context: grpc.ServicerContext) -> Any:
        info = cl_pb.LocationInfo(
            name=self.mode,
            server_id=self.server_id,
            sdk_version="0",
            state=cl_pb.LOAD_STATE_LOADED,
            snapshot_hash="hostile",
        )
        return cl_pb.GetInfoResponse(location=info)

    def _snapshot(
        self, request: cl_pb.StreamSnapshotRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        context.add_callback(self.cancelled.set)
        for data in self._chunks():
            if not context.is_active() or self.stopped.is_set():
                return
            self.bytes_sent += len(data)
            yield data

    def _chunks(self) -> Iterator[bytes]:
        endless = snap_pb.SnapshotHeader(
            snapshot_hash="hostile", asset_count=1_000_000, chunk_count=2**31 - 1
        )
        if self.mode == "hang":
            self.stopped.wait(60)
        elif self.mode == "countless":
            endless.asset_count = 2**31 - 1
            yield snap_pb.SnapshotChunk(header=endless).SerializeToString()
        elif self.mode == "dies":
            # Half a snapshot, then the process is gone.
            header = snap_pb.SnapshotHeader(snapshot_hash="hostile", asset_count=0, chunk_count=2)
            yield snap_pb.SnapshotChunk(header=header).SerializeToString()
            threading.Thread(target=self._server.stop, args=(None,)).start()
            self.stopped.wait(10)
        elif self.mode == "unchanged":
            header = snap_pb.SnapshotHeader(
                snapshot_hash="hostile", asset_count=0, chunk_count=1, unchanged=True
            )
            yield snap_pb.SnapshotChunk(header=header).SerializeToString()
        elif self.mode == "garbage":
            yield b"\xff\xfe not a protobuf message \x00\x01"
        elif self.mode == "bad key":
            chunk = snap_pb.SnapshotChunk(header=endless)
            chunk.header.asset_count = chunk.header.chunk_count = 1
            chunk.assets.add(group="g", node_name="n")  # no key
            yield chunk.SerializeToString()
        elif self.mode in ("endless", "slow"):
            # Valid chunks, each numbered right, that never end: ~1 MiB each when endless,
            # a small one every 50 ms when slow.
            size = 2_000 if self.mode == "endless" else 1
            for index in range(2**31 - 1):
                chunk = snap_pb.SnapshotChunk(index=index)
                if index == 0:
                    chunk.header.CopyFrom(endless)
                for i in range(size):
                    node = chunk.assets.add(group="g", node_name=f"n{index}_{i}")
                    node.key.path.extend(["hostile", f"a{index}_{i}"])
                    node.description = "x" * 500
                yield chunk.SerializeToString()
                if self.mode == "slow":
                    time.sleep(0.05)

    def stop(self) -> None:
        self.stopped.set()
        self._server.stop(grace=None)


class Addressed(Protocol):
    @property
    def address(self) -> str: ...


def app_for(
    tmp_path: Path, database_url: str, locations: dict[str, Addressed], **settings: Any
) -> TestClient:
    """A client of a server app whose workspace holds ``locations``."""
    path = tmp_path / "workspace.yaml"
    path.write_text(
        "locations:\n"
        + "".join(f"  - name: {n}\n    grpc: {s.address}\n" for n, s in locations.items())
    )
    config = Settings(home=tmp_path, database_url=database_url, workspace=path, **settings)
    return TestClient(create_app(config))


def wait_for(predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met in {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def start_location(tmp_path: Path) -> Iterator[Callable[..., LocationServer]]:
    servers: list[LocationServer] = []

    def start(module: str, name: str) -> LocationServer:
        source = CodeSource(module=module, working_directory=str(ROOT))
        server = LocationServer(source, name=name, port=0, spool_dir=tmp_path / "spool")
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is tested here is the registry and the gRPC client."""
    url = f"sqlite:///{tmp_path / 'tessera.db'}"
    upgrade(url)
    return url


@pytest.fixture
def hostile() -> Iterator[Callable[[str], HostileLocation]]:
    started: list[HostileLocation] = []

    def start(mode: str) -> HostileLocation:
        started.append(HostileLocation(mode))
        return started[-1]

    yield start
    for location in started:
        location.stop()


def states(client: TestClient) -> dict[str, dict[str, Any]]:
    return {loc["name"]: loc for loc in client.get("/api/v1/code-locations").json()}


def checked_at(client: TestClient, name: str) -> float:
    return client.app.state.registry.state(name).checked_at or 0.0  # type: ignore[attr-defined]


def test_health_answers_at_once_while_a_location_hangs(
    tmp_path: Path,
    start_location: Callable[..., LocationServer],
    hostile: Callable[[str], HostileLocation],
    database_url: str,
) -> None:
    good = start_location("examples.cross_location.code_location_1", "good")
    hang = hostile("hang")
    started = time.monotonic()
    app = app_for(
        tmp_path,
        database_url,
        {"good": good, "hang": hang},
        location_poll_seconds=0.1,
        snapshot_timeout_seconds=4,
    )
    with app as client:
        assert client.get("/api/v1/health").json() == {"status": "ok"}
        assert time.monotonic() - started < 1.0
        wait_for(lambda: states(client)["good"]["status"] == "loaded", timeout=5)
        assert states(client)["hang"]["status"] == "loading"
        assert client.get("/api/v1/assets/code_location_1_asset").status_code == 200
        # The good location's health is polled while the other one still hangs.
        first = checked_at(client, "good")
        wait_for(lambda: checked_at(client, "good") > first + 0.5, timeout=3)
        assert states(client)["hang"]["status"] == "loading"

        hung = wait_for(lambda: states(client)["hang"]["status"] == "error", timeout=10)
        assert hung
        assert states(client)["hang"]["error"] == "snapshot stream did not end within 4 s"
        assert states(client)["good"]["status"] == "loaded"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("endless", "snapshot exceeded 16 MiB"),
        ("slow", "snapshot stream did not end within 3 s"),
        ("countless", "snapshot announces 2,147,483,647 assets, more than the limit of 1,000,000"),
        ("unchanged", "the location answered 'unchanged' when asked for everything"),
        ("garbage", "snapshot chunk 0 (28 bytes) does not parse as a SnapshotChunk"),
        ("bad key", "snapshot chunk 0: asset '': key: an AssetKey needs at least one segment"),
    ],
)
def test_a_bad_snapshot_is_cut_off_and_the_location_marked_error(
    tmp_path: Path,
    start_location: Callable[..., LocationServer],
    hostile: Callable[[str], HostileLocation],
    database_url: str,
    mode: str,
    reason: str,
) -> None:
    good = start_location("examples.cross_location.code_location_1", "good")
    bad = hostile(mode)
    app = app_for(
        tmp_path,
        database_url,
        {"good": good, "bad": bad},
        location_poll_seconds=0.1,
        snapshot_timeout_seconds=3,
        max_snapshot_bytes=16 * 1024 * 1024,
    )
    with app as client:
        wait_for(lambda: states(client)["bad"]["status"] not in ("loading",), timeout=10)
        location = states(client)["bad"]
        assert (location["status"], location["error"]) == ("error", reason), location
        assert location["asset_count"] == 0
        wait_for(lambda: states(client)["good"]["status"] == "loaded", timeout=10)
        if mode in ("endless", "slow"):
            # The stream was stopped at the server's end, not left to run on.
            assert bad.cancelled.wait(5)
            sent = bad.bytes_sent
            time.sleep(0.5)
            assert bad.bytes_sent == sent
        # Nothing of the partial snapshot is kept, nor asked for again at each poll.
        gc.collect()
        assert sum(isinstance(o, AssetNodeSnap) for o in gc.get_objects()) < 100
        sent = bad.bytes_sent
        time.sleep(0.5)
        assert bad.bytes_sent == sent
        assert states(client)["bad"]["status"] == "error"


def test_a_location_that_dies_mid_snapshot_is_unreachable(
    tmp_path: Path,
    start_location: Callable[..., LocationServer],
    hostile: Callable[[str], HostileLocation],
    database_url: str,
) -> None:
    good = start_location("examples.cross_location.code_location_1", "good")
    dies = hostile("dies")
    app = app_for(tmp_path, database_url, {"good": good, "dies": dies}, location_poll_seconds=0.1)
    with app as client:
        gone = wait_for(lambda: states(client)["dies"]["status"] == "unreachable", timeout=10)
        assert gone
        assert states(client)["dies"]["error"]
        wait_for(lambda: states(client)["good"]["status"] == "loaded", timeout=10)


class CodelocProcess:
    """``tessera codeloc`` in a process group of its own, so that SIGKILL takes all of it."""

    def __init__(self, module: str, name: str, port: int) -> None:
        tessera = str(Path(sys.executable).with_name("tessera"))
        args = ["-m", module, "-d", str(ROOT), "--name", name, "--port", str(port)]
        self.proc = subprocess.Popen(
            [tessera, "codeloc", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("serving "), line
        self.address = line.split()[-1]
        self.port = int(self.address.rsplit(":", 1)[1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def codeloc_process() -> Iterator[Callable[..., CodelocProcess]]:
    started: list[CodelocProcess] = []

    def start(module: str, name: str, port: int = 0) -> CodelocProcess:
        started.append(CodelocProcess(module, name, port))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def test_a_killed_location_is_unreachable_and_reloaded_while_another_hangs(
    tmp_path: Path,
    codeloc_process: Callable[..., CodelocProcess],
    hostile: Callable[[str], HostileLocation],
    database_url: str,
) -> None:
    module = "examples.cross_location.code_location_2"
    flaky = codeloc_process(module, "flaky", free_port())
    hang = hostile("hang")
    app = app_for(
        tmp_path,
        database_url,
        {"flaky": flaky, "hang": hang},
        location_poll_seconds=0.2,
        snapshot_timeout_seconds=60,
    )
    with app as client:
        wait_for(lambda: states(client)["flaky"]["status"] == "loaded", timeout=10)
        first_id = states(client)["flaky"]["server_id"]

        flaky.kill()
        killed = time.monotonic()
        wait_for(lambda: states(client)["flaky"]["status"] == "unreachable", timeout=5)
        assert time.monotonic() - killed < 3

        codeloc_process(module, "flaky", flaky.port)
        restarted = time.monotonic()
        back = wait_for(
            lambda: (loc := states(client)["flaky"])["status"] == "loaded" and loc, timeout=5
        )
        assert time.monotonic() - restarted < 3
        assert back["server_id"] != first_id
        assert states(client)["hang"]["status"] == "loading"
        assert client.get("/api/v1/health").status_code == 200
