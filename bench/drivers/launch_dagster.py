"""Dagster: a 1-asset run launched through its code server, from the launch call to ``SUCCESS``.

A session driver (see ``bench/session.py``; this file is run by ``bench/.venv-dagster``'s
Python, so it repeats the few lines of the protocol instead of importing them). Set up, not
timed:

- a database of its own on the PostgreSQL server, and a fresh ``DAGSTER_HOME`` whose
  ``dagster.yaml`` puts every storage there (``storage: postgres:``, ``dagster-postgres``),
  keeps the default run launcher (``DefaultRunLauncher``: the code server starts each run in
  a new ``dagster api execute_run`` process) and sets ``DefaultRunCoordinator`` (runs are
  launched at once; Dagster's default instance otherwise queues them for ``dagster-daemon``);
- a code server, ``dagster api grpc -m MODULE -d DIR --port P`` with that ``DAGSTER_HOME``;
- in this process, what ``dagster-webserver`` holds: the instance and a
  ``WorkspaceProcessContext`` on a workspace.yaml naming that gRPC server
  (``GrpcServerCodeLocation``).

Then, for each ``launch`` command:

1. a pause of ``--settle`` seconds (not timed), as on the Tessera side;
2. ``seconds``: from just before the launch - the ``launchPipelineExecution`` GraphQL mutation
   that the UI's "Materialize" button sends, selecting the asset in the implicit asset job,
   executed by ``dagster_graphql.cli.execute_query`` (what the ``dagster-graphql`` command
   does; the webserver runs the same schema behind HTTP) - until
   ``instance.get_run_by_id(run_id).status`` is ``SUCCESS``, polled in a tight loop (2 ms);
3. ``call_s``: the mutation alone (it returns once the run is launched).

At the end (stdin closed) the code server is shut down and the database dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import psycopg2  # type: ignore[import-untyped]
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._grpc.client import DagsterGrpcClient
from dagster_graphql.cli import execute_query
from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION

LOCATION = "bench"
POLL_S = 0.002
RUN_LIMIT_S = 120.0
TERMINAL = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
Sample = dict[str, float]

DAGSTER_YAML = """\
storage:
  postgres:
    postgres_db:
      username: {user}
      password: "{password}"
      hostname: {host}
      port: {port}
      db_name: {database}
      # dagster-postgres builds a plain postgresql:// URL, which SQLAlchemy 2.1 maps to
      # psycopg 3; the venv has the psycopg2 that dagster-postgres depends on.
      scheme: postgresql+psycopg2
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""


def serve(ready: Mapping[str, Any], commands: Mapping[str, Callable[[], Sample]]) -> None:
    """The session loop: the ready line, then one JSON line per command read until EOF."""
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        reply: dict[str, Any]
        try:
            reply = dict(commands[command]())
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin(url: str, statement: str) -> None:
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def write_home(home: Path, admin_url: str, database: str, port: int) -> Path:
    parts = urlsplit(admin_url)
    (home / "dagster.yaml").write_text(
        DAGSTER_YAML.format(
            user=parts.username or "postgres",
            password=parts.password or "",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            database=database,
        )
    )
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n"
        f"      host: 127.0.0.1\n      port: {port}\n      location_name: {LOCATION}\n"
    )
    return workspace


def wait_healthy(client: DagsterGrpcClient, server: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            client.ping("bench")
            return
        except Exception:
            if server.poll() is not None:
                raise RuntimeError(f"dagster api grpc exited with {server.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster api grpc not healthy after {limit:g} s") from None
            time.sleep(0.02)


def launch(
    context: WorkspaceProcessContext, instance: DagsterInstance, asset: str, settle: float
) -> Sample:
    variables = {
        "executionParams": {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "pipelineName": "__ASSET_JOB",
                "assetSelection": [{"path": [asset]}],
            },
            "mode": "default",
            "runConfigData": {},
        }
    }
    time.sleep(settle)
    t0 = time.perf_counter()
    result = execute_query(context, LAUNCH_PIPELINE_EXECUTION_MUTATION, variables)
    t1 = time.perf_counter()
    answer = (result.get("data") or {}).get("launchPipelineExecution") or {}
    if answer.get("__typename") != "LaunchRunSuccess":
        raise RuntimeError(f"launch failed: {json.dumps(result)[:300]}")
    run_id = answer["run"]["runId"]
    while True:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in TERMINAL:
            break
        if time.perf_counter() - t0 > RUN_LIMIT_S:
            raise RuntimeError(f"run {run_id} not finished after {RUN_LIMIT_S} s")
        time.sleep(POLL_S)
    t2 = time.perf_counter()
    if run.status != DagsterRunStatus.SUCCESS:
        raise RuntimeError(f"run {run_id} ended {run.status.value}")
    return {"seconds": t2 - t0, "call_s": t1 - t0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["dagster"], required=True)
    parser.add_argument("--postgres", required=True, help="URL of the maintenance database")
    parser.add_argument("--database", required=True, help="name of the database to create")
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    parser.add_argument("--asset", default="a0")
    parser.add_argument("--settle", type=float, default=0.25)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)

    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="bench-dagster-home-"))
    port = free_port()
    workspace = write_home(home, args.postgres, args.database, port)
    os.environ["DAGSTER_HOME"] = str(home)
    dagster = Path(sys.executable).parent / "dagster"
    argv = [str(dagster), "api", "grpc", "-m", args.module, "-d", args.dir]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    admin(args.postgres, f'CREATE DATABASE "{args.database}"')
    try:
        with (home / "code-server.log").open("ab") as out:
            server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        try:
            wait_healthy(client, server, limit=300)
            with (
                DagsterInstance.get() as instance,
                WorkspaceProcessContext(
                    instance, WorkspaceFileTarget(paths=[str(workspace)])
                ) as context,
            ):
                serve(
                    {"setup_s": time.perf_counter() - started},
                    {"launch": lambda: launch(context, instance, args.asset, args.settle)},
                )
        finally:
            try:
                client.shutdown_server()
                server.wait(timeout=30)
            except Exception:
                server.kill()
                server.wait()
    finally:
        admin(args.postgres, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
