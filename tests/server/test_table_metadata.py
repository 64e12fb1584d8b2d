"""Table metadata on the server: a real run's materialization records a column schema, rows
and column lineage; they are stored and returned by the REST API as they were recorded, and
the asset's definition metadata carries its column schema typed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from codeloc import MetadataValue, TableColumnDep, TableColumnLineage
from codeloc._wire import metadata_from_json
from codeloc.grpc.server import LocationServer
from tests.resources.srv_tables import ORDERS_SCHEMA
from tests.server.test_api import live_client, start_location, wait_for

__all__ = ["start_location"]  # a fixture, used by name


@pytest.fixture
def client(
    tmp_path: Path,
    start_location: Callable[..., LocationServer],
    database_url: str,
    live_server: Callable[..., Any],
) -> Iterator[httpx.Client]:
    """A server on a real port (the run worker reports its events to it) and its client."""
    location = start_location("srv_tables", "tables")
    with live_client(tmp_path, database_url, live_server, "tables", location) as c:
        yield c


def test_the_definitions_column_schema_is_typed_on_the_asset(client: httpx.Client) -> None:
    asset = client.get("/api/v1/assets/orders").json()
    entry = asset["metadata"]["dagster/column_schema"]
    assert entry["kind"] == "table_schema"
    assert entry["value"]["columns"][0] == {
        "name": "order_id",
        "type": "int",
        "description": "The order's id.",
        "constraints": {"nullable": False, "unique": True, "other": []},
        "tags": {},
    }
    assert MetadataValue("table_schema", entry["value"]).schema == ORDERS_SCHEMA


def test_a_materialization_with_table_metadata_is_stored_and_returned(
    client: httpx.Client,
) -> None:
    response = client.post("/api/v1/runs", json={"selection": ["raw_orders", "orders"]})
    assert response.status_code == 201, response.text
    (run,) = response.json()["runs"]

    def finished() -> dict[str, Any] | None:
        state = client.get(f"/api/v1/runs/{run['run_id']}").json()
        return state if state["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

    assert wait_for(finished, timeout=60)["status"] == "SUCCESS"
    page = client.get("/api/v1/assets/orders/materializations").json()
    (mat,) = page["materializations"]
    metadata = metadata_from_json(mat["metadata"])  # what the server returns reads back typed
    assert metadata["dagster/column_schema"].schema == ORDERS_SCHEMA
    assert metadata["dagster/column_lineage"].lineage == TableColumnLineage(
        {"order_id": [TableColumnDep("raw_orders", "id")]}
    )
    preview = mat["metadata"]["preview"]
    assert preview["kind"] == "table"
    assert preview["value"]["records"] == [
        {"order_id": 1, "amount": 9.5, "paid": True, "note": None},
        {"order_id": 2, "amount": 0.25, "paid": False, "note": "gift"},
    ]
    assert [c["type"] for c in preview["value"]["schema"]["columns"]] == [
        "int",
        "float",
        "bool",
        "string",
    ]
    latest = client.get("/api/v1/assets/orders").json()["latest_materialization"]
    assert latest["metadata"]["preview"] == preview
