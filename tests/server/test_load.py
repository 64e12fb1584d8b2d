"""The server under load: requests wait for a database thread holding nothing, ``/health``
answers whatever the pool is doing, and no request fails for want of a connection.

Against a server on a real port (uvicorn in a thread), on PostgreSQL, with a real code
location; clients are ``httpx.AsyncClient``s with many requests in flight. The timing
figures are in ``bench/`` (``mixed_load``); these tests assert behaviour.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.server.conftest import run_apart

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

QUICK = {"ops": {"slow": {"config": {"seconds": 0.01}}}}


def wait_loaded(server: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = httpx.get(f"{server.url}/api/v1/code-locations").json()
        if states and all(s["status"] == "loaded" for s in states):
            return
        time.sleep(0.05)
    raise AssertionError("the location did not load")


def test_health_answers_while_every_connection_is_held(
    runs_settings: Any, live_server: Any
) -> None:
    settings = runs_settings(database_pool_size=2, database_max_overflow=0)
    with live_server(settings) as server:
        wait_loaded(server)
        engine = server.app.state.database.engine
        capacity = engine.pool.size() + engine.pool._max_overflow
        held = [engine.connect() for _ in range(capacity)]  # the whole pool, as slow work would

        async def scenario() -> tuple[list[int], list[float]]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as c:
                # More waiting reads than FastAPI has threads for plain functions (40).
                reads = [asyncio.create_task(c.get("/api/v1/assets")) for _ in range(60)]
                await asyncio.sleep(1.0)
                health = []
                for _ in range(5):
                    started = time.perf_counter()
                    answer = await c.get("/api/v1/health")
                    assert answer.json() == {"status": "ok"}
                    health.append(time.perf_counter() - started)
                assert not any(r.done() for r in reads), "the reads had no connection to use"
                for connection in held:
                    connection.close()
                return [r.status_code for r in await asyncio.gather(*reads)], health

        statuses, health = run_apart(scenario())
    assert max(health) < 0.5, health
    assert statuses == [200] * 60


def test_no_error_under_concurrent_reads_and_launches_with_a_small_pool(
    runs_settings: Any, live_server: Any
) -> None:
    settings = runs_settings(database_pool_size=3, database_max_overflow=0)
    with live_server(settings) as server:
        wait_loaded(server)

        async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
            limits = httpx.Limits(max_connections=300)
            async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as c:
                body = {"selection": ["slow"], "run_config": QUICK}
                reads = [c.get("/api/v1/assets") for _ in range(100)]
                launches = [c.post("/api/v1/runs", json=body) for _ in range(60)]
                answers = await asyncio.gather(*reads, *launches)
                return list(answers[:100]), list(answers[100:])

        reads, launches = run_apart(scenario())
        assert [r.status_code for r in reads] == [200] * 100, {r.text for r in reads}
        assert [r.status_code for r in launches] == [201] * 60, {r.text for r in launches}
        run_ids = {run["run_id"] for r in launches for run in r.json()["runs"]}
        assert len(run_ids) == 60

        def ended() -> dict[str, str]:
            runs = httpx.get(f"{server.url}/api/v1/runs", params={"limit": 1000}).json()["runs"]
            return {r["run_id"]: r["status"] for r in runs if r["status"] in ("SUCCESS", "FAILURE")}

        deadline = time.monotonic() + 120
        while len(ended()) < 60 and time.monotonic() < deadline:
            time.sleep(0.25)
        assert set(ended().values()) == {"SUCCESS"}
        assert ended().keys() == run_ids


def test_a_request_that_finds_no_connection_in_time_is_answered_503(
    runs_settings: Any, live_server: Any
) -> None:
    settings = runs_settings(
        database_pool_size=1, database_max_overflow=0, database_pool_timeout=0.5
    )
    with live_server(settings) as server:
        wait_loaded(server)
        held = server.app.state.database.engine.connect()
        try:
            answer = httpx.get(f"{server.url}/api/v1/runs")
        finally:
            held.close()
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["title"] == "Database unavailable"
        assert httpx.get(f"{server.url}/api/v1/runs").status_code == 200
