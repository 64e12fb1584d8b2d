"""What the Tessera drivers of the server workloads share: a PostgreSQL database of their own,
``tessera codeloc`` and ``tessera server`` processes, a plain HTTP client, and the session loop.

Imported as ``bench.drivers._deploy`` (the Tessera side runs with the repository on
``PYTHONPATH``). Every process started here is a child of the driver, in the driver's process
group, so that the runner can end them all at once if it must; each writes its output to a log
file in the driver's scratch directory, never to the driver's stdout (the session's pipe).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

TESSERA = "import sys; from server.cli import main; sys.argv[0] = 'tessera'; sys.exit(main())"
"""The ``tessera`` console script, without needing the project to be pip-installed."""

Sample = dict[str, float]


# -- the session loop ---------------------------------------------------------------------------


def serve(ready: Mapping[str, Any], commands: Mapping[str, Callable[[], Sample]]) -> None:
    """Print the ready line, then answer one JSON line per command read from stdin until EOF.

    A command that raises answers ``{"error": ...}`` (its traceback goes to stderr) and the
    session goes on: the runner decides whether to ask again.
    """
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        reply: dict[str, Any]
        try:
            handler = commands.get(command)
            if handler is None:
                raise ValueError(f"unknown command {command!r}; known: {sorted(commands)}")
            reply = dict(handler())
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so that ``finally`` blocks tear the deployment down."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- PostgreSQL ---------------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``admin_url``, for SQLAlchemy/psycopg 3."""
    parts = urlsplit(admin_url)
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", parts.query, ""))


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` (it must not exist); its SQLAlchemy URL."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        connection.execute(statement.format(sql.Identifier(name)))


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tessera_env(scratch: Path, extra_path: Sequence[str] = ()) -> dict[str, str]:
    """The environment of every Tessera process: the caller's, with this scratch directory as
    ``TESSERA_HOME`` and value storage, the generated modules importable, and one location
    secret for the server and its locations, as a deployment has (each call then pays for
    its check)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    path = [*extra_path, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env |= {
        "TESSERA_HOME": str(scratch / "home"),
        "TESSERA_STORAGE": str(scratch / "storage"),
        "PYTHONPATH": os.pathsep.join(path),
        "PYTHONUNBUFFERED": "1",
        "TESSERA_LOCATION_SECRET": secrets.token_urlsafe(32),
    }
    return env


class Child:
    """A ``tessera`` process with its output in ``log``; ``stop()`` ends it (SIGTERM, then KILL)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.args = list(args)
        self.log_path = log_path
        with log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", TESSERA, *args],
                env=dict(env),
                cwd=log_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"tessera {self.args[0]} exited with {self.process.returncode}: {self.tail()}"
            )

    def tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_tessera(args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
    """Run ``tessera ARGS`` to the end; raise with its last lines if it fails."""
    with log_path.open("ab") as out:
        completed = subprocess.run(
            [sys.executable, "-c", TESSERA, *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0:
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-5:])
        raise RuntimeError(f"tessera {args[0]} exited with {completed.returncode}: {tail}")


def start_codeloc(
    module: str, name: str, port: int, env: Mapping[str, str], scratch: Path
) -> Child:
    return Child(
        ["codeloc", "-m", module, "--name", name, "--port", str(port), "--shutdown-grace", "5"],
        env,
        scratch / f"codeloc-{name}.log",
    )


def wait_serving(port: int, child: Child, timeout: float) -> None:
    """Until the code location on ``port`` says ``SERVING`` (its code is loaded)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        while True:
            with contextlib.suppress(grpc.RpcError):
                reply = health.Check(request, timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            child.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"code location on port {port} not serving after {timeout} s")
            time.sleep(0.01)


def write_workspace(path: Path, locations: Mapping[str, int]) -> Path:
    lines = ["locations:"]
    for name, port in locations.items():
        lines += [f"  - name: {name}", f"    grpc: 127.0.0.1:{port}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_server(
    url: str,
    port: int,
    env: Mapping[str, str],
    scratch: Path,
    workspace: Path | None = None,
) -> Child:
    args = ["server", "--database-url", url, "--port", str(port)]
    if workspace is not None:
        args += ["--workspace", str(workspace)]
    return Child(args, env, scratch / "server.log")


def wait_server(client: Http, child: Child, locations: int, timeout: float) -> None:
    """Until the server answers health and has loaded ``locations`` code locations."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, body = client.get("/api/v1/health")
            if status == 200:
                status, body = client.get("/api/v1/code-locations")
                states = json.loads(body) if status == 200 else []
                if sum(s["status"] == "loaded" for s in states) == locations:
                    return
        child.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {timeout} s: {child.tail()}")
        time.sleep(0.05)


# -- HTTP ---------------------------------------------------------------------------------------


class Http:
    """A kept-alive HTTP/1.1 connection (``http.client``: the least client time per request).

    Reconnects once when the server closed the connection between two requests.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 300.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """The status and the whole body."""
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        all_headers |= dict(headers or {})
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self._connection.request(method, path, body=body, headers=all_headers)
                response = self._connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)

    def post_json(
        self, path: str, payload: Any, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        return self.request("POST", path, json.dumps(payload).encode(), headers)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextlib.contextmanager
def stopping(children: list[Child]) -> Iterator[list[Child]]:
    """Stop every child added to ``children`` on the way out, newest first."""
    try:
        yield children
    finally:
        for child in reversed(children):
            child.stop()


def one_location_arguments() -> argparse.ArgumentParser:
    """The arguments of a driver deployed by :func:`one_location`, and the asset it launches."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["tessera"], required=True)
    parser.add_argument("--postgres", required=True, help="URL of the maintenance database")
    parser.add_argument("--database", required=True, help="name of the database to create")
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    parser.add_argument("--asset", default="a0")
    return parser


@contextlib.contextmanager
def one_location(
    postgres: str, database: str, module_dir: str, module: str, prefix: str
) -> Iterator[Http]:
    """The deployment of the server workloads that launch runs: a database of its own,
    migrated; one ``tessera codeloc`` serving ``module`` as location ``bench``; one
    ``tessera server`` with it in its workspace, loaded. Yields a client of the server; on
    the way out stops both and drops the database."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    env = tessera_env(scratch, [module_dir])
    try:
        url = create_database(postgres, database)
        run_tessera(["migrate", "--database-url", url], env, scratch / "migrate.log")
        with stopping([]) as children:
            location_port, server_port = free_port(), free_port()
            location = start_codeloc(module, "bench", location_port, env, scratch)
            children.append(location)
            wait_serving(location_port, location, timeout=120)
            workspace = write_workspace(scratch / "workspace.yaml", {"bench": location_port})
            server = start_server(url, server_port, env, scratch, workspace)
            children.append(server)
            client = Http(server_port)
            try:
                wait_server(client, server, locations=1, timeout=120)
                yield client
            finally:
                client.close()
    finally:
        drop_database(postgres, database)
        shutil.rmtree(scratch, ignore_errors=True)
