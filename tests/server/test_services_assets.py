"""The assets service: the catalog as the API shows it, without a server.

Two of its answers are bytes (fast paths past FastAPI's validation); they must still be what
their declared schemas say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import pytest

from codeloc import AssetKey, asset
from codeloc._runs import AssetMaterialization, Event, EventType
from server.errors import InvalidRequest, NotFound
from server.schemas import AssetGraphPublic, AssetsPublic
from server.services import assets
from server.storage.db import Database
from server.storage.events import ingest_batch
from server.storage.runs import create_run
from server.workspace.graph import MergedGraph
from server.workspace.staleness import StalenessCache

K = AssetKey


@asset(key=["raw", "orders"], code_version="1")
def orders() -> int:
    return 1


@asset(deps=[K(["raw", "orders"])], group_name="marts")
def revenue() -> int:
    return 2


@asset(deps=[K("revenue"), K(["lake", "fx_rates"])], group_name="marts")
def report() -> int:
    return 3


@pytest.fixture
def graph(graph_of: Callable[[Mapping[str, Sequence[Any]]], MergedGraph]) -> MergedGraph:
    return graph_of({"A": [orders], "B": [revenue, report]})


@pytest.fixture
def materialized(database: Database) -> Database:
    """``raw/orders`` materialized once, by code version 1."""
    with database.transaction() as session:
        create_run(
            session,
            run_id="r",
            location="A",
            asset_keys=[K(["raw", "orders"])],
            run_config={},
            tags={},
            token="t",
        )
    event = Event(
        EventType.ASSET_MATERIALIZATION,
        "r",
        seq=1,
        timestamp=10.0,
        asset_key=K(["raw", "orders"]),
        materialization=AssetMaterialization(K(["raw", "orders"]), code_version="1"),
    )
    ingest_batch(database, "r", "t", [event])
    return database


def test_a_page_of_assets_is_what_its_schema_says(
    graph: MergedGraph, materialized: Database
) -> None:
    cache = StalenessCache()
    with materialized.transaction() as session:
        body = assets.list_assets_json(session, graph, cache, limit=2)
        page = AssetsPublic.model_validate_json(body)
        rest = AssetsPublic.model_validate_json(
            assets.list_assets_json(session, graph, cache, limit=2, cursor=page.next_cursor)
        )
        one = assets.get_asset(session, graph, cache, K(["raw", "orders"]))

    assert [a.key for a in page.assets + rest.assets] == [
        ["lake", "fx_rates"],
        ["raw", "orders"],
        ["report"],
        ["revenue"],
    ]
    assert (page.total, rest.next_cursor) == (4, None)
    # The page shows each asset as the detail does.
    listed = page.assets[1]
    assert listed == one
    assert one.latest_materialization is not None
    assert (one.latest_materialization.run_id, one.stale) == ("r", False)
    assert orjson.loads(body)["assets"][1]["latest_materialization"]["code_version"] == "1"


def test_statuses_filter_the_page(graph: MergedGraph, materialized: Database) -> None:
    cache = StalenessCache()

    def keys(status: str) -> list[list[str]]:
        with materialized.transaction() as session:
            body = assets.list_assets_json(session, graph, cache, status=status)
        return [a.key for a in AssetsPublic.model_validate_json(body).assets]

    assert keys("fresh") == [["raw", "orders"]]
    assert keys("external") == [["lake", "fx_rates"]]
    assert keys("missing") == [["report"], ["revenue"]]
    assert keys("stale") == [["report"], ["revenue"]]
    with pytest.raises(InvalidRequest, match="shiny"):
        keys("shiny")


def test_the_graph_body_is_what_its_schema_says(graph: MergedGraph, materialized: Database) -> None:
    cache = StalenessCache()
    with materialized.transaction() as session:
        body = assets.asset_graph_json(session, graph, cache)
        again = assets.asset_graph_json(session, graph, cache)

    assert again is body  # kept until the graph or the staleness changes
    parsed = AssetGraphPublic.model_validate_json(body)
    statuses = {tuple(n["key"]): n["status"] for n in parsed.nodes}
    assert statuses == {
        ("raw", "orders"): "fresh",
        ("revenue",): "missing",
        ("report",): "missing",
        ("lake", "fx_rates"): "external",
    }
    assert [["raw", "orders"], ["revenue"]] in parsed.edges


def test_an_unknown_asset_is_not_found(graph: MergedGraph, database: Database) -> None:
    with database.transaction() as session:
        with pytest.raises(NotFound, match="no/such"):
            assets.get_asset(session, graph, StalenessCache(), K(["no", "such"]))
        with pytest.raises(NotFound, match="no/such"):
            assets.list_materializations(session, graph, K(["no", "such"]))


def test_materializations_page_newest_first(graph: MergedGraph, materialized: Database) -> None:
    with materialized.transaction() as session:
        page = assets.list_materializations(session, graph, K(["raw", "orders"]), limit=1)
        rest = assets.list_materializations(
            session, graph, K(["raw", "orders"]), limit=1, cursor=page.next_cursor
        )
    assert [m.run_id for m in page.materializations] == ["r"]
    assert rest.materializations == []
