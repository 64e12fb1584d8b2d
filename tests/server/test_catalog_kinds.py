"""Kinds, owners and resources in the catalog: the REST API against a real code location."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from codeloc.grpc.server import LocationServer
from tests.server.test_api import app_for, assert_problem, start_location, wait_loaded

__all__ = ["start_location"]  # a fixture, used by name


@pytest.fixture
def api(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> Iterator[TestClient]:
    locations = {"catalog": start_location("srv_catalog", "catalog")}
    with app_for(tmp_path, database_url, locations, location_poll_seconds=0.2) as client:
        wait_loaded(client, "catalog")
        yield client


def keys(body: dict) -> list[str]:
    return ["/".join(a["key"]) for a in body["assets"]]


def test_assets_show_their_kinds_and_owners(api: TestClient) -> None:
    orders = api.get("/api/v1/assets/orders").json()
    assert orders["kinds"] == ["python", "snowflake"]
    assert orders["owners"] == ["team:data", "alice@example.com"]
    assert orders["tags"] == {"dagster/kind/python": "", "dagster/kind/snowflake": ""}
    assert api.get("/api/v1/assets/summary").json()["kinds"] == []


def test_definition_metadata_is_typed_on_the_server(api: TestClient) -> None:
    metadata = api.get("/api/v1/assets/orders").json()["metadata"]
    assert metadata["rows"] == {"kind": "int", "value": 3}
    assert metadata["landed"] == {"kind": "timestamp", "value": 1714564800.0}
    assert metadata["reload"] == {
        "kind": "job",
        "value": {"job_name": "nightly", "location_name": "catalog", "repository_name": None},
    }
    assert metadata["loader"]["value"] == {"module": "codeloc._definitions", "name": "Definitions"}
    assert metadata["when"] == {"kind": "text", "value": "[date] (unserializable)"}


def test_the_list_filters_by_kind_and_owner(api: TestClient) -> None:
    assert keys(api.get("/api/v1/assets", params={"kind": "python"}).json()) == [
        "files",
        "orders",
    ]
    assert keys(api.get("/api/v1/assets", params={"kind": "snowflake"}).json()) == ["orders"]
    assert keys(api.get("/api/v1/assets", params={"owner": "team:data"}).json()) == [
        "files",
        "orders",
    ]
    both = api.get("/api/v1/assets", params={"owner": "team:data", "kind": "snowflake"}).json()
    assert keys(both) == ["orders"]
    assert both["total"] == 1
    assert keys(api.get("/api/v1/assets", params={"kind": "dbt"}).json()) == []
    with_group = api.get("/api/v1/assets", params={"group": "reports", "owner": "bob@example.com"})
    assert keys(with_group.json()) == ["summary"]
    assert_problem(api.get("/api/v1/assets", params={"kind": "k" * 1001}), 422)


def test_facets_count_groups_kinds_and_owners(api: TestClient) -> None:
    facets = api.get("/api/v1/asset-facets").json()
    assert facets == {
        "groups": [{"name": "default", "count": 2}, {"name": "reports", "count": 1}],
        "kinds": [{"name": "python", "count": 2}, {"name": "snowflake", "count": 1}],
        "owners": [
            {"name": "alice@example.com", "count": 1},
            {"name": "bob@example.com", "count": 1},
            {"name": "team:data", "count": 2},
        ],
    }


def test_an_asset_lists_the_resources_it_requires(api: TestClient) -> None:
    (warehouse,) = api.get("/api/v1/assets/orders").json()["resources"]
    assert warehouse["key"] == "warehouse"
    assert warehouse["type"] == "srv_catalog.Warehouse"
    assert warehouse["description"] == "A SQL warehouse."
    assert set(warehouse["config_schema"]["properties"]) == {"dsn", "pool_size"}
    assert warehouse["config_schema"]["properties"]["pool_size"]["default"] == 4

    (store,) = api.get("/api/v1/assets/files").json()["resources"]
    assert store["key"] == "store"
    assert store["type"] == "codeloc._resource_def.ResourceDefinition"
    assert store["description"] == "An object store."
    assert store["config_schema"]["properties"] == {"bucket": {"type": "string"}}
    # The configured value ("b") is not shown: a resource's config may hold secrets.
    assert '"b"' not in api.get("/api/v1/assets/files").text

    assert api.get("/api/v1/assets/summary").json()["resources"] == []


def test_a_selection_by_kind_or_owner_launches_those_assets(api: TestClient) -> None:
    answer = api.post(
        "/api/v1/runs", json={"selection": 'kind:snowflake or owner:"bob@example.com"'}
    )
    assert answer.status_code == 201, answer.text
    (run,) = answer.json()["runs"]
    assert sorted("/".join(k) for k in run["asset_keys"]) == ["orders", "summary"]
