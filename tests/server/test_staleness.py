"""Staleness across locations: missing, code version, upstream newer or stale, external, cache."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from codeloc import AssetKey, asset
from codeloc._wire import event_from_json
from server.storage.db import Database
from server.storage.events import (
    ingest_batch,
    ingest_events,
    latest_materializations,
    latest_versions,
    latest_versions_since,
    materialization_version,
)
from server.storage.runs import create_run
from server.workspace import staleness as staleness_module
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
    stale = compute_staleness(graph, {K("upstream"): Latest(10.0, "1")})

    assert reasons(stale[K("downstream")]) == [("missing", None)]
    assert reasons(stale[K("report")]) == [("missing", None)]
    assert stale[K("upstream")] == ()


def test_everything_fresh(graph: MergedGraph) -> None:
    latest = {
        K("upstream"): Latest(1.0, "1"),
        K("downstream"): Latest(2.0),
        K("report"): Latest(3.0),
    }

    stale = compute_staleness(graph, latest)

    assert all(causes == () for causes in stale.values())
    assert set(stale) == set(graph.nodes)


def test_changed_code_version(graph: MergedGraph) -> None:
    latest = {
        K("upstream"): Latest(1.0, "0"),
        K("downstream"): Latest(2.0),
        K("report"): Latest(3.0),
    }

    stale = compute_staleness(graph, latest)

    (cause,) = stale[K("upstream")]
    assert cause.reason == "code_version"
    assert "from '0' to '1'" in cause.message
    # and what depends on it, in the other location, is stale because of it
    assert reasons(stale[K("downstream")]) == [("upstream_stale", K("upstream"))]
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]


def test_an_asset_without_a_code_version_is_not_stale_by_code(graph: MergedGraph) -> None:
    latest = {
        K("upstream"): Latest(1.0, "1"),
        K("downstream"): Latest(2.0, "anything"),
        K("report"): Latest(3.0),
    }

    assert compute_staleness(graph, latest)[K("downstream")] == ()


def test_upstream_in_another_location_materialized_later(graph: MergedGraph) -> None:
    latest = {
        K("upstream"): Latest(5.0, "1"),
        K("downstream"): Latest(2.0),
        K("report"): Latest(3.0),
    }

    stale = compute_staleness(graph, latest)

    assert reasons(stale[K("downstream")]) == [("upstream_newer", K("upstream"))]
    assert "upstream 'upstream'" in stale[K("downstream")][0].message
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]
    assert stale[K("upstream")] == ()


def test_upstream_missing_makes_downstream_stale(graph: MergedGraph) -> None:
    stale = compute_staleness(graph, {K("downstream"): Latest(2.0), K("report"): Latest(3.0)})

    assert reasons(stale[K("upstream")]) == [("missing", None)]
    assert reasons(stale[K("downstream")]) == [("upstream_stale", K("upstream"))]


def test_external_assets_are_never_stale(graph: MergedGraph) -> None:
    raw = K(["raw", "clicks"])
    assert graph.nodes[raw].is_external

    never = compute_staleness(graph, {K("upstream"): Latest(1.0, "1")})
    # even when it reports a materialization newer than its child's
    later = compute_staleness(graph, {raw: Latest(9.0), K("upstream"): Latest(1.0, "1")})

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
                event_from_json(materialized(1, "downstream", 10.0, None)),
                event_from_json(materialized(2, "report", 11.0, None)),
                event_from_json(materialized(3, "upstream", 12.0, "1")),
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
    history = {
        K("upstream"): Latest(1.0, "1"),
        K("downstream"): Latest(2.0),
        K("report"): Latest(3.0),
    }

    def load_latest() -> dict[AssetKey, Latest]:
        loads.append(1)
        return history

    cache = StalenessCache()
    first = cache.get(graph, 7, load_latest)
    again = cache.get(graph, 7, load_latest)
    same_content = cache.get(graph_of({"A": [upstream], "B": [downstream, report]}), 7, load_latest)
    assert len(loads) == 1
    assert first is again is same_content
    assert first[K("downstream")] == ()

    history = {
        K("upstream"): Latest(5.0, "1"),
        K("downstream"): Latest(2.0),
        K("report"): Latest(3.0),
    }
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
        ingest_events(session, run, [event_from_json({"seq": 1, "timestamp": 1.0, "type": "LOG"})])
        assert materialization_version(session) == 0
        ingest_events(
            session,
            run,
            [
                event_from_json(
                    {
                        "seq": 2,
                        "timestamp": 2.0,
                        "type": "ASSET_MATERIALIZATION",
                        "materialization": {"asset_key": ["a"]},
                    }
                )
            ],
        )
        assert materialization_version(session) > 0


# -- incremental ---------------------------------------------------------------------------------


class History:
    """Latest materializations with ids, as the storage functions give them."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, Latest]] = []
        self.full_loads = 0
        self.since: list[int] = []

    def add(self, key: str, latest: Latest, mat_id: int | None = None) -> int:
        mat_id = mat_id if mat_id is not None else self.version + 1
        self.rows.append((mat_id, key, latest))
        return mat_id

    @property
    def version(self) -> int:
        return max((i for i, _, _ in self.rows), default=0)

    def latest(self) -> dict[AssetKey, Latest]:
        out: dict[AssetKey, Latest] = {}
        for _, name, row in sorted(self.rows, key=lambda r: r[0]):
            key = K(name)
            if key not in out or row.timestamp >= out[key].timestamp:
                out[key] = row
        return out

    def load_latest(self) -> dict[AssetKey, Latest]:
        self.full_loads += 1
        return self.latest()

    def load_since(self, after: int) -> dict[AssetKey, Latest]:
        self.since.append(after)
        keys = {K(name) for i, name, _ in self.rows if i > after}
        return {k: v for k, v in self.latest().items() if k in keys}

    def get(self, cache: StalenessCache, graph: MergedGraph) -> tuple[int, dict]:
        return cache.current(graph, self.version, self.load_latest, self.load_since)


