"""``Idempotency-Key`` on ``POST /runs``: a retried launch creates nothing twice.

On SQLite and PostgreSQL, against a server on a real port with a real code location; the
concurrent requests are in flight at once (``httpx.AsyncClient``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from tests.server.conftest import run_apart

LAUNCH = {"selection": ["slow"], "run_config": {"ops": {"slow": {"config": {"seconds": 0.01}}}}}


def wait_loaded(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = httpx.get(f"{url}/api/v1/code-locations").json()
        if states and all(s["status"] == "loaded" for s in states):
            return
        time.sleep(0.05)
    raise AssertionError("the location did not load")


def run_ids(answer: httpx.Response) -> list[str]:
    return [run["run_id"] for run in answer.json()["runs"]]


def all_runs(url: str) -> list[str]:
    return [r["run_id"] for r in httpx.get(f"{url}/api/v1/runs").json()["runs"]]


def test_the_same_launch_again_answers_the_same_runs(runs_settings: Any, live_server: Any) -> None:
    with live_server(runs_settings()) as server:
        wait_loaded(server.url)
        headers = {"Idempotency-Key": "launch-1"}
        first = httpx.post(f"{server.url}/api/v1/runs", json=LAUNCH, headers=headers)
        again = httpx.post(f"{server.url}/api/v1/runs", json=LAUNCH, headers=headers)
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert run_ids(again) == run_ids(first)
        assert all_runs(server.url) == run_ids(first)
        # Without a key, or with another, a launch is a new one.
        other = httpx.post(
            f"{server.url}/api/v1/runs", json=LAUNCH, headers={"Idempotency-Key": "launch-2"}
        )
        assert other.status_code == 201
        assert set(run_ids(other)).isdisjoint(run_ids(first))
        assert len(all_runs(server.url)) == 2


def test_a_key_sent_with_another_launch_is_refused(runs_settings: Any, live_server: Any) -> None:
    with live_server(runs_settings()) as server:
        wait_loaded(server.url)
        headers = {"Idempotency-Key": "k-1"}
        first = httpx.post(f"{server.url}/api/v1/runs", json=LAUNCH, headers=headers)
        other = {**LAUNCH, "tags": {"team": "data"}}
        refused = httpx.post(f"{server.url}/api/v1/runs", json=other, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert "Idempotency-Key 'k-1'" in body["detail"]
        assert body["run_ids"] == run_ids(first)
        assert all_runs(server.url) == run_ids(first)
        for bad in ("", "x" * 256, "with space"):
            answer = httpx.post(
                f"{server.url}/api/v1/runs", json=LAUNCH, headers={"Idempotency-Key": bad}
            )
            assert answer.status_code == 422, (bad, answer.text)
        assert len(all_runs(server.url)) == 1


def test_a_key_is_forgotten_after_its_time(runs_settings: Any, live_server: Any) -> None:
    with live_server(runs_settings(idempotency_key_seconds=0.5)) as server:
        wait_loaded(server.url)
        headers = {"Idempotency-Key": "short-lived"}
        first = httpx.post(f"{server.url}/api/v1/runs", json=LAUNCH, headers=headers)
        time.sleep(1.0)
        later = httpx.post(f"{server.url}/api/v1/runs", json=LAUNCH, headers=headers)
        assert later.status_code == 201
        assert "idempotent-replayed" not in later.headers
        assert set(run_ids(later)).isdisjoint(run_ids(first))


def test_requests_sent_at_once_with_one_key_create_the_runs_once(
    runs_settings: Any, live_server: Any
) -> None:
    with live_server(runs_settings()) as server:
        wait_loaded(server.url)

        async def burst() -> list[httpx.Response]:
            headers = {"Idempotency-Key": "burst"}
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                return await asyncio.gather(
                    *(client.post("/api/v1/runs", json=LAUNCH, headers=headers) for _ in range(20))
                )

        answers = run_apart(burst())
        assert [a.status_code for a in answers] == [201] * 20, {a.text for a in answers}
        [ids] = {tuple(run_ids(a)) for a in answers}
        assert sum("idempotent-replayed" not in a.headers for a in answers) == 1
        assert all_runs(server.url) == list(ids)


def test_a_launch_holding_what_json_allows_past_64_bits_is_keyed_too(
    runs_settings: Any, live_server: Any
) -> None:
    # JSON allows an integer past 64 bits: the request's hash is taken all the same (the
    # fuzzing of the API found a 500 here).
    config = {**LAUNCH["run_config"], "resources": {"none": {"config": {"n": -(2**70)}}}}
    body = {**LAUNCH, "run_config": config}
    with live_server(runs_settings()) as server:
        wait_loaded(server.url)
        headers = {"Idempotency-Key": "wide", "content-type": "application/json"}
        content = json.dumps(body)
        first = httpx.post(f"{server.url}/api/v1/runs", content=content, headers=headers)
        again = httpx.post(f"{server.url}/api/v1/runs", content=content, headers=headers)
        assert first.status_code < 500, first.text
        assert again.status_code == first.status_code, again.text
