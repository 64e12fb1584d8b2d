"""The contract the API publishes: its OpenAPI document says what it answers (errors as one
``Problem`` schema, the bearer schemes, enums, readable operation ids), and every answer
carries the headers that keep the UI from being framed, sniffed or fed foreign scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from codeloc._runs import EventType, RunStatus
from server.api.app import create_app
from server.core.config import Settings

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, database_url=database_url, api_token="secret")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_error_is_a_problem(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"title", "status", "detail"}
    assert "HTTPValidationError" not in schemas
    for path, method, operation in operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert {"400", "503"} <= set(errors), (method, path)
        for code, response in errors.items():
            assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                method,
                path,
                code,
            )


def test_each_operation_documents_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    codes = {
        (method, path): set(operation["responses"])
        for path, method, operation in operations(document)
    }
    assert {"401", "403", "404", "422"} <= codes[("get", "/api/v1/runs/{run_id}")]
    assert {"401", "403", "409", "413", "422", "503"} <= codes[("post", "/api/v1/runs")]
    assert {"401", "404", "413", "422"} <= codes[("post", "/api/v1/runs/{run_id}/events")]
    assert "401" not in codes[("get", "/api/v1/health")]


def test_bearer_schemes_are_declared_and_applied(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    assert schemes["runToken"]["scheme"] == "bearer"
    for path, method, operation in operations(document):
        if path == "/api/v1/health":
            assert "security" not in operation
        elif path.endswith("/events") and method == "post":
            assert operation["security"] == [{"runToken": []}]
        else:
            assert operation["security"] == [{"apiToken": []}], (method, path)


def test_statuses_and_event_types_are_enums(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["RunStatus"]["enum"] == [s.value for s in RunStatus]
    assert schemas["EventType"]["enum"] == [t.value for t in EventType]
    assert schemas["RunPublic"]["properties"]["status"] == {
        "$ref": "#/components/schemas/RunStatus"
    }
    assert schemas["EventPublic"]["properties"]["type"] == {
        "$ref": "#/components/schemas/EventType"
    }


def test_operation_ids_are_readable(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    assert {"listRuns", "getRun", "createRuns", "getAsset", "listAssets", "cancelRun"} <= ids
    assert all("_" not in i for i in ids), ids


# -- headers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/ui/app.js", 200), ("/api/v1/health", 200), ("/api/v1/runs", 401)],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_guards_answers_carry_them_too(client: TestClient) -> None:
    response = client.get("/api/v1/runs/a%00b")
    assert response.status_code == 400
    assert response.headers["x-frame-options"] == "DENY"


def test_the_api_docs_load_their_cdn_and_nothing_else(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy
    assert "frame-ancestors 'none'" in policy
    assert "cdn.jsdelivr.net" in response.text
