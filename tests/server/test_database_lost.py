"""A database connection killed under the server (``pg_terminate_backend``): requests are
tried again or answered 503 with ``Retry-After``, never 500, and runs are unaffected.

Against a server on a real port on PostgreSQL, with a real code location whose run workers
report to it; the server's connections carry an ``application_name`` of their own, so that a
separate connection can end all of them, and only them, again and again while readers read
and a run runs.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.server.conftest import run_apart

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")


def launch(url: str, seconds: float) -> str:
    config = {"ops": {"slow": {"config": {"seconds": seconds}}}}
    answer = httpx.post(f"{url}/api/v1/runs", json={"selection": ["slow"], "run_config": config})
    assert answer.status_code == 201, answer.text
    [run] = answer.json()["runs"]
    return str(run["run_id"])


def wait_ended(url: str, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/api/v1/runs/{run_id}")
        if answer.status_code == 200 and answer.json()["status"] in TERMINAL:
            return dict(answer.json())
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")


def test_connections_killed_under_the_server(
    runs_settings: Any, live_server: Any, database_url: str
) -> None:
    name = f"tessera-test-{secrets.token_hex(4)}"
    settings = runs_settings(database_url=f"{database_url}?application_name={name}")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    killed: list[int] = []
    stop = threading.Event()

    def kill_repeatedly() -> None:
        with admin.connect() as connection:
            while not stop.wait(0.4):
                rows = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND application_name = :name"
                    ),
                    {"name": name},
                ).all()
                killed.append(len(rows))

    with live_server(settings) as server:
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/v1/code-locations").json()[0]["status"] != "loaded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        run_id = launch(server.url, seconds=3.0)

        async def read_for(seconds: float) -> list[httpx.Response]:
            answers: list[httpx.Response] = []
            paths = ["/api/v1/assets", f"/api/v1/runs/{run_id}", "/api/v1/runs"]
            end = time.monotonic() + seconds
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

                async def reader(path: str) -> None:
                    while time.monotonic() < end:
                        answers.append(await client.get(path))

                await asyncio.gather(*(reader(p) for p in paths for _ in range(4)))
            return answers

        killer = threading.Thread(target=kill_repeatedly)
        killer.start()
        try:
            answers = run_apart(read_for(5.0))
        finally:
            stop.set()
            killer.join()
        run = wait_ended(server.url, run_id)
        # The coordinator and the ingest path lived through it: a new run starts and ends.
        after = wait_ended(server.url, launch(server.url, seconds=0.01))
    admin.dispose()

    assert sum(killed) > 0, "no connection of the server was ended"
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 503}, {a.status_code: a.text for a in answers if a.status_code >= 400}
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert run["status"] == "SUCCESS", run
    assert after["status"] == "SUCCESS", after
