"""Bad input gets a 4xx problem naming the cause, never a 500: each case here was a 500 on
PostgreSQL (NUL in text, an integer past its column) or was accepted and failed later (a
launch larger than its location receives). Against a real code location, on both databases.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from codeloc._runs import RunStatus
from codeloc.grpc.server import LocationServer
from server.storage.db import Database
from server.storage.runs import create_run, set_status
from tests.server.test_api import app_for, assert_problem, start_location, wait_loaded

__all__ = ["start_location"]  # a fixture, used by name

RUN = "run-1"
TOKEN = "worker-token"


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: it is the database that refuses what SQLite stores."""
    return "postgresql"


@pytest.fixture
def api(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> Iterator[TestClient]:
    database = Database(database_url)
    with database.transaction() as session:
        create_run(
            session,
            run_id=RUN,
            location="cereals",
            asset_keys=[],
            run_config={},
            tags={},
            token=TOKEN,
        )
        set_status(session, RUN, RunStatus.SUCCESS)
    database.dispose()
    locations = {"cereals": start_location("examples.cereals", "cereals")}
    with app_for(
        tmp_path, database_url, locations, max_request_bytes=1024 * 1024, max_launch_bytes=65536
    ) as client:
        wait_loaded(client, "cereals")
        yield client


def launch(api: TestClient, **body: Any) -> Any:
    return api.post("/api/v1/runs", json={"selection": ["cereals"], **body})


def raw_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# -- integers past their columns ------------------------------------------------------------------


def test_events_after_past_the_seq_column(api: TestClient) -> None:
    response = api.get(f"/api/v1/runs/{RUN}/events", params={"after": 2**31})
    assert_problem(response, 422, "query.after", "2147483647")
    assert api.get(f"/api/v1/runs/{RUN}/events", params={"after": 2**31 - 1}).json() == []


def test_an_ingest_seq_past_its_column_is_refused_before_the_token_is_checked(
    api: TestClient,
) -> None:
    event = {"seq": 2**31, "timestamp": 1.0, "type": "LOG"}
    response = api.post(f"/api/v1/runs/{RUN}/events", json={"run_id": RUN, "events": [event]})
    assert_problem(response, 422, "events.0.seq", "2147483647")


@pytest.mark.parametrize("value", [2**70, True, -1, 1.5, "7"])
def test_a_runs_cursor_that_holds_no_row_id(api: TestClient, value: Any) -> None:
    response = api.get("/api/v1/runs", params={"cursor": raw_cursor(["runs", value])})
    assert_problem(response, 400, "invalid cursor")


@pytest.mark.parametrize("value", [2**70, True])
def test_a_materializations_cursor_that_holds_no_row_id(api: TestClient, value: Any) -> None:
    cursor = raw_cursor(["materializations", value])
    response = api.get("/api/v1/assets/cereals/materializations", params={"cursor": cursor})
    assert_problem(response, 400, "invalid cursor")


def test_a_priority_past_its_column(api: TestClient) -> None:
    response = launch(api, tags={"tessera/priority": str(2**31)})
    assert_problem(response, 400, "tessera/priority", "2147483647")
    response = launch(api, tags={"tessera/priority": str(-(2**31) - 1)})
    assert_problem(response, 400, "tessera/priority")
    assert api.get("/api/v1/runs").json()["runs"][0]["run_id"] == RUN  # nothing created


# -- text past its column, or holding NUL ---------------------------------------------------------


def test_nul_in_the_error_of_a_run_failure_event(api: TestClient, database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        create_run(
            session,
            run_id="run-2",
            location="cereals",
            asset_keys=[],
            run_config={},
            tags={},
            token=TOKEN,
        )
        set_status(session, "run-2", RunStatus.STARTED)
    database.dispose()
    event = {"seq": 3, "timestamp": 1.0, "type": "RUN_FAILURE", "error": "boom\x00!"}
    response = api.post(
        "/api/v1/runs/run-2/events",
        json={"run_id": "run-2", "events": [event]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text
    run = api.get("/api/v1/runs/run-2").json()
    assert (run["status"], run["error"]) == ("FAILURE", "boom\ufffd!")


def test_a_tag_key_longer_than_its_column(api: TestClient) -> None:
    response = launch(api, tags={"k" * 256: "v"})
    body = assert_problem(response, 422, "at most 255 characters")
    assert body["errors"][0]["field"].startswith("tags.kkk")


def test_a_tag_value_longer_than_its_column(api: TestClient) -> None:
    assert_problem(launch(api, tags={"team": "v" * 1025}), 422, "tags.team", "1024 characters")


def test_tags_at_their_column_lengths_are_stored(api: TestClient) -> None:
    tags = {"k" * 255: "v" * 1024}
    response = launch(api, tags=tags)
    assert response.status_code == 201, response.text
    run_id = response.json()["runs"][0]["run_id"]
    assert api.get(f"/api/v1/runs/{run_id}").json()["tags"] == tags


@pytest.mark.parametrize(
    "body",
    [
        {"tags": {"team": "a\x00b"}},
        {"tags": {"a\x00b": "x"}},
        {"selection": "cere\x00als"},
        {"selection": ["cere\x00als"]},
        {"selection": [["cere\x00als"]]},
    ],
)
def test_nul_in_a_launch_body(api: TestClient, body: dict[str, Any]) -> None:
    assert_problem(launch(api, **body), 422, "NUL")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/runs/a%00b",
        "/api/v1/runs/a%00b/events",
        "/api/v1/runs/a%00b/cancel",
        "/api/v1/assets/a%00b/materializations",
        "/api/v1/code-locations/a%00b",
        "/api/v1/runs?location=a%00b",
        "/api/v1/runs?tag=a%00b=c",
        "/api/v1/assets?q=%00",
    ],
)
def test_nul_in_a_url(api: TestClient, url: str) -> None:
    method = "POST" if url.endswith("/cancel") else "GET"
    assert_problem(api.request(method, url), 400, "NUL")


def test_nul_in_a_location_address(api: TestClient) -> None:
    response = api.post("/api/v1/code-locations", json={"name": "x", "address": "a\x00:1"})
    assert_problem(response, 422, "address", "NUL")


def test_a_selection_too_long_is_refused_without_being_echoed(api: TestClient) -> None:
    response = api.post("/api/v1/runs", json={"selection": "x" * 20_000})
    body = assert_problem(response, 422, "selection", "10000 characters")
    assert len(response.content) < 2000, body


# -- numbers JSON has not -------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_run_config_holding_no_json_number(api: TestClient, number: str) -> None:
    body = '{"selection": ["cereals"], "run_config": {"resources": {"x": NUMBER}}}'
    body = body.replace("NUMBER", number)
    response = api.post("/api/v1/runs", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 422, "run_config", "resources.x", "finite")


# -- sizes ----------------------------------------------------------------------------------------


def test_a_body_larger_than_the_limit_is_refused_by_its_length(api: TestClient) -> None:
    body = json.dumps({"selection": "x" * (2 * 1024 * 1024)})
    response = api.post("/api/v1/runs", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 413, "1,048,576 bytes")


def test_a_streamed_body_larger_than_the_limit_is_refused(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"selection": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = api.post(
        "/api/v1/runs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "1,048,576 bytes")


def test_an_ingest_batch_has_its_own_limit(api: TestClient) -> None:
    events = [
        {"seq": i, "timestamp": 1.0, "type": "LOG", "message": "m" * 1000} for i in range(3, 2002)
    ]
    body = json.dumps({"run_id": RUN, "events": events})
    assert len(body) > 1024 * 1024
    response = api.post(
        f"/api/v1/runs/{RUN}/events",
        content=body,
        headers={"content-type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    # Read and judged past the API's limit: the run has ended, so it takes no more events.
    assert_problem(response, 409, "takes no more events")


def test_a_run_config_larger_than_a_location_receives_is_refused_at_launch(
    api: TestClient,
) -> None:
    config = {"resources": {"blob": {"config": {"data": "x" * 70_000}}}}
    response = launch(api, run_config=config)
    assert_problem(response, 422, "location 'cereals'", "65,536", "TESSERA_MAX_LAUNCH_BYTES")
    assert [r["run_id"] for r in api.get("/api/v1/runs").json()["runs"]] == [RUN]


def test_runs_pages_leave_large_configs_out(api: TestClient) -> None:
    small = {"ops": {"cereals": {"config": {}}}, "resources": {"big": {"config": {"n": 2**70}}}}
    large = {"resources": {"blob": {"config": {"data": "x" * 10_000}}}}
    ids = {}
    for name, config in (("small", small), ("large", large)):
        response = launch(api, run_config=config)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["runs"][0]["run_id"]
    listed = {r["run_id"]: r for r in api.get("/api/v1/runs").json()["runs"]}
    assert listed[ids["small"]]["run_config"] == small
    assert listed[ids["small"]]["run_config_omitted"] is False
    assert listed[ids["large"]]["run_config"] is None
    assert listed[ids["large"]]["run_config_omitted"] is True
    assert api.get(f"/api/v1/runs/{ids['large']}").json()["run_config"] == large
