"""The merged graph: edges across locations, external keys, conflicts, cycles, selections."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from codeloc import AssetKey, AssetSpec, asset
from codeloc._selection import parse_selection
from codeloc._snapshot import AssetNodeSnap, DepSnap, LocationSnapshot
from server.workspace.graph import MergedGraph

GraphOf = Callable[..., MergedGraph]
K = AssetKey


@asset(group_name="ingest", tags={"tier": "gold"}, code_version="1")
def code_location_1_asset() -> int:
    return 1


@asset(deps=[K("code_location_1_asset")], group_name="reports")
def code_location_2_asset() -> None:
    return None


@asset(deps=[K("code_location_2_asset")], group_name="reports", tags={"tier": "silver"})
def code_location_2_report() -> None:
    return None


@asset(deps=[K(["raw", "events"])], group_name="ingest")
def cleaned_events() -> None:
    return None


@pytest.fixture
def two_locations(graph_of: GraphOf) -> MergedGraph:
    return graph_of(
        {
            "A": [code_location_1_asset, cleaned_events],
            "B": [code_location_2_asset, code_location_2_report],
        }
    )


def test_an_edge_across_locations_is_visible_both_ways(two_locations: MergedGraph) -> None:
    one, two = K("code_location_1_asset"), K("code_location_2_asset")

    assert list(two_locations.parents(two)) == [one]
    assert list(two_locations.children(one)) == [two]
    assert two_locations.location_of(one) == "A"
    assert two_locations.location_of(two) == "B"
    order = two_locations.topological_order
    assert order.index(one) < order.index(two)
    assert two_locations.cycles == []


def test_a_key_defined_nowhere_is_an_external_node(two_locations: MergedGraph) -> None:
    raw = two_locations.get(K(["raw", "events"]))

    assert raw is not None
    assert raw.is_external
    assert raw.location is None
    assert raw.children == [K("cleaned_events")]
    assert raw.parents == []
    assert not two_locations.nodes[K("cleaned_events")].is_external


def test_a_key_declared_by_a_spec_only_is_external(graph_of: GraphOf) -> None:
    graph = graph_of(
        {"A": [code_location_1_asset], "B": [AssetSpec("code_location_1_asset"), AssetSpec("x")]}
    )

    assert not graph.nodes[K("code_location_1_asset")].is_external
    assert graph.nodes[K("code_location_1_asset")].location == "A"
    assert graph.nodes[K("x")].is_external
    assert list(graph.nodes[K("x")].declarations) == ["B"]


def test_a_key_in_two_locations_is_a_conflict(graph_of: GraphOf) -> None:
    @asset(name="shared", code_version="a")
    def shared_a() -> None:
        return None

    @asset(name="shared", code_version="b")
    def shared_b() -> None:
        return None

    graph = graph_of({"B": [shared_b], "A": [shared_a]})

    node = graph.nodes[K("shared")]
    assert node.conflict_locations == ["A", "B"]
    assert {loc: snap.code_version for loc, snap in node.definitions.items()} == {
        "A": "a",
        "B": "b",
    }
    assert graph.nodes[K("shared")].is_external is False


def test_a_key_in_one_location_is_no_conflict(two_locations: MergedGraph) -> None:
    assert all(not node.conflict_locations for node in two_locations.nodes.values())


def test_a_cycle_across_locations_is_reported_on_each_of_its_keys(graph_of: GraphOf) -> None:
    @asset(deps=[K("y")])
    def x() -> None:
        return None

    @asset(deps=[K("x")])
    def y() -> None:
        return None

    @asset(deps=[K("y")])
    def below() -> None:
        return None

    @asset(deps=[K("below")])
    def further_below() -> None:
        return None

    graph = graph_of({"A": [x, below], "B": [y, further_below]})

    (cycle,) = graph.cycles
    assert cycle in ([K("x"), K("y"), K("x")], [K("y"), K("x"), K("y")])
    for key in ("x", "y"):
        cycle = graph.nodes[K(key)].cycle
        assert cycle is not None
        assert set(cycle) == {K("x"), K("y")}
        assert cycle[0] == cycle[-1]
    assert graph.nodes[K("below")].cycle is None
    assert graph.nodes[K("further_below")].cycle is None


def test_every_key_of_two_cycles_sharing_a_key_is_reported(graph_of: GraphOf) -> None:
    # p <-> q and q <-> r: one tangle, two loops; r is on a loop too.
    @asset(deps=[K("q")])
    def p() -> None:
        return None

    @asset(deps=[K("p"), K("r")])
    def q() -> None:
        return None

    @asset(deps=[K("q")])
    def r() -> None:
        return None

    @asset(deps=[K("r")])
    def s() -> None:
        return None

    graph = graph_of({"A": [p, r], "B": [q, s]})

    for key in ("p", "q", "r"):
        cycle = graph.nodes[K(key)].cycle
        assert cycle is not None, key
        assert K(key) in cycle
        assert cycle[0] == cycle[-1]
        # each key of the closed path is a parent of the next
        for a, b in itertools.pairwise(cycle):
            assert b in graph.nodes[a].children
    assert graph.nodes[K("s")].cycle is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("location:A", {"code_location_1_asset", "cleaned_events"}),
        ("location:B", {"code_location_2_asset", "code_location_2_report"}),
        ("+code_location_2_asset", {"code_location_1_asset", "code_location_2_asset"}),
        (
            "code_location_1_asset*",
            {"code_location_1_asset", "code_location_2_asset", "code_location_2_report"},
        ),
        ("code_location_1_asset+", {"code_location_1_asset", "code_location_2_asset"}),
        (
            "*code_location_2_report and not location:B",
            {"code_location_1_asset"},
        ),
        ("group:ingest", {"code_location_1_asset", "cleaned_events"}),
        ("group:reports and location:B", {"code_location_2_asset", "code_location_2_report"}),
        ("tag:tier=gold", {"code_location_1_asset"}),
        ("tag:tier", {"code_location_1_asset", "code_location_2_report"}),
        ("tag:tier=gold+1", {"code_location_1_asset", "code_location_2_asset"}),
        (
            "tag:tier=gold+",
            {"code_location_1_asset", "code_location_2_asset", "code_location_2_report"},
        ),
        ("location:nowhere", set()),
    ],
)
def test_selections_resolve_across_locations(
    two_locations: MergedGraph, expression: str, expected: set[str]
) -> None:
    keys = parse_selection(expression).resolve(two_locations)

    assert {k.to_user_string() for k in keys} == expected


def test_groups_and_tags_come_from_the_defining_location(two_locations: MergedGraph) -> None:
    assert two_locations.groups == {
        "ingest": [K("cleaned_events"), K("code_location_1_asset")],
        "reports": [K("code_location_2_asset"), K("code_location_2_report")],
    }
    assert two_locations.group_of(K(["raw", "events"])) is None
    assert two_locations.tags_of(K("code_location_1_asset")) == {"tier": "gold"}


def test_version_changes_iff_a_snapshot_hash_changes(
    snapshots_of: Callable[..., dict[str, LocationSnapshot]],
) -> None:
    @asset(deps=[K("code_location_1_asset")], code_version="2")
    def code_location_2_asset() -> None:
        return None

    before = snapshots_of({"A": [code_location_1_asset], "B": [code_location_2_report]})
    rebuilt = snapshots_of({"A": [code_location_1_asset], "B": [code_location_2_report]})
    changed = snapshots_of({"A": [code_location_1_asset], "B": [code_location_2_asset]})

    assert MergedGraph(before).version == MergedGraph(rebuilt).version
    assert MergedGraph(before).version != MergedGraph(changed).version
    assert MergedGraph(before).version != MergedGraph({"A": before["A"]}).version
    # Only B changed: A's part of the version is the same.
    assert MergedGraph(before).version.split("+")[0] == MergedGraph(changed).version.split("+")[0]


def test_a_graph_of_100_000_assets_in_10_locations() -> None:
    locations, per_location = 10, 10_000

    def node(loc: int, i: int) -> AssetNodeSnap:
        deps: list[DepSnap] = []
        if i > 0:
            deps.append(DepSnap(K([f"loc{loc}", f"a{i - 1}"]), "data"))
        if loc > 0 and i % 1000 == 0:  # every thousandth asset reads the previous location's
            deps.append(DepSnap(K([f"loc{loc - 1}", f"a{i + 999}"]), "order"))
        return AssetNodeSnap(
            key=K([f"loc{loc}", f"a{i}"]),
            deps=tuple(deps),
            group=f"group{i % 7}",
            node_name=f"loc{loc}__a{i}",
            tags={"shard": str(i % 3)},
        )

    snapshots = {
        f"location_{loc}": LocationSnapshot(
            tuple(node(loc, i) for i in range(per_location)), hash=f"hash{loc}"
        )
        for loc in range(locations)
    }

    graph = MergedGraph(snapshots)

    assert len(graph) == locations * per_location
    assert graph.cycles == []
    assert len(graph.topological_order) == len(graph)
    position = {key: i for i, key in enumerate(graph.topological_order)}
    for key, merged in graph.nodes.items():
        assert all(position[p] < position[key] for p in merged.parents)
    crossing = graph.nodes[K(["loc5", "a3000"])]
    assert crossing.parents == [K(["loc5", "a2999"]), K(["loc4", "a3999"])]
    assert K(["loc5", "a3000"]) in graph.nodes[K(["loc4", "a3999"])].children
    assert crossing.location == "location_5"
    assert not any(n.is_external or n.conflict_locations for n in graph.nodes.values())
    assert sum(len(keys) for keys in graph.groups.values()) == len(graph)
    assert len(parse_selection("location:location_3").resolve(graph)) == per_location
    assert parse_selection("+loc1/a0").resolve(graph) == {K(["loc1", "a0"]), K(["loc0", "a999"])}


@pytest.mark.parametrize("seed", range(20))
def test_cycle_marks_match_reachability(seed: int) -> None:
    # Random graphs over two locations, checked against the definition: a key is on a cycle
    # iff it can reach itself, and every reported loop is a real closed path through it.
    rng = random.Random(seed)
    names = [f"k{i:02d}" for i in range(25)]
    parents = {n: sorted(rng.sample(names, rng.choice([0, 1, 1, 2]))) for n in names}
    location = {n: "AB"[i % 2] for i, n in enumerate(names)}
    snapshots = {
        loc: LocationSnapshot(
            tuple(
                AssetNodeSnap(K(n), tuple(DepSnap(K(p), "data") for p in parents[n]), "g", n)
                for n in names
                if location[n] == loc
            ),
            hash=loc,
        )
        for loc in "AB"
    }
    graph = MergedGraph(snapshots)

    def reaches_itself(start: str) -> bool:
        seen, todo = set(), list(parents[start])
        while todo:
            n = todo.pop()
            if n == start:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(parents[n])
        return False

    for n in names:
        cycle = graph.nodes[K(n)].cycle
        assert (cycle is not None) == reaches_itself(n), n
        if cycle is not None:
            assert K(n) in cycle
            assert cycle[0] == cycle[-1]
            for a, b in itertools.pairwise(cycle):
                assert a in graph.nodes[b].parents
