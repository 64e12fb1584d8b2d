"""The ingest endpoint: what a run's worker posts, what is stored, and what is refused.

A refused batch is a 422 problem naming the field that is wrong (never a 500), and stores
nothing. Asset keys are stored so as to read back the same: an event whose key holds a
segment with ``/`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from server.api.app import create_app
from server.core.config import Settings
from server.storage.db import Database
from server.storage.events import latest_materializations, list_events, list_materializations
from server.storage.runs import create_run, get_run, set_status

RUN = "run-1"
TOKEN = "worker-token"
URL = f"/api/v1/runs/{RUN}/events"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    with db.transaction() as session:
        create_run(
            session,
            run_id=RUN,
            location="somewhere",
            asset_keys=[AssetKey(["raw", "orders"])],
            run_config={},
            tags={},
            token=TOKEN,
        )
        # Started, as a launched run is; the server's coordinator leaves it alone.
        set_status(session, RUN, RunStatus.STARTED)
    yield db
    db.dispose()


@pytest.fixture
def client(tmp_path: Path, database: Database, database_url: str) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, database_url=database_url)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def post(client: TestClient, events: list[dict[str, Any]], token: str = TOKEN) -> Any:
    return client.post(
        URL, json={"run_id": RUN, "events": events}, headers={"Authorization": f"Bearer {token}"}
    )


def log(seq: int, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "timestamp": float(seq), "type": "LOG", "message": f"log {seq}", **extra}


def materialized(seq: int, key: list[str]) -> dict[str, Any]:
    return {
        "seq": seq,
        "timestamp": float(seq),
        "type": "ASSET_MATERIALIZATION",
        "asset_key": key,
        "materialization": {
            "asset_key": key,
            "metadata": {"rows": {"kind": "int", "value": 3}},
            "tags": {"team": "data"},
            "code_version": "v1",
        },
    }


def assert_refused(response: Any, field: str, *fragments: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"][0]["field"] == field, body
    assert body["detail"].startswith(f"{field}: "), body
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def stored_seqs(database: Database) -> list[int]:
    with database.transaction() as session:
        return [e.seq for e in list_events(session, RUN)]


def test_a_batch_is_stored_and_its_keys_read_back_the_same(
    client: TestClient, database: Database
) -> None:
    key = ["raw", "orders", "2024"]
    response = post(client, [log(1), materialized(2, key)])

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "duplicates": 0, "last_seq": 2}
    with database.transaction() as session:
        [mat] = list_materializations(session, AssetKey(key))
        assert list(latest_materializations(session)) == [AssetKey(key)]
    assert (mat.event_seq, mat.code_version, mat.tags) == (2, "v1", {"team": "data"})
    events = client.get(URL).json()
    assert [e["asset_key"] for e in events] == [None, key]
    assert events[1]["metadata"] == {}
    assert client.get(f"/api/v1/runs/{RUN}").json()["asset_keys"] == [["raw", "orders"]]


def test_the_same_batch_again_is_all_duplicates(client: TestClient) -> None:
    assert post(client, [log(1), log(2)]).json() == {"accepted": 2, "duplicates": 0, "last_seq": 2}
    assert post(client, [log(1), log(2)]).json() == {"accepted": 0, "duplicates": 2, "last_seq": 2}


@pytest.mark.parametrize(
    ("events", "field", "fragment"),
    [
        ([{"timestamp": 1.0, "type": "LOG"}], "events.0.seq", "integer"),
        ([log(1), log(0)], "events.1.seq", "at least 1"),
        ([{**log(1), "seq": "one"}], "events.0.seq", "'one'"),
        ([log(2**31)], "events.0.seq", "at most"),
        ([log(1, timestamp="noon")], "events.0.timestamp", "number"),
        ([log(1, type="DANCING")], "events.0.type", "'DANCING' is not an event type"),
        ([log(1, level=None)], "events.0.level", "string"),
        ([log(1, step_key=7)], "events.0.step_key", "string"),
        ([log(1, asset_key=[""])], "events.0.asset_key", "non-empty"),
        ([log(1, metadata={"n": {"kind": "count", "value": 1}})], "events.0.metadata.n", "kind"),
        ([log(1, metadata={"n": {"kind": "int"}})], "events.0.metadata.n", "value"),
        ([log(1, materialization={"tags": {}})], "events.0.materialization.asset_key", "list"),
        (
            [log(1, materialization={"asset_key": ["a"], "tags": {"n": 1}})],
            "events.0.materialization.tags",
            "strings",
        ),
        (["LOG"], "events.0", "object"),
    ],
)
def test_a_bad_event_is_refused_naming_its_field(
    client: TestClient, database: Database, events: list[Any], field: str, fragment: str
) -> None:
    assert_refused(post(client, events), field, fragment)
    assert stored_seqs(database) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (materialized(1, ["raw/orders"]), "events.0.asset_key"),
        ({**materialized(1, ["raw"]), "asset_key": ["a", "b/c"]}, "events.0.asset_key"),
        (
            {**materialized(1, ["raw/orders"]), "asset_key": None},
            "events.0.materialization.asset_key",
        ),
    ],
)
def test_a_key_with_a_slash_inside_a_segment_is_refused(
    client: TestClient, database: Database, event: dict[str, Any], field: str
) -> None:
    # Stored as its segments joined by "/", it would read back as other segments.
    body = assert_refused(post(client, [log(1), event]), field.replace("events.0", "events.1"))
    assert "holds '/'" in body["detail"]
    assert "['raw/orders']" in body["detail"] or "['a', 'b/c']" in body["detail"]
    assert stored_seqs(database) == []


def test_a_key_longer_than_its_column_is_refused(client: TestClient, database: Database) -> None:
    body = assert_refused(
        post(client, [materialized(1, ["x" * 600, "y" * 600])]), "events.0.asset_key"
    )
    assert "longer than 1024" in body["detail"]
    assert stored_seqs(database) == []


def test_a_batch_holds_at_most_ten_thousand_events(client: TestClient, database: Database) -> None:
    assert_refused(post(client, [log(s) for s in range(1, 10_002)]), "events", "at most 10,000")
    assert stored_seqs(database) == []
    response = post(client, [log(s) for s in range(1, 10_001)])
    assert response.json() == {"accepted": 10_000, "duplicates": 0, "last_seq": 10_000}


@pytest.mark.parametrize(
    ("content", "field", "fragment"),
    [
        (b"{not json", "1", "JSON"),
        (b"[]", "", "object"),
        (b'{"events": []}', "run_id", "string"),
        (b'{"run_id": "run-1", "events": {}}', "events", "list"),
    ],
)
def test_a_body_that_is_no_batch_is_refused(
    client: TestClient, content: bytes, field: str, fragment: str
) -> None:
    response = client.post(URL, content=content, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert fragment in body["detail"]


def test_a_batch_of_another_run_or_with_a_wrong_token_is_refused(
    client: TestClient, database: Database
) -> None:
    other = client.post(
        URL,
        json={"run_id": "run-2", "events": [log(1)]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert other.status_code == 400
    assert "run-2" in other.json()["detail"]
    assert post(client, [log(1)], token="wrong").status_code == 401
    assert client.post(URL, json={"run_id": RUN, "events": [log(1)]}).status_code == 401
    unknown = client.post(
        "/api/v1/runs/run-9/events",
        json={"run_id": "run-9", "events": [log(1)]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert unknown.status_code == 404
    assert stored_seqs(database) == []


def test_a_run_event_moves_the_run(client: TestClient, database: Database) -> None:
    response = post(client, [log(1), {**log(2), "type": "RUN_FAILURE", "error": "boom"}])
    assert response.status_code == 200
    with database.transaction() as session:
        run = get_run(session, RUN)
        assert run is not None
        assert (run.status, run.error) == ("FAILURE", "boom")


def test_the_openapi_document_describes_the_batch(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][URL.replace(RUN, "{run_id}")]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["run_id", "events"]
    event = schema["properties"]["events"]["items"]
    assert set(event["required"]) == {"seq", "timestamp", "type"}
    assert "ASSET_MATERIALIZATION" in event["properties"]["type"]["enum"]