def test_a_new_materialization_is_applied_without_reading_the_whole_history(
    graph: MergedGraph,
) -> None:
    history = History()
    cache = StalenessCache()
    steps = [
        ("upstream", Latest(1.0, "1")),
        ("downstream", Latest(2.0)),
        ("report", Latest(3.0)),
        ("upstream", Latest(4.0, "1")),  # downstream and report go stale
        ("downstream", Latest(5.0)),  # report stays stale: its upstream is newer now
        ("report", Latest(6.0)),
        ("upstream", Latest(7.0, "0")),  # code version no longer the definition's
    ]
    generations = []
    for key, row in steps:
        history.add(key, row)
        generation, stale = history.get(cache, graph)
        assert stale == compute_staleness(graph, history.latest()), (key, row)
        generations.append(generation)
    assert history.full_loads == 1
    assert len(set(generations)) == len(steps)
    assert reasons(stale[K("upstream")]) == [("code_version", None)]
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]


def test_an_unchanged_history_keeps_the_same_result(graph: MergedGraph) -> None:
    history = History()
    cache = StalenessCache()
    history.add("upstream", Latest(1.0, "1"))
    first = history.get(cache, graph)
    # The same key materialized again with an older timestamp: the latest row stays.
    history.add("upstream", Latest(0.5, "1"))
    second = history.get(cache, graph)
    assert second[0] == first[0]
    assert second[1] is first[1]


def test_a_late_commit_below_the_newest_id_is_picked_up(
    graph: MergedGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staleness_module, "RECHECK_SECONDS", 0.0)
    history = History()
    cache = StalenessCache()
    history.add("upstream", Latest(1.0, "1"), mat_id=1)
    history.add("report", Latest(3.0), mat_id=3)
    _, before = history.get(cache, graph)
    assert reasons(before[K("downstream")]) == [("missing", None)]

    # Id 2 was taken before id 3 but committed after it was read: the version stays 3.
    history.add("downstream", Latest(2.0), mat_id=2)
    assert history.version == 3
    _, after = history.get(cache, graph)
    assert after[K("downstream")] == ()
    assert after[K("report")] == ()
    assert history.full_loads == 1


