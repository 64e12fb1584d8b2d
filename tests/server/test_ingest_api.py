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

from codeloc import Failure, asset, materialize
from codeloc._key import AssetKey
from codeloc._wire import event_to_json
from server.api.app import create_app
from server.core.config import Settings
from server.storage.db import Database
from server.storage.events import latest_materializations, list_events, list_materializations
from server.storage.runs import get_run
from tests.server.conftest import start_run

RUN = "run-1"
TOKEN = "worker-token"
URL = f"/api/v1/runs/{RUN}/events"


@pytest.fixture
def database(database: Database) -> Database:
    """The test's database, holding the started run whose events are posted."""
    keys = [AssetKey(["raw", "orders"]), AssetKey(["raw", "orders", "2024"])]
    start_run(database, RUN, location="somewhere", asset_keys=keys, token=TOKEN)
    return database


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
    response = post(client, [log(3), materialized(4, key)])

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "duplicates": 0, "last_seq": 4}
    with database.transaction() as session:
        [mat] = list_materializations(session, AssetKey(key))
        assert list(latest_materializations(session)) == [AssetKey(key)]
    assert (mat.event_seq, mat.code_version, mat.tags) == (4, "v1", {"team": "data"})
    events = client.get(URL).json()
    assert [e["asset_key"] for e in events] == [None, key]
    assert events[1]["metadata"] == {}
    assert client.get(f"/api/v1/runs/{RUN}").json()["asset_keys"] == [["raw", "orders"], key]


def test_the_same_batch_again_is_all_duplicates(client: TestClient) -> None:
    assert post(client, [log(3), log(4)]).json() == {"accepted": 2, "duplicates": 0, "last_seq": 4}
    assert post(client, [log(3), log(4)]).json() == {"accepted": 0, "duplicates": 2, "last_seq": 4}


