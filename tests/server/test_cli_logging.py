"""A real ``tessera server`` process: what it logs at start, in the JSON format, on stderr."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

TESSERA = str(Path(sys.executable).with_name("tessera"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def json_lines(text: str) -> list[dict[str, Any]]:
    # Every line must parse: a line in another format would be a handler left unconfigured.
    return [json.loads(line) for line in text.splitlines()]


def test_server_logs_its_start_in_json_on_stderr(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'tessera.db'}"
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("locations:\n  - name: far_away\n    grpc: 127.0.0.1:1\n")
    env = {**os.environ, "TESSERA_LOG_FORMAT": "json", "TESSERA_LOG_LEVEL": "INFO"}
    migrate = subprocess.run(
        [TESSERA, "migrate", "--database-url", database],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    server = subprocess.Popen(
        [
            TESSERA,
            "server",
            "--database-url",
            database,
            "--workspace",
            str(workspace),
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not answer in 30 s"
                time.sleep(0.1)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    # uvicorn shuts down, then ends by the signal it got (-15) or, in older versions, with 0.
    assert server.returncode in (0, -15), err
    assert out == ""
    lines = json_lines(err)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)

    [start] = [e for e in lines if e["message"].startswith("tessera server starting")]
    assert start["level"] == "INFO"
    assert start["logger"] == "server.cli"
    assert f"on http://127.0.0.1:{port};" in start["message"]
    assert f"database {database};" in start["message"]
    [listed] = [e for e in lines if e["message"].startswith("workspace ")]
    assert listed["message"] == f"workspace {workspace}: far_away at 127.0.0.1:1"
    # uvicorn's own lines come through the same handler, in the same format.
    assert any(e["logger"] == "uvicorn.error" and "running on" in e["message"] for e in lines)
    [access] = [e for e in lines if e["logger"] == "uvicorn.access"]
    assert '"GET /api/v1/health HTTP/1.1" 200' in access["message"]
    # The location is unreachable: the registry says so at WARNING, in JSON too.
    assert any(e["level"] == "WARNING" and "far_away" in e["message"] for e in lines)


def test_the_database_password_never_reaches_the_log(tmp_path: Path) -> None:
    # Nothing listens on port 1: the server logs its start, then fails to reach the database.
    url = "postgresql://tessera:s3cret-pw@127.0.0.1:1/tessera"
    done = subprocess.run(
        [TESSERA, "server", "--database-url", url, "--port", str(free_port())],
        env={**os.environ, "TESSERA_LOG_FORMAT": "text"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert "database postgresql+psycopg://tessera:***@127.0.0.1:1/tessera;" in done.stderr