def test_a_new_graph_keeps_the_history_it_read(graph_of: GraphOf, graph: MergedGraph) -> None:
    history = History()
    cache = StalenessCache()
    history.add("upstream", Latest(1.0, "1"))
    history.add("downstream", Latest(2.0))
    history.get(cache, graph)

    @asset(name="upstream", code_version="2", deps=[K(["raw", "clicks"])])
    def upstream_v2() -> None:
        return None

    changed = graph_of({"A": [upstream_v2], "B": [downstream, report]})
    history.add("report", Latest(3.0))
    _, stale = history.get(cache, changed)
    assert history.full_loads == 1
    assert stale == compute_staleness(changed, history.latest())
    assert reasons(stale[K("upstream")]) == [("code_version", None)]
    assert reasons(stale[K("report")]) == [("upstream_stale", K("downstream"))]


def test_too_many_new_materializations_read_the_whole_history(graph: MergedGraph) -> None:
    history = History()
    cache = StalenessCache()
    history.add("upstream", Latest(1.0, "1"))
    history.get(cache, graph)
    history.add("downstream", Latest(2.0))
    cache.current(graph, history.version, history.load_latest, lambda _after: None)
    assert history.full_loads == 2
    assert cache.get(graph, history.version, history.load_latest)[K("downstream")] == ()


def test_incremental_staleness_follows_stored_materializations(
    graph: MergedGraph, database: Database
) -> None:
    cache = StalenessCache()

    def current() -> dict:
        with database.transaction() as session:
            return cache.current(
                graph,
                materialization_version(session),
                lambda: latest_versions(session),
                lambda after: latest_versions_since(session, after),
            )[1]

    with database.transaction() as session:
        create_run(
            session,
            run_id="r",
            location="A",
            asset_keys=[K("upstream"), K("downstream")],
            run_config={},
            tags={},
            token="t",
        )
    assert reasons(current()[K("downstream")]) == [("missing", None)]
    for seq, (key, ts) in enumerate([("upstream", 1.0), ("downstream", 2.0), ("upstream", 3.0)]):
        ingest_batch(
            database,
            "r",
            "t",
            [
                event_from_json(
                    {
                        "seq": seq + 1,
                        "timestamp": ts,
                        "type": "ASSET_MATERIALIZATION",
                        "materialization": {"asset_key": [key], "code_version": "1"},
                    }
                )
            ],
        )
        with database.transaction() as session:
            assert current() == compute_staleness(graph, latest_versions(session))
    assert reasons(current()[K("downstream")]) == [("upstream_newer", K("upstream"))]


def test_latest_versions_since(database: Database) -> None:
    with database.transaction() as session:
        create_run(
            session,
            run_id="r",
            location="A",
            asset_keys=[K("a"), K("b"), K("c")],
            run_config={},
            tags={},
            token="t",
        )
    events = [
        {
            "seq": i + 1,
            "timestamp": float(i),
            "type": "ASSET_MATERIALIZATION",
            "materialization": {"asset_key": [key], "code_version": "1"},
        }
        for i, key in enumerate(["a", "b", "a", "c"])
    ]
    ingest_batch(database, "r", "t", [event_from_json(e) for e in events])
    with database.transaction() as session:
        assert set(latest_versions_since(session, 0) or {}) == {K("a"), K("b"), K("c")}
        since_two = latest_versions_since(session, 2)
        assert since_two is not None
        assert set(since_two) == {K("a"), K("c")}
        assert since_two[K("a")].timestamp == 2.0
        assert latest_versions_since(session, 4) == {}
        assert latest_versions_since(session, 0, limit=3) is None
        assert latest_versions_since(session, 1, limit=3) is not None


def test_incremental_staleness_equals_a_full_judgement_on_a_random_graph(
    graph_of: GraphOf,
) -> None:
    rng = random.Random(7)
    names = [f"a{i}" for i in range(60)]
    locations: dict[str, list] = {"A": [], "B": [], "C": []}
    for i, name in enumerate(names):
        ups = rng.sample(names[:i], k=min(i, rng.randint(0, 3)))
        version = rng.choice([None, "1"])
        spec = asset(name=name, code_version=version, deps=[K(u) for u in ups])(lambda: None)
        locations[rng.choice("ABC")].append(spec)
    graph = graph_of(locations)
    history = History()
    cache = StalenessCache()
    for step in range(300):
        name = rng.choice(names)
        history.add(name, Latest(float(rng.randint(0, 400)), rng.choice(["1", "2"])))
        _, stale = history.get(cache, graph)
        assert stale == compute_staleness(graph, history.latest()), step
    assert history.full_loads == 1
