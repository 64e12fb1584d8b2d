"""``tessera token`` as a user runs it (a subprocess on the database), and a real ``tessera
server`` whose log, at DEBUG, holds no secret nor hash of one. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server.auth import hash_secret
from server.storage.db import Database
from server.storage.models import ApiTokenRow

ROOT = Path(__file__).resolve().parents[2]


def tessera(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def create(database_url: str, *args: str) -> tuple[str, str]:
    """``(id, secret)`` of a token made by ``tessera token create ARGS``."""
    done = tessera("token", "create", "--database-url", database_url, *args)
    assert done.returncode == 0, done.stderr
    first, *_, last = done.stdout.strip().splitlines()
    token_id = first.split()[3].rstrip(":")
    return token_id, last


def test_token_create_list_revoke(database_url: str, database: Database) -> None:
    token_id, secret = create(
        database_url, "--scope", "launch", "--location", "one", "two", "--expires", "30d"
    )
    assert secret.startswith("tessera_")
    with database.transaction() as session:
        row = session.scalars(select(ApiTokenRow)).one()
        assert row.id == token_id
        assert row.hash == hash_secret(secret)
        assert row.locations == ["one", "two"]
        assert secret not in repr([getattr(row, c.key) for c in ApiTokenRow.__table__.columns])

    _, reader = create(database_url, "--scope", "read", "--name", "dashboards")
    listed = tessera("token", "list", "--database-url", database_url)
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    assert reader not in listed.stdout
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "SCOPE"]
    mine = next(line for line in lines if line.startswith(token_id))
    assert "launch" in mine
    assert "one,two" in mine
    assert mine.endswith("active")
    assert any("dashboards" in line and "read" in line for line in lines)

    revoked = tessera("token", "revoke", token_id, "--database-url", database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert f"API token {token_id} revoked" in revoked.stdout
    as_json = tessera("token", "list", "--json", "--database-url", database_url)
    tokens = {t["id"]: t for t in json.loads(as_json.stdout)}
    assert tokens[token_id]["revoked_at"] is not None
    assert "hash" not in tokens[token_id]
    assert "secret" not in tokens[token_id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "nope"], "no API token 'nope'"),
        (["create", "--scope", "read", "--location", "one"], "scope 'launch'"),
        (["create", "--scope", "admin", "--expires", "2001-01-01"], "in the past"),
        (["create", "--scope", "admin", "--expires", "later"], "duration"),
        (["create", "--scope", "owner"], "invalid choice"),
    ],
)
def test_token_errors_are_one_line(database_url: str, args: list[str], message: str) -> None:
    action, *rest = args
    done = tessera("token", action, "--database-url", database_url, *rest)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_token_on_a_database_behind_head(tmp_path: Path) -> None:
    done = tessera("token", "list", "--database-url", f"sqlite:///{tmp_path / 'new.db'}")
    assert done.returncode == 2
    assert "tessera migrate" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_server_log_holds_no_secret_nor_hash(database_url: str, tmp_path: Path) -> None:
    _, reader = create(database_url, "--scope", "read")
    bootstrap = "bootstrap-" + os.urandom(16).hex()
    port = _free_port()
    env = {
        **os.environ,
        "TESSERA_HOME": str(tmp_path),
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_API_TOKEN": bootstrap,
        "TESSERA_LOG_LEVEL": "DEBUG",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "server", "--port", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
    secrets = [reader, bootstrap]
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)

        admin = {"Authorization": f"Bearer {bootstrap}"}
        with httpx.Client(base_url=base) as client:
            assert client.get("/assets", headers={"Authorization": f"Bearer {reader}"}).is_success
            refused = client.post(
                "/runs", headers={"Authorization": f"Bearer {reader}"}, json={"selection": "a"}
            )
            assert refused.status_code == 403
            made = client.post("/tokens", headers=admin, json={"scope": "launch", "name": "ci"})
            assert made.status_code == 201
            launcher = made.json()["secret"]
            secrets.append(launcher)
            assert client.delete(f"/tokens/{made.json()['id']}", headers=admin).status_code == 204
            launch = {"Authorization": f"Bearer {launcher}"}
            assert client.get("/runs", headers=launch).status_code == 401
            bad = client.post("/tokens", headers=admin, json={"scope": "read", "secret": reader})
            assert bad.status_code == 422
            wrong = {"Authorization": f"Bearer {reader}x"}
            assert client.get("/assets", headers=wrong).status_code == 401
            ingest = client.post("/runs/r1/events", headers=launch, json={"run_id": "r1"})
            assert ingest.status_code in (401, 404, 422)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    log = log_path.read_text()
    assert "GET /api/v1/assets" in log  # the access log was on: there was something to leak
    assert "401" in log
    for secret in secrets:
        assert secret not in log
        assert hash_secret(secret) not in log
