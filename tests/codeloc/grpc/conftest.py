"""Fixtures for the code-location tests: a real ingest endpoint (``Receiver``), in-process
servers and ``tessera codeloc`` processes, all on port 0.

Test modules annotate with these classes under ``TYPE_CHECKING`` only: they reach them
through fixtures.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codeloc.grpc import CodeSource, EventDestination
from codeloc.grpc.client import CodeLocationClient
from codeloc.grpc.server import LocationServer

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
TOKEN = "test-token"


class Receiver:
    """A stand-in for the server's ingest endpoint, idempotent by ``(run_id, seq)`` like it.

    ``deliveries`` keeps every event as it arrived, duplicates included, so that a test can
    tell that none was sent twice.
    """

    def __init__(self, port: int = 0) -> None:
        self.events: dict[str, dict[int, dict[str, Any]]] = {}
        self.deliveries: list[tuple[str, int]] = []
        self.batches = 0
        self.status = 200
        #: requests answered with ``status`` other than 200
        self.refused = 0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"detail": "bad token"})
                    return
                if receiver.status != 200:
                    receiver.refused += 1
                    self._answer(receiver.status, {"detail": "failing on purpose"})
                    return
                self._answer(200, receiver.record(json.loads(body)))

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def destination(self) -> EventDestination:
        return EventDestination(f"http://127.0.0.1:{self.port}/api/v1/events", TOKEN)

    def record(self, body: dict[str, Any]) -> dict[str, Any]:
        run_id = body["run_id"]
        with self._cond:
            self.batches += 1
            stored = self.events.setdefault(run_id, {})
            new = 0
            for event in body["events"]:
                self.deliveries.append((run_id, event["seq"]))
                if event["seq"] not in stored:
                    stored[event["seq"]] = event
                    new += 1
            self._cond.notify_all()
            return {
                "accepted": new,
                "duplicates": len(body["events"]) - new,
                "last_seq": max(stored),
            }

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for _, e in sorted(self.events.get(run_id, {}).items())]

    def wait_for_end(self, run_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The events of ``run_id`` once its final event has arrived."""
        ends = {"RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"}

        def ended() -> bool:
            return any(e["type"] in ends for e in self.events.get(run_id, {}).values())

        with self._cond:
            if not self._cond.wait_for(ended, timeout):
                seen = [e["type"] for e in self.run_events(run_id)]
                raise AssertionError(f"run {run_id} did not end in {timeout}s; events: {seen}")
        return self.run_events(run_id)

    def wait_for(self, run_id: str, event_type: str, timeout: float = 20.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for event in self.events.get(run_id, {}).values():
                if event["type"] == event_type:
                    return event
            return None

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no {event_type} for run {run_id} in {timeout}s")
            event = found()
            assert event is not None
            return event

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class CodelocProcess:
    """``tessera codeloc`` as a subprocess; ``port`` is read from its "serving" line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("tessera")), "codeloc", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("serving "):
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"unexpected first line {line!r}; stderr:\n{err}")
        self.name, _, address = line.split()[1:]
        self.address = address
        self.client = CodeLocationClient(address)

    def stop(self, sig: int | None = None) -> tuple[int, str]:
        """Signal the process (SIGTERM by default), wait; its exit code and stderr."""
        import signal

        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where run workers store values: the fork server reads it from its environment."""
    path = tmp_path_factory.mktemp("storage")
    old = os.environ.get("TESSERA_STORAGE")
    os.environ["TESSERA_STORAGE"] = str(path)
    yield path
    if old is None:
        del os.environ["TESSERA_STORAGE"]
    else:
        os.environ["TESSERA_STORAGE"] = old


StartServer = Callable[..., LocationServer]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory, storage: Path) -> Iterator[StartServer]:
    """Start in-process servers for modules of tests/resources; all stopped at the end."""
    servers: list[LocationServer] = []

    def start(module: str, **kwargs: Any) -> LocationServer:
        kwargs.setdefault("spool_dir", tmp_path_factory.mktemp("spool"))
        kwargs.setdefault("spool_backoff", 0.2)
        server = LocationServer(
            CodeSource(module=module, working_directory=str(RESOURCES)), port=0, **kwargs
        )
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def codeloc_process() -> Iterator[Callable[..., CodelocProcess]]:
    started: list[CodelocProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> CodelocProcess:
        process = CodelocProcess(*args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_receiver() -> Iterator[Callable[[int], Receiver]]:
    """Start a receiver on a given port (one that was down until now)."""
    started: list[Receiver] = []

    def start(port: int) -> Receiver:
        started.append(Receiver(port))
        return started[-1]

    yield start
    for r in started:
        r.close()


@pytest.fixture
def unused_port() -> int:
    return free_port()
