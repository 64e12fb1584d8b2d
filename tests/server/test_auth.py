"""API tokens and scopes against a real server app, real code locations (gRPC on port 0),
on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import update

from codeloc.grpc.server import LocationServer
from server.api.app import create_app
from server.api.deps import require
from server.auth import Scope, hash_secret, is_loopback, parse_expiry
from server.core.config import Settings
from server.schemas import TokenCreate
from server.services import tokens
from server.storage.db import Database
from server.storage.models import ApiTokenRow
from tests.server.test_api import app_for, assert_problem, start_location, wait_for, wait_loaded

__all__ = ["start_location"]  # a fixture, used by name

ONE = "code_location_1"
TWO = "code_location_2"
ONE_ASSET = {"selection": ["code_location_1_asset"]}
TWO_ASSET = {"selection": ["code_location_2_asset"]}
BOTH = {"selection": ["code_location_1_asset", "code_location_2_asset"]}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make_token(database: Database, scope: str, **fields: Any) -> str:
    return tokens.create_token(database, TokenCreate(scope=Scope(scope), **fields)).secret


@pytest.fixture
def locations(
    start_location: Callable[..., LocationServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, LocationServer]:
    # The runs launched here write the example's files under tmp_path, not the checkout.
    monkeypatch.setenv("TESSERA_EXAMPLE_DATA", str(tmp_path / "data"))
    return {
        ONE: start_location("examples.cross_location.code_location_1", ONE),
        TWO: start_location("examples.cross_location.code_location_2", TWO),
    }


@pytest.fixture
def secrets_by_scope(database: Database) -> dict[str, str]:
    return {
        "read": make_token(database, "read", name="reader"),
        "launch": make_token(database, "launch"),
        "launch_one": make_token(database, "launch", locations=[ONE]),
        "admin": make_token(database, "admin"),
    }


@pytest.fixture
def client(
    tmp_path: Path,
    database_url: str,
    locations: dict[str, LocationServer],
    secrets_by_scope: dict[str, str],
) -> Iterator[TestClient]:
    with app_for(tmp_path, database_url, locations, location_poll_seconds=0.2) as client:
        client.headers.update(bearer(secrets_by_scope["admin"]))
        wait_loaded(client, ONE, TWO)
        client.headers.pop("Authorization")
        yield client


# -- every route says the scope it needs ---------------------------------------------------------

#: The scope of every route of /api/v1. A new route fails the test below until it is here.
ROUTE_SCOPES = {
    ("GET", "/api/v1/code-locations"): Scope.READ,
    ("GET", "/api/v1/code-locations/{name}"): Scope.READ,
    ("POST", "/api/v1/code-locations/{name}/reload"): Scope.ADMIN,
    ("POST", "/api/v1/code-locations"): Scope.ADMIN,
    ("DELETE", "/api/v1/code-locations/{name}"): Scope.ADMIN,
    ("GET", "/api/v1/assets"): Scope.READ,
    ("GET", "/api/v1/assets/{key:path}/materializations"): Scope.READ,
    ("GET", "/api/v1/assets/{key:path}"): Scope.READ,
    ("GET", "/api/v1/asset-graph"): Scope.READ,
    ("GET", "/api/v1/asset-facets"): Scope.READ,
    ("POST", "/api/v1/runs"): Scope.LAUNCH,
    ("GET", "/api/v1/runs"): Scope.READ,
    ("GET", "/api/v1/runs/{run_id}"): Scope.READ,
    ("POST", "/api/v1/runs/{run_id}/cancel"): Scope.LAUNCH,
    ("GET", "/api/v1/runs/{run_id}/events"): Scope.READ,
    ("GET", "/api/v1/tokens"): Scope.ADMIN,
    ("POST", "/api/v1/tokens"): Scope.ADMIN,
    ("DELETE", "/api/v1/tokens/{token_id}"): Scope.ADMIN,
}
#: Open (health) or authenticated otherwise (ingest: the token of its run).
WITHOUT_SCOPE = {("GET", "/api/v1/health"), ("POST", "/api/v1/runs/{run_id}/events")}


def _api_routes() -> list[tuple[str, str, Any]]:
    # The routes as served: included routers' dependencies count too.
    app = create_app(Settings())
    return [
        (method, route.path, route)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.path.startswith("/api/v1")
        for method in sorted(route.methods or ())
    ]


def _scopes_of(route: Any) -> list[Scope]:
    found: list[Scope] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, require):
            found.append(dependant.call.scope)
        pending.extend(dependant.dependencies)
    return found


@pytest.mark.parametrize(("method", "path", "route"), _api_routes(), ids=lambda v: str(v))
def test_every_api_route_requires_its_scope(method: str, path: str, route: Any) -> None:
    if (method, path) in WITHOUT_SCOPE:
        assert _scopes_of(route) == []
        return
    assert (method, path) in ROUTE_SCOPES, f"{method} {path} has no scope in ROUTE_SCOPES"
    assert _scopes_of(route) == [ROUTE_SCOPES[(method, path)]]


def test_the_table_lists_only_routes_that_exist() -> None:
    existing = {(method, path) for method, path, _ in _api_routes()}
    assert set(ROUTE_SCOPES) | WITHOUT_SCOPE == existing


# -- scopes on each class of endpoint ------------------------------------------------------------


def test_without_a_valid_token_every_call_but_health_is_401(
    client: TestClient, database: Database, secrets_by_scope: dict[str, str]
) -> None:
    expired = make_token(database, "admin", expires="1h")
    with database.transaction() as session:
        session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.hash == hash_secret(expired))
            .values(expires_at=time.time() - 1)
        )
    revoked = make_token(database, "admin")
    with database.transaction() as session:
        row = session.query(ApiTokenRow).filter_by(hash=hash_secret(revoked)).one()
    client.delete(f"/api/v1/tokens/{row.id}", headers=bearer(secrets_by_scope["admin"]))

    assert client.get("/api/v1/health").status_code == 200
    for headers, fragment in [
        ({}, "Bearer"),
        (bearer("tessera_not-a-token"), "unknown API token"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "Bearer"),
        (bearer(expired), "expired"),
        (bearer(revoked), f"'{row.id}' was revoked"),
    ]:
        for method, path in [
            ("GET", "/api/v1/assets"),
            ("GET", "/api/v1/runs"),
            ("POST", "/api/v1/runs"),
            ("POST", f"/api/v1/code-locations/{ONE}/reload"),
            ("GET", "/api/v1/tokens"),
        ]:
            response = client.request(method, path, headers=headers, json=ONE_ASSET)
            assert_problem(response, 401, fragment)


def test_read_scope_reads_and_nothing_more(
    client: TestClient, secrets_by_scope: dict[str, str]
) -> None:
    read = bearer(secrets_by_scope["read"])
    for path in [
        "/api/v1/code-locations",
        f"/api/v1/code-locations/{ONE}",
        "/api/v1/assets",
        "/api/v1/assets/code_location_1_asset",
        "/api/v1/assets/code_location_1_asset/materializations",
        "/api/v1/asset-graph",
        "/api/v1/runs",
    ]:
        assert client.get(path, headers=read).status_code == 200, path
    for method, path, body, scope in [
        ("POST", "/api/v1/runs", ONE_ASSET, "launch"),
        ("POST", "/api/v1/runs/some-run/cancel", None, "launch"),
        ("POST", f"/api/v1/code-locations/{ONE}/reload", None, "admin"),
        ("POST", "/api/v1/code-locations", {"name": "x", "address": "localhost:1"}, "admin"),
        ("DELETE", f"/api/v1/code-locations/{ONE}", None, "admin"),
        ("GET", "/api/v1/tokens", None, "admin"),
        ("POST", "/api/v1/tokens", {"scope": "admin"}, "admin"),
    ]:
        response = client.request(method, path, headers=read, json=body)
        problem = assert_problem(response, 403, f"needs scope '{scope}'", "has scope 'read'")
        assert problem["required_scope"] == scope
    assert client.get("/api/v1/runs", headers=read).json()["runs"] == []
    assert {loc["name"] for loc in client.get("/api/v1/code-locations", headers=read).json()} == {
        ONE,
        TWO,
    }


def test_launch_scope_launches_and_cancels_but_does_not_administer(
    client: TestClient, secrets_by_scope: dict[str, str]
) -> None:
    launch = bearer(secrets_by_scope["launch"])
    created = client.post("/api/v1/runs", headers=launch, json=BOTH)
    assert created.status_code == 201, created.text
    run_id = created.json()["runs"][1]["run_id"]
    canceled = client.post(f"/api/v1/runs/{run_id}/cancel", headers=launch)
    assert canceled.status_code == 200, canceled.text
    assert client.get(f"/api/v1/runs/{run_id}/events", headers=launch).status_code == 200
    for method, path in [
        ("POST", f"/api/v1/code-locations/{ONE}/reload"),
        ("DELETE", f"/api/v1/code-locations/{TWO}"),
        ("GET", "/api/v1/tokens"),
    ]:
        assert_problem(client.request(method, path, headers=launch), 403, "needs scope 'admin'")


def test_admin_scope_manages_locations_and_tokens(
    client: TestClient, secrets_by_scope: dict[str, str]
) -> None:
    admin = bearer(secrets_by_scope["admin"])
    reloaded = client.post(f"/api/v1/code-locations/{ONE}/reload", headers=admin)
    assert reloaded.status_code == 200, reloaded.text
    assert client.delete(f"/api/v1/code-locations/{TWO}", headers=admin).status_code == 204
    assert client.post("/api/v1/runs", headers=admin, json=ONE_ASSET).status_code == 201
    assert len(client.get("/api/v1/tokens", headers=admin).json()["tokens"]) == 4


def test_a_token_limited_to_a_location_launches_and_cancels_only_there(
    client: TestClient, secrets_by_scope: dict[str, str]
) -> None:
    limited = bearer(secrets_by_scope["launch_one"])
    admin = bearer(secrets_by_scope["admin"])

    assert client.post("/api/v1/runs", headers=limited, json=ONE_ASSET).status_code == 201
    for body in (TWO_ASSET, BOTH):
        response = client.post("/api/v1/runs", headers=limited, json=body)
        problem = assert_problem(response, 403, f"location '{TWO}'", f"'{ONE}'")
        assert problem["location"] == TWO
    runs = client.get("/api/v1/runs", headers=limited).json()["runs"]
    assert [r["location"] for r in runs] == [ONE]  # the refused launches created nothing

    other = client.post("/api/v1/runs", headers=admin, json=TWO_ASSET).json()["runs"][0]
    response = client.post(f"/api/v1/runs/{other['run_id']}/cancel", headers=limited)
    assert_problem(response, 403, f"run '{other['run_id']}' is in location '{TWO}'")
    assert client.get(f"/api/v1/runs/{other['run_id']}", headers=limited).json()["status"] != (
        "CANCELING"
    )
    own = runs[0]["run_id"]
    assert client.post(f"/api/v1/runs/{own}/cancel", headers=limited).status_code == 200
    assert_problem(client.post("/api/v1/runs/nope/cancel", headers=limited), 404, "nope")


def test_tokens_over_rest(client: TestClient, secrets_by_scope: dict[str, str]) -> None:
    admin = bearer(secrets_by_scope["admin"])
    created = client.post(
        "/api/v1/tokens",
        headers=admin,
        json={"scope": "launch", "locations": [ONE], "expires": "30d", "name": "ci"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("tessera_")
    assert len(secret) > 40
    assert body["scope"] == "launch"
    assert body["locations"] == [ONE]
    assert body["name"] == "ci"
    assert 29 * 86400 < body["expires_at"] - time.time() <= 30 * 86400

    assert client.post("/api/v1/runs", headers=bearer(secret), json=ONE_ASSET).status_code == 201
    listed = client.get("/api/v1/tokens", headers=admin)
    assert secret not in listed.text
    assert hash_secret(secret) not in listed.text
    mine = next(t for t in listed.json()["tokens"] if t["id"] == body["id"])
    assert set(mine) == {
        "id",
        "name",
        "scope",
        "locations",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    }
    assert mine["last_used_at"] is not None
    assert mine["revoked_at"] is None

    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=admin).status_code == 204
    assert_problem(client.get("/api/v1/runs", headers=bearer(secret)), 401, "was revoked")
    revoked = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    assert next(t for t in revoked if t["id"] == body["id"])["revoked_at"] is not None
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=admin).status_code == 204

    assert_problem(client.delete("/api/v1/tokens/nope", headers=admin), 404, "'nope'")
    for payload, status, fragment in [
        ({"scope": "read", "locations": [ONE]}, 400, "scope 'launch'"),
        ({"scope": "launch", "expires": "yesterday"}, 400, "duration"),
        ({"scope": "launch", "expires": "2001-01-01"}, 400, "in the past"),
        ({"scope": "owner"}, 422, "scope"),
        ({"scope": "read", "secret": "mine"}, 422, "secret"),
    ]:
        response = client.post("/api/v1/tokens", headers=admin, json=payload)
        assert_problem(response, status, fragment)


def test_the_bootstrap_token_is_an_admin_beside_the_database_tokens(
    tmp_path: Path,
    database_url: str,
    locations: dict[str, LocationServer],
    database: Database,
) -> None:
    reader = make_token(database, "read")
    with app_for(tmp_path, database_url, locations, api_token="b00tstrap") as client:
        assert_problem(client.get("/api/v1/assets"), 401, "Bearer")
        assert client.get("/api/v1/tokens", headers=bearer("b00tstrap")).status_code == 200
        response = client.post(f"/api/v1/code-locations/{ONE}/reload", headers=bearer("b00tstrap"))
        assert response.status_code == 200, response.text
        assert client.get("/api/v1/assets", headers=bearer(reader)).status_code == 200
        assert_problem(client.get("/api/v1/tokens", headers=bearer(reader)), 403, "admin")


# -- a server without any token ------------------------------------------------------------------


def test_without_tokens_on_loopback_everything_is_open(
    tmp_path: Path, database_url: str, locations: dict[str, LocationServer]
) -> None:
    with app_for(tmp_path, database_url, locations, host="127.0.0.1") as client:
        wait_loaded(client, ONE, TWO)
        assert client.post(f"/api/v1/code-locations/{ONE}/reload").status_code == 200
        assert client.post("/api/v1/runs", json=ONE_ASSET).status_code == 201
        assert client.get("/api/v1/tokens").json() == {"tokens": []}


def test_without_tokens_on_another_address_anonymous_callers_only_read(
    tmp_path: Path,
    database_url: str,
    locations: dict[str, LocationServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="server.api.app")
    with app_for(tmp_path, database_url, locations, host="0.0.0.0") as client:
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("NO API TOKEN IS CONFIGURED" in w and "0.0.0.0" in w for w in warnings)
        wait_loaded(client, ONE, TWO)
        assert client.get("/api/v1/assets").status_code == 200
        for method, path, body in [
            ("POST", "/api/v1/runs", ONE_ASSET),
            ("POST", "/api/v1/runs/any/cancel", None),
            ("POST", f"/api/v1/code-locations/{ONE}/reload", None),
            ("POST", "/api/v1/code-locations", {"name": "x", "address": "localhost:1"}),
            ("DELETE", f"/api/v1/code-locations/{ONE}", None),
            ("GET", "/api/v1/tokens", None),
            ("POST", "/api/v1/tokens", {"scope": "admin"}),
        ]:
            response = client.request(method, path, json=body)
            assert_problem(
                response,
                403,
                "anonymous callers may only read",
                "TESSERA_API_TOKEN",
                "token create",
            )
        assert client.get("/api/v1/runs").json()["runs"] == []
        assert len(client.get("/api/v1/code-locations").json()) == 2

        # A token made in the database of the running server closes it within a second.
        database = Database(database_url)
        try:
            make_token(database, "read")
        finally:
            database.dispose()
        wait_for(lambda: client.get("/api/v1/assets").status_code == 401, timeout=5)


def test_a_loopback_server_without_tokens_warns_too_but_not_in_dev(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="server.api.app")
    settings = Settings(home=tmp_path, database_url=database_url, host="127.0.0.1")
    with TestClient(create_app(settings)):
        pass
    assert any("NO API TOKEN IS CONFIGURED" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with TestClient(create_app(settings, dev=True)):
        pass
    assert not any("NO API TOKEN" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with TestClient(create_app(settings.model_copy(update={"api_token": "x"}))):
        pass
    assert not any("NO API TOKEN" in r.getMessage() for r in caplog.records)


# -- the pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("tessera.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_expiry_parsing() -> None:
    now = 1_800_000_000.0
    assert parse_expiry("90m", now) == now + 5400
    assert parse_expiry("12h", now) == now + 12 * 3600
    assert parse_expiry("30d", now) == now + 30 * 86400
    assert parse_expiry("2w", now) == now + 14 * 86400
    assert parse_expiry("2027-01-31", now) == 1_801_353_600.0  # midnight UTC
    assert parse_expiry("2027-01-31T01:00:00+01:00", now) == 1_801_353_600.0
    for bad, fragment in [("0d", "passed"), ("2001-01-01", "past"), ("soon", "duration")]:
        with pytest.raises(ValueError, match=fragment):
            parse_expiry(bad, now)


def test_no_operation_takes_a_secret_in_its_query_string() -> None:
    # The access log writes every path with its query string: a secret there would be logged.
    schema = TestClient(create_app(Settings())).get("/openapi.json").json()
    query = [
        (path, parameter["name"])
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    assert query  # the check sees the query parameters there are
    assert [
        (path, name)
        for path, name in query
        if any(word in name.lower() for word in ("token", "secret", "auth", "key"))
    ] == []
