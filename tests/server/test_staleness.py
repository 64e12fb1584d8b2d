"""Staleness across locations: missing, code version, upstream newer or stale, external, cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from codeloc import AssetKey, asset
from server.storage.db import Database
from server.storage.events import ingest_events, latest_materializations, materialization_version
from server.storage.runs import create_run
from server.workspace.graph import MergedGraph
from server.workspace.staleness import StaleCause, StalenessCache, compute_staleness

GraphOf = Callable[..., MergedGraph]
K = AssetKey


@dataclass(frozen=True)
class Latest:
    timestamp: float
    code_version: str | None = None
    data_version: str | None = None


@asset(code_version="1", deps=[K(["raw", "clicks"])])
def upstream() -> None:
    return None


@asset(deps=[K("upstream")])
def downstream() -> None:
    return None


@asset(deps=[K("downstream")])
def report() -> None:
    return None


@pytest.fixture
def graph(graph_of: GraphOf) -> MergedGraph:
    # upstream lives in A; downstream and report in B.
    return graph_of({"A": [upstream], "B": [downstream, report]})


def reasons(causes: tuple[StaleCause, ...]) -> list[tuple[str, AssetKey | None]]:
    return [(c.reason, c.key) for c in causes]


def test_never_materialized_is_missing(graph: MergedGraph) -> None:
    stale = compute_staleness(graph, {"upstream": Latest(10.0, "1")})

    assert reasons(stale[K("downstream")]) == [("missing", None)]
    assert reasons(stale[K("report")]) == [("missing", None)]
    assert stale[K("upstream")] == ()


def test_everything_fresh(graph: MergedGraph) -> None:
    latest = {"upstream": Latest(1.0, "1"), "downstream": Latest(2.0), "report": Latest(3.0)}

    stale = compute_staleness(graph, latest)

    assert all(causes == () for causes in stale.values())
    assert set(stale) == set(graph.nodes)


def test_changed_code_version(graph: MergedGraph) -> None:
    latest = {"upstream": Latest(1.0, "0"), "downstream": Latest(2.0), "report": Latest(3.0)}

    stale = compute_staleness(graph, latest)

    (cause,) = stale[K("upstream")]
    assert cause.reason == "code_version"
    assert "from '0' to '1'" in cause.message
    # and what depends on it, in the other location, is stale because of it
    assert reasons(stale[K("downstream")]) == [("upstream_stale", K("upstream"))]
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]


def test_an_asset_without_a_code_version_is_not_stale_by_code(graph: MergedGraph) -> None:
    latest = {
        "upstream": Latest(1.0, "1"),
        "downstream": Latest(2.0, "anything"),
        "report": Latest(3.0),
    }

    assert compute_staleness(graph, latest)[K("downstream")] == ()


def test_upstream_in_another_location_materialized_later(graph: MergedGraph) -> None:
    latest = {"upstream": Latest(5.0, "1"), "downstream": Latest(2.0), "report": Latest(3.0)}

    stale = compute_staleness(graph, latest)

    assert reasons(stale[K("downstream")]) == [("upstream_newer", K("upstream"))]
    assert "upstream 'upstream'" in stale[K("downstream")][0].message
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]
    assert stale[K("upstream")] == ()


def test_upstream_missing_makes_downstream_stale(graph: MergedGraph) -> None:
    stale = compute_staleness(graph, {"downstream": Latest(2.0), "report": Latest(3.0)})

    assert reasons(stale[K("upstream")]) == [("missing", None)]
    assert reasons(stale[K("downstream")]) == [("upstream_stale", K("upstream"))]


def test_external_assets_are_never_stale(graph: MergedGraph) -> None:
    raw = K(["raw", "clicks"])
    assert graph.nodes[raw].is_external

    never = compute_staleness(graph, {"upstream": Latest(1.0, "1")})
    # even when it reports a materialization newer than its child's
    later = compute_staleness(graph, {"raw/clicks": Latest(9.0), "upstream": Latest(1.0, "1")})

    assert never[raw] == ()
    assert later[raw] == ()
    assert reasons(later[K("upstream")]) == [("upstream_newer", raw)]


def test_staleness_from_stored_materializations(graph: MergedGraph, database: Database) -> None:
    def materialized(seq: int, key: str, timestamp: float, code_version: str | None) -> dict:
        return {
            "seq": seq,
            "timestamp": timestamp,
            "type": "ASSET_MATERIALIZATION",
            "materialization": {"asset_key": [key], "code_version": code_version},
        }

    with database.transaction() as session:
        run = create_run(
            session,
            run_id="r",
            location="A",
            asset_keys=[],
            run_config={},
            tags={},
            token="t",
        )
        ingest_events(
            session,
            run,
            [
                materialized(1, "downstream", 10.0, None),
                materialized(2, "report", 11.0, None),
                materialized(3, "upstream", 12.0, "1"),
            ],
        )
    with database.transaction() as session:
        stale = compute_staleness(graph, latest_materializations(session))

    assert stale[K("upstream")] == ()
    assert reasons(stale[K("downstream")]) == [("upstream_newer", K("upstream"))]
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]


def test_cache_recomputes_only_when_graph_or_history_changes(
    graph_of: GraphOf, graph: MergedGraph
) -> None:
    loads: list[int] = []
    history = {"upstream": Latest(1.0, "1"), "downstream": Latest(2.0), "report": Latest(3.0)}

    def load_latest() -> dict[str, Latest]:
        loads.append(1)
        return history

    cache = StalenessCache()
    first = cache.get(graph, 7, load_latest)
    again = cache.get(graph, 7, load_latest)
    same_content = cache.get(graph_of({"A": [upstream], "B": [downstream, report]}), 7, load_latest)
    assert len(loads) == 1
    assert first is again is same_content
    assert first[K("downstream")] == ()

    history = {"upstream": Latest(5.0, "1"), "downstream": Latest(2.0), "report": Latest(3.0)}
    # a new materialization raised the version: recomputed
    newer = cache.get(graph, 8, load_latest)
    assert len(loads) == 2
    assert reasons(newer[K("downstream")]) == [("upstream_newer", K("upstream"))]

    @asset(name="upstream", code_version="2", deps=[K(["raw", "clicks"])])
    def upstream_v2() -> None:
        return None

    changed = graph_of({"A": [upstream_v2], "B": [downstream, report]})
    assert changed.version != graph.version
    cache.get(changed, 8, load_latest)
    assert len(loads) == 3
    cache.get(changed, 8, load_latest)
    assert len(loads) == 3


def test_version_of_history_follows_materializations(database: Database) -> None:
    with database.transaction() as session:
        assert materialization_version(session) == 0
        run = create_run(
            session, run_id="r", location="A", asset_keys=[], run_config={}, tags={}, token="t"
        )
        ingest_events(session, run, [{"seq": 1, "timestamp": 1.0, "type": "LOG"}])
        assert materialization_version(session) == 0
        ingest_events(
            session,
            run,
            [
                {
                    "seq": 2,
                    "timestamp": 2.0,
                    "type": "ASSET_MATERIALIZATION",
                    "materialization": {"asset_key": ["a"]},
                }
            ],
        )
        assert materialization_version(session) > 0