@pytest.mark.parametrize(
    ("events", "field", "fragment"),
    [
        ([{"timestamp": 1.0, "type": "LOG"}], "events.0.seq", "integer"),
        ([log(3), log(0)], "events.1.seq", "at least 1"),
        ([{**log(3), "seq": "one"}], "events.0.seq", "'one'"),
        ([log(2**31)], "events.0.seq", "from 0 to 2147483647"),
        ([log(2**70)], "events.0.seq", "from 0 to 2147483647"),
        ([log(3, timestamp="noon")], "events.0.timestamp", "number"),
        ([log(3, type="DANCING")], "events.0.type", "'DANCING' is not an event type"),
        ([log(3, level=None)], "events.0.level", "string"),
        ([log(3, step_key=7)], "events.0.step_key", "string"),
        ([log(3, asset_key=[""])], "events.0.asset_key", "non-empty"),
        ([log(3, metadata={"n": {"kind": "count", "value": 1}})], "events.0.metadata.n", "kind"),
        ([log(3, metadata={"n": {"kind": "int"}})], "events.0.metadata.n", "value"),
        ([log(3, materialization={"tags": {}})], "events.0.materialization.asset_key", "list"),
        (
            [log(3, materialization={"asset_key": ["a"], "tags": {"n": 1}})],
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
        (materialized(4, ["raw/orders"]), "events.0.asset_key"),
        ({**materialized(4, ["raw"]), "asset_key": ["a", "b/c"]}, "events.0.asset_key"),
        (
            {**materialized(4, ["raw/orders"]), "asset_key": None},
            "events.0.materialization.asset_key",
        ),
    ],
)
def test_a_key_with_a_slash_inside_a_segment_is_refused(
    client: TestClient, database: Database, event: dict[str, Any], field: str
) -> None:
    # Stored as its segments joined by "/", it would read back as other segments.
    body = assert_refused(post(client, [log(3), event]), field.replace("events.0", "events.1"))
    assert "holds '/'" in body["detail"]
    assert "['raw/orders']" in body["detail"] or "['a', 'b/c']" in body["detail"]
    assert stored_seqs(database) == []


def test_a_key_longer_than_its_column_is_refused(client: TestClient, database: Database) -> None:
    body = assert_refused(
        post(client, [materialized(3, ["x" * 600, "y" * 600])]), "events.0.asset_key"
    )
    assert "longer than 1024" in body["detail"]
    assert stored_seqs(database) == []


def test_a_batch_holds_at_most_ten_thousand_events(client: TestClient, database: Database) -> None:
    assert_refused(post(client, [log(s) for s in range(3, 10_004)]), "events", "at most 10,000")
    assert stored_seqs(database) == []
    response = post(client, [log(s) for s in range(3, 10_003)])
    assert response.json() == {"accepted": 10_000, "duplicates": 0, "last_seq": 10_002}


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
        json={"run_id": "run-2", "events": [log(3)]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert other.status_code == 400
    assert "run-2" in other.json()["detail"]
    assert post(client, [log(3)], token="wrong").status_code == 401
    assert client.post(URL, json={"run_id": RUN, "events": [log(3)]}).status_code == 401
    unknown = client.post(
        "/api/v1/runs/run-9/events",
        json={"run_id": "run-9", "events": [log(3)]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert unknown.status_code == 404
    assert stored_seqs(database) == []


def test_a_run_event_moves_the_run(client: TestClient, database: Database) -> None:
    response = post(client, [log(3), {**log(4), "type": "RUN_FAILURE", "error": "boom"}])
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


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def stored_materializations(database: Database) -> int:
    with database.transaction() as session:
        return len(latest_materializations(session))


@pytest.mark.parametrize("seq", [1, 2, 2**30, 2**31 - 1])
def test_a_seq_outside_the_workers_range_is_refused(
    client: TestClient, database: Database, seq: int
) -> None:
    # 1 and 2 are the server's RUN_QUEUED and RUN_STARTING; from 2**30 up, the server's own.
    assert_refused(post(client, [log(3), log(seq)]), "events.1.seq", "from 3 to 1073741823")
    assert stored_seqs(database) == []


@pytest.mark.parametrize("ends", [False, True], ids=["one-statement", "with-the-run-end"])
def test_a_materialization_of_an_asset_not_the_runs_is_refused(
    client: TestClient, database: Database, ends: bool
) -> None:
    batch = [log(3), materialized(4, ["raw", "orders"]), materialized(5, ["billing", "invoices"])]
    if ends:
        batch.append({**log(6), "type": "RUN_SUCCESS"})

    body = assert_problem(post(client, batch), 403, "run 'run-1'", "'billing/invoices'")
    assert (body["run_id"], body["asset_key"]) == (RUN, ["billing", "invoices"])
    assert stored_seqs(database) == []
    assert stored_materializations(database) == 0
    # An event that only names an asset is the run's to write only for its own assets too.
    assert_problem(post(client, [log(3, asset_key=["billing"])]), 403, "'billing'")
    assert stored_seqs(database) == []
    assert client.get(f"/api/v1/runs/{RUN}").json()["status"] == "STARTED"


def test_a_run_that_has_ended_takes_no_more_events(client: TestClient, database: Database) -> None:
    end = [log(3), {**log(4), "type": "RUN_SUCCESS"}]
    assert post(client, end).json() == {"accepted": 2, "duplicates": 0, "last_seq": 4}

    message = "run 'run-1' is SUCCESS; it takes no more events"
    late = post(client, [log(5), materialized(6, ["raw", "orders"])])
    assert assert_problem(late, 409, message)["detail"] == message
    assert_problem(post(client, [log(4), log(5)]), 409, message)  # one of them stored
    assert_problem(post(client, [{**log(5), "type": "RUN_FAILURE"}]), 409, message)
    assert stored_seqs(database) == [3, 4]
    assert stored_materializations(database) == 0
    # The batch that ended the run, retried because its answer was lost: answered alike.
    assert post(client, end).json() == {"accepted": 0, "duplicates": 2, "last_seq": 4}
    assert client.get(f"/api/v1/runs/{RUN}").json()["status"] == "SUCCESS"


def test_the_end_of_a_run_is_its_last_event(client: TestClient, database: Database) -> None:
    after = post(client, [{**log(3), "type": "RUN_SUCCESS"}, log(4)])
    assert_refused(after, "events.0.type", "must be its last event", "seq 4")
    assert post(client, [log(3), log(5)]).status_code == 200
    before = post(client, [{**log(4), "type": "RUN_FAILURE"}])
    assert_refused(before, "events.0.type", "events up to seq 5")
    assert stored_seqs(database) == [3, 5]
    assert client.get(f"/api/v1/runs/{RUN}").json()["status"] == "STARTED"


def test_a_failure_reaches_the_server_with_its_description_and_metadata(
    client: TestClient,
) -> None:
    @asset
    def checked() -> None:
        raise Failure("3 rows have no customer", metadata={"bad_rows": 3})

    (failure,) = materialize([checked], raise_on_error=False).get_step_failure_events()
    response = post(client, [{**event_to_json(failure), "seq": 3}])

    assert response.status_code == 200, response.text
    (stored,) = client.get(URL).json()
    assert stored["type"] == "STEP_FAILURE"
    assert stored["message"] == "'checked' failed: 3 rows have no customer"
    assert stored["metadata"] == {"bad_rows": {"kind": "int", "value": 3}}
