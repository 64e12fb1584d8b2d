"""The REST API against real code locations (in-process gRPC servers on port 0)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from codeloc._wire import event_from_json
from codeloc.grpc import CodeSource
from codeloc.grpc.server import LocationServer
from server.api.app import create_app
from server.core.config import Settings
from server.storage.db import Database
from server.storage.events import ingest_batch
from server.storage.runs import create_run, set_status

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_location(tmp_path: Path) -> Iterator[Callable[..., LocationServer]]:
    servers: list[LocationServer] = []

    def start(module: str, name: str, port: int = 0) -> LocationServer:
        workdir = RESOURCES if module.startswith("srv_") else ROOT
        source = CodeSource(module=module, working_directory=str(workdir))
        server = LocationServer(source, name=name, port=port, spool_dir=tmp_path / "spool")
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def workspace(tmp_path: Path, locations: dict[str, LocationServer]) -> Path:
    path = tmp_path / "workspace.yaml"
    path.write_text(
        "locations:\n"
        + "".join(f"  - name: {n}\n    grpc: {s.address}\n" for n, s in locations.items())
    )
    return path


@pytest.fixture
def api(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> Iterator[TestClient]:
    locations = {
        "code_location_1": start_location(
            "examples.cross_location.code_location_1", "code_location_1"
        ),
        "code_location_2": start_location(
            "examples.cross_location.code_location_2", "code_location_2"
        ),
        "cereals": start_location("examples.cereals", "cereals"),
    }
    with app_for(tmp_path, database_url, locations, location_poll_seconds=0.2) as client:
        wait_for(
            lambda: all(
                loc["status"] == "loaded" for loc in client.get("/api/v1/code-locations").json()
            )
        )
        yield client


def app_for(
    tmp_path: Path, database_url: str, locations: dict[str, LocationServer], **settings: Any
) -> TestClient:
    """A client of a server app whose workspace holds ``locations``."""
    config = Settings(
        home=tmp_path,
        database_url=database_url,
        workspace=workspace(tmp_path, locations),
        **settings,
    )
    return TestClient(create_app(config))


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def wait_loaded(client: TestClient, *names: str) -> None:
    def loaded() -> bool:
        states = {loc["name"]: loc["status"] for loc in client.get("/api/v1/code-locations").json()}
        return all(states.get(n) == "loaded" for n in names)

    wait_for(loaded)


@contextlib.contextmanager
def live_client(
    tmp_path: Path,
    database_url: str,
    live_server: Callable[..., Any],
    name: str,
    location: LocationServer,
) -> Iterator[httpx.Client]:
    """A server on a real port (run workers report their events to it) whose workspace is
    ``location`` under ``name``, and a client of it once the location is loaded."""
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        workspace=workspace(tmp_path, {name: location}),
        location_poll_seconds=0.2,
    )
    with live_server(settings) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        wait_loaded(c, name)
        yield c


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def test_health_and_openapi(api: TestClient) -> None:
    assert api.get("/api/v1/health").json() == {"status": "ok"}
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/assets", "/api/v1/runs", "/api/v1/asset-graph", "/api/v1/code-locations"):
        assert path in paths


def test_locations_are_loaded_with_counts(api: TestClient) -> None:
    locations = {loc["name"]: loc for loc in api.get("/api/v1/code-locations").json()}
    assert set(locations) == {"code_location_1", "code_location_2", "cereals"}
    assert locations["code_location_1"]["asset_count"] == 1
    assert locations["cereals"]["asset_count"] == 6
    assert all(loc["server_id"] and loc["error"] is None for loc in locations.values())


def test_cross_location_edge_from_both_sides(api: TestClient) -> None:
    upstream = api.get("/api/v1/assets/code_location_1_asset").json()
    downstream = api.get("/api/v1/assets/code_location_2_asset").json()
    assert upstream["location"] == "code_location_1"
    assert downstream["location"] == "code_location_2"
    assert downstream["deps"] == [["code_location_1_asset"]]
    assert upstream["dependents"] == [["code_location_2_asset"]]
    assert downstream["stale"] is True
    assert downstream["stale_causes"][0]["reason"] == "missing"
    graph = api.get("/api/v1/asset-graph").json()
    assert [["code_location_1_asset"], ["code_location_2_asset"]] in graph["edges"]
    statuses = {tuple(n["key"]): n["status"] for n in graph["nodes"]}
    assert statuses[("code_location_2_asset",)] == "missing"
    assert len(graph["nodes"]) == 8


def test_statuses_follow_new_materializations(
    api: TestClient, database_url: str, request: pytest.FixtureRequest
) -> None:
    def statuses() -> dict[str, str]:
        graph = api.get("/api/v1/asset-graph").json()
        assert len(graph["nodes"]) == 8
        assert [["code_location_1_asset"], ["code_location_2_asset"]] in graph["edges"]
        return {"/".join(n["key"]): n["status"] for n in graph["nodes"]}

    def materialize(seq: int, key: str, timestamp: float) -> None:
        event = {
            "seq": seq,
            "timestamp": timestamp,
            "type": "ASSET_MATERIALIZATION",
            "asset_key": [key],
            "materialization": {"asset_key": [key]},
        }
        ingest_batch(database, "r", "t", [event_from_json(event)])

    database = Database(database_url)
    request.addfinalizer(database.dispose)
    with database.transaction() as session:
        create_run(
            session,
            run_id="r",
            location="x",
            asset_keys=[AssetKey("code_location_1_asset"), AssetKey("code_location_2_asset")],
            run_config={},
            tags={},
            token="t",
        )
        # Started in a location the server does not know: its coordinator leaves it alone.
        set_status(session, "r", RunStatus.STARTED)
    assert statuses()["code_location_2_asset"] == "missing"

    materialize(3, "code_location_1_asset", 10.0)
    materialize(4, "code_location_2_asset", 20.0)
    after = statuses()
    assert (after["code_location_1_asset"], after["code_location_2_asset"]) == ("fresh", "fresh")
    assert after["cereals"] == "missing"
    detail = api.get("/api/v1/assets/code_location_2_asset").json()
    assert (detail["stale"], detail["stale_causes"]) == (False, [])

    # The upstream location's asset again: the downstream one, in the other location, is stale.
    materialize(5, "code_location_1_asset", 30.0)
    assert statuses()["code_location_2_asset"] == "stale"
    detail = api.get("/api/v1/assets/code_location_2_asset").json()
    assert [c["reason"] for c in detail["stale_causes"]] == ["upstream_newer"]
    stale = api.get("/api/v1/assets", params={"status": "stale"}).json()
    assert ["code_location_2_asset"] in [a["key"] for a in stale["assets"]]


def test_asset_detail_fields(api: TestClient) -> None:
    top = api.get("/api/v1/assets/top_cereals").json()
    assert top["node_name"] == "top_cereals"
    assert top["group"] == "cereals"
    assert top["tags"] == {"tier": "gold"}
    assert top["config_schema"]["properties"]["limit"]["type"] == "integer"
    assert top["deps"] == [["cereals"]]
    cereals = api.get("/api/v1/assets/cereals").json()
    assert cereals["code_version"] == "1"
    assert cereals["owners"] == ["team:data"]
    assert cereals["description"] == "Every cereal we know of."


def test_asset_list_pages_and_filters(api: TestClient) -> None:
    first = api.get("/api/v1/assets", params={"limit": 3}).json()
    assert first["total"] == 8
    assert len(first["assets"]) == 3
    second = api.get("/api/v1/assets", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/assets", params={"limit": 3, "cursor": second["next_cursor"]}).json()
    assert third["next_cursor"] is None
    keys = [a["key"] for page in (first, second, third) for a in page["assets"]]
    assert keys == sorted(keys)
    assert len(keys) == 8
    group = api.get("/api/v1/assets", params={"group": "cereals"}).json()
    assert {a["key"][0] for a in group["assets"]} == {
        "cereals",
        "sugary_cereals",
        "nabisco_cereals",
        "top_cereals",
    }
    by_location = api.get("/api/v1/assets", params={"location": "code_location_2"}).json()
    assert [a["key"] for a in by_location["assets"]] == [["code_location_2_asset"]]
    missing = api.get("/api/v1/assets", params={"status": "missing"}).json()
    assert missing["total"] == 8
    assert api.get("/api/v1/assets", params={"status": "fresh"}).json()["total"] == 0
    assert_problem(api.get("/api/v1/assets", params={"status": "shiny"}), 400, "shiny")
    by_name = api.get("/api/v1/assets", params={"q": "NABISCO"}).json()
    assert [a["key"] for a in by_name["assets"]] == [["nabisco_cereals"]]
    # The search reads descriptions too: shopping_list is "the sugary ones".
    by_text = api.get("/api/v1/assets", params={"q": "sugary"}).json()
    assert [a["key"] for a in by_text["assets"]] == [["shopping_list"], ["sugary_cereals"]]


def test_bad_requests_are_problems(api: TestClient) -> None:
    assert_problem(api.get("/api/v1/assets/no/such/asset"), 404, "no/such/asset")
    assert_problem(api.get("/api/v1/assets", params={"cursor": "%%%"}), 400, "cursor")
    assert_problem(api.get("/api/v1/assets", params={"limit": 0}), 422, "limit")
    assert_problem(api.get("/api/v1/runs/not-a-run"), 404, "not-a-run")
    body = assert_problem(
        api.post("/api/v1/runs", json={"selection": "cereals and or"}), 422, "position"
    )
    assert body["position"] == 12
    assert_problem(
        api.post(
            "/api/v1/runs",
            json={
                "selection": ["top_cereals"],
                "run_config": {"ops": {"top_cereals": {"config": {"limit": "many"}}}},
            },
        ),
        422,
        "top_cereals",
        "limit",
    )
    assert_problem(api.post("/api/v1/runs", json={"selection": ["nope"]}), 422, "nope")
    assert_problem(api.post("/api/v1/runs", content=b"{not json"), 422)
    assert_problem(api.post("/api/v1/runs", json={"selection": 5}), 422, "selection")
    assert_problem(api.get("/api/v1/runs", params={"status": "DANCING"}), 400, "DANCING")
    bad_executor = {"selection": ["cereals"], "tags": {"tessera/executor": "threads"}}
    assert_problem(api.post("/api/v1/runs", json=bad_executor), 400, "tessera/executor", "threads")
    assert_problem(api.get("/api/v1/nothing-here"), 404)
    assert_problem(api.post("/api/v1/code-locations/nope/reload"), 404, "nope")
    assert api.get("/api/v1/runs").json() == {"runs": [], "next_cursor": None}


def test_location_that_fails_to_import(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    good = start_location("examples.cross_location.code_location_1", "good")
    broken = start_location("srv_broken", "broken")
    with app_for(tmp_path, database_url, {"good": good, "broken": broken}) as client:

        def settled() -> dict[str, Any] | None:
            # Both locations, once neither is loading: one alone may settle first.
            locations = {
                loc["name"]: loc
                for loc in client.get("/api/v1/code-locations").json()
                if loc["status"] != "loading"
            }
            return locations if {"good", "broken"} <= locations.keys() else None

        locations = wait_for(settled)
        assert locations["broken"]["status"] == "error"
        assert "the warehouse credentials are missing" in locations["broken"]["error"]
        assert "RuntimeError" in locations["broken"]["error"]
        assert locations["good"]["status"] == "loaded"
        assert client.get("/api/v1/assets/code_location_1_asset").status_code == 200


def test_duplicate_key_is_a_conflict(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    first = start_location("examples.cross_location.code_location_1", "first")
    second = start_location("srv_duplicate", "second")
    with app_for(tmp_path, database_url, {"first": first, "second": second}) as client:
        wait_loaded(client, "first", "second")
        asset = client.get("/api/v1/assets/code_location_1_asset").json()
        assert asset["conflict"]["locations"] == ["first", "second"]
        response = client.post("/api/v1/runs", json={"selection": ["code_location_1_asset"]})
        assert_problem(response, 409, "'first'", "'second'")
        assert client.get("/api/v1/runs").json()["runs"] == []


def test_location_killed_and_restarted(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    steady = start_location("examples.cross_location.code_location_1", "steady")
    flaky = start_location("examples.cross_location.code_location_2", "flaky")
    with app_for(
        tmp_path, database_url, {"steady": steady, "flaky": flaky}, location_poll_seconds=0.1
    ) as client:
        wait_loaded(client, "steady", "flaky")

        def state(name: str) -> dict[str, Any]:
            return client.get(f"/api/v1/code-locations/{name}").json()

        first_id = state("flaky")["server_id"]
        port = flaky.port
        flaky.stop()
        wait_for(lambda: state("flaky")["status"] == "unreachable")
        assert state("steady")["status"] == "loaded"
        # The last snapshot stays visible while the location is away.
        assert client.get("/api/v1/assets/code_location_2_asset").status_code == 200
        assert_problem(
            client.post("/api/v1/runs", json={"selection": ["code_location_2_asset"]}),
            503,
            "flaky",
        )
        start_location("examples.cross_location.code_location_2", "flaky", port=port)
        back = wait_for(lambda: state("flaky")["status"] == "loaded" and state("flaky"))
        assert back["server_id"] != first_id


def test_api_token(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    loc = start_location("examples.cross_location.code_location_1", "one")
    with app_for(tmp_path, database_url, {"one": loc}, api_token="s3cret") as client:
        assert client.get("/api/v1/health").status_code == 200
        assert_problem(client.get("/api/v1/code-locations"), 401, "Bearer")
        assert_problem(client.get("/api/v1/assets"), 401, "Bearer")
        ok = client.get("/api/v1/assets", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_server_refuses_a_database_behind_head(tmp_path: Path) -> None:
    from server.storage.migrate import SchemaBehind

    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(SchemaBehind, match="tessera migrate"), TestClient(create_app(settings)):
        pass
