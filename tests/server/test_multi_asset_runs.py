"""Multi-assets on the server: subsetting and internal dependencies reach it in the
snapshot, and a launch of part of a multi-asset that cannot subset is refused (422)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from codeloc import AssetKey, AssetOut, AssetSelection, asset, multi_asset
from codeloc.grpc.convert import from_snapshot_chunks, to_snapshot_chunks
from codeloc.grpc.server import LocationServer
from server.errors import InvalidSelection
from server.runs.planning import plan_runs
from server.workspace.graph import MergedGraph
from tests.server.test_api import (
    assert_problem,
    live_client,
    start_location,
    wait_for,
)

__all__ = ["start_location"]  # a fixture, used by name

K = AssetKey


@multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
def ab():
    return 1, 2


@multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
def xy():
    return 1, 2


@asset
def after_a(a):
    return a


def test_can_subset_travels_in_the_snapshot(snapshots_of: Callable[..., Any]) -> None:
    snapshot = snapshots_of({"loc": [ab, xy, after_a]})["loc"]
    back = from_snapshot_chunks(to_snapshot_chunks(snapshot))
    flags = {n.key: n.can_subset for n in back.assets}
    assert flags == {K("a"): False, K("b"): False, K("x"): True, K("y"): True, K("after_a"): True}
    assert back == snapshot


def test_the_snapshot_hash_changes_with_can_subset(snapshots_of: Callable[..., Any]) -> None:
    @multi_asset(name="ab", outs={"a": AssetOut(), "b": AssetOut()}, can_subset=True)
    def subsettable():  # the same assets, now subsettable
        return 1, 2

    before = snapshots_of({"loc": [ab]})["loc"].hash
    after = snapshots_of({"loc": [subsettable]})["loc"].hash
    assert before != after


def test_required_multi_asset_neighbors_is_real_on_the_merged_graph(
    graph_of: Callable[..., MergedGraph],
) -> None:
    graph = graph_of({"one": [ab, after_a], "two": [xy]})
    assert list(graph.required_neighbors(K("a"))) == [K("a"), K("b")]
    assert list(graph.required_neighbors(K("x"))) == [K("x")]
    selection = AssetSelection.assets("a", "x").required_multi_asset_neighbors()
    assert selection.resolve(graph) == {K("a"), K("b"), K("x")}
    assert AssetSelection.from_string("required_multi_asset_neighbors(after_a or a)").resolve(
        graph
    ) == {K("a"), K("b"), K("after_a")}


def test_planning_refuses_part_of_a_multi_asset_that_cannot_subset(
    graph_of: Callable[..., MergedGraph],
) -> None:
    graph = graph_of({"one": [ab, after_a], "two": [xy]})
    with pytest.raises(InvalidSelection) as info:
        plan_runs(graph, {K("a"), K("after_a")})
    assert "multi-asset 'ab'" in info.value.detail
    assert info.value.extra["required_keys"] == [["a"], ["b"]]
    assert info.value.extra["missing_keys"] == [["b"]]
    (run,) = plan_runs(graph, {K("a"), K("b"), K("after_a")})
    assert set(run.asset_keys) == {K("a"), K("b"), K("after_a")}
    (subset,) = plan_runs(graph, {K("x")})
    assert subset.asset_keys == (K("x"),)


@pytest.fixture
def client(
    tmp_path: Path,
    start_location: Callable[..., LocationServer],
    database_url: str,
    live_server: Callable[..., Any],
) -> Iterator[httpx.Client]:
    """A server on a real port (run workers report their events to it) and its client."""
    location = start_location("srv_multi_assets", "multi")
    with live_client(tmp_path, database_url, live_server, "multi", location) as c:
        yield c


def _finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

    return wait_for(done, timeout=60)


def _materialized(client: httpx.Client, run_id: str) -> list[str]:
    events = client.get(f"/api/v1/runs/{run_id}/events", params={"limit": 1000}).json()
    return sorted("/".join(e["asset_key"]) for e in events if e["type"] == "ASSET_MATERIALIZATION")


@pytest.mark.parametrize("selection", [["a"], "a", "a or after_a", "+after_a and not b"])
def test_launching_part_of_a_multi_asset_that_cannot_subset_is_a_422_naming_it(
    client: httpx.Client, selection: Any
) -> None:
    body = assert_problem(
        client.post("/api/v1/runs", json={"selection": selection}), 422, "multi-asset 'ab'", "'b'"
    )
    assert body["multi_asset"] == "ab"
    assert body["required_keys"] == [["a"], ["b"]]
    assert body["missing_keys"] == [["b"]]
    assert client.get("/api/v1/runs").json()["runs"] == []


def test_launching_the_whole_multi_asset_runs_it(client: httpx.Client) -> None:
    response = client.post("/api/v1/runs", json={"selection": "required_multi_asset_neighbors(a)"})
    assert response.status_code == 201, response.text
    (run,) = response.json()["runs"]
    assert _finished(client, run["run_id"])["status"] == "SUCCESS"
    assert _materialized(client, run["run_id"]) == ["a", "b"]


def test_a_subsettable_multi_asset_runs_only_the_selected_part(client: httpx.Client) -> None:
    response = client.post("/api/v1/runs", json={"selection": ["y"]})
    assert response.status_code == 201, response.text
    (run,) = response.json()["runs"]
    assert _finished(client, run["run_id"])["status"] == "SUCCESS"
    assert _materialized(client, run["run_id"]) == ["y"]


def test_the_asset_names_the_multi_asset_it_must_run_with(client: httpx.Client) -> None:
    a = client.get("/api/v1/assets/a").json()
    assert a["required_multi_asset"] == {"node_name": "ab", "keys": [["a"], ["b"]]}
    assert client.get("/api/v1/assets/x").json()["required_multi_asset"] is None
    assert client.get("/api/v1/assets/after_a").json()["required_multi_asset"] is None


def test_internal_asset_deps_are_the_edges_of_the_merged_graph(client: httpx.Client) -> None:
    m2 = client.get("/api/v1/assets/m2").json()
    m1 = client.get("/api/v1/assets/m1").json()
    assert m2["deps"] == [["m1"]]
    assert m1["deps"] == [["after_a"]]
    assert sorted(client.get("/api/v1/assets/after_a").json()["dependents"]) == [["m1"]]
    edges = client.get("/api/v1/asset-graph").json()["edges"]
    assert [["m1"], ["m2"]] in edges
    assert [["after_a"], ["m2"]] not in edges
