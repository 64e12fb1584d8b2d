"""From a launch request to planned runs: selection, one run per location, run config."""

from collections.abc import Callable

import pytest

from codeloc import AssetKey, Config, asset
from server.errors import ConfigInvalid, Conflict, InvalidSelection
from server.runs.planning import PlannedRun, plan_runs, resolve_selection, validate_run_config
from server.workspace.graph import MergedGraph

GraphOf = Callable[..., MergedGraph]
K = AssetKey


class Window(Config):
    days: int = 7


class LimitConfig(Config):
    limit: int
    label: str = "rows"
    window: Window = Window()


@asset(group_name="ingest")
def code_location_1_asset() -> int:
    return 1


@asset(group_name="ingest")
def limited(config: LimitConfig) -> int:
    return config.limit


@asset(deps=[K("code_location_1_asset")], group_name="middle")
def between() -> None:
    return None


@asset(deps=[K("between")], group_name="reports")
def code_location_3_asset() -> None:
    return None


@asset(deps=[K("code_location_1_asset")], group_name="reports")
def code_location_3_sibling() -> None:
    return None


@asset(deps=[K(["raw", "orders"])], group_name="ingest")
def orders() -> None:
    return None


@pytest.fixture
def graph(graph_of: GraphOf) -> MergedGraph:
    return graph_of(
        {
            "A": [code_location_1_asset, limited, orders],
            "B": [between],
            "C": [code_location_3_asset, code_location_3_sibling],
        }
    )


def names(keys: set[AssetKey]) -> set[str]:
    return {k.to_user_string() for k in keys}


# -- resolve_selection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("location:B", {"between"}),
        ("+between", {"code_location_1_asset", "between"}),
        ("code_location_1_asset+ and not location:A", {"between", "code_location_3_sibling"}),
        ("group:reports", {"code_location_3_asset", "code_location_3_sibling"}),
        (["limited", ["between"]], {"limited", "between"}),
        (["raw/orders"], {"raw/orders"}),
    ],
)
def test_resolve_selection(
    graph: MergedGraph, selection: str | list[str | list[str]], expected: set[str]
) -> None:
    assert names(resolve_selection(graph, selection)) == expected


def test_a_syntax_error_gives_its_position(graph: MergedGraph) -> None:
    with pytest.raises(InvalidSelection) as raised:
        resolve_selection(graph, "between or @limited")

    assert raised.value.extra == {"position": 11}
    assert "'@'" in raised.value.detail


def test_an_unclosed_parenthesis_gives_its_position(graph: MergedGraph) -> None:
    with pytest.raises(InvalidSelection) as raised:
        resolve_selection(graph, "between and (limited or between")

    assert raised.value.extra == {"position": 12}
    assert "unclosed '('" in raised.value.detail


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("betwen", "did you mean 'between'"),
        (["betwen"], "did you mean 'between'"),
        ("group:nothing", "matches no asset"),
        ([], "the selection is empty"),
        ("", "empty selection expression"),
        ([""], "invalid asset key"),
    ],
)
def test_bad_selections(graph: MergedGraph, selection: str | list[str], message: str) -> None:
    with pytest.raises(InvalidSelection, match=message):
        resolve_selection(graph, selection)


# -- plan_runs -------------------------------------------------------------------------------------


def test_one_run_per_location_in_dependency_order(graph: MergedGraph) -> None:
    keys = resolve_selection(graph, "code_location_1_asset* or limited")

    runs = plan_runs(graph, keys)

    assert [(r.location, r.upstream_locations) for r in runs] == [
        ("A", ()),
        ("B", ("A",)),
        ("C", ("A", "B")),
    ]
    assert [names(set(r.asset_keys)) for r in runs] == [
        {"code_location_1_asset", "limited"},
        {"between"},
        {"code_location_3_asset", "code_location_3_sibling"},
    ]


def test_a_path_through_an_unselected_key_still_orders_the_runs(graph: MergedGraph) -> None:
    keys = resolve_selection(graph, ["code_location_3_asset", "code_location_1_asset"])

    runs = plan_runs(graph, keys)

    assert runs == [
        PlannedRun("A", (K("code_location_1_asset"),), ()),
        PlannedRun("C", (K("code_location_3_asset"),), ("A",)),
    ]


def test_an_unselected_upstream_location_is_no_dependency(graph: MergedGraph) -> None:
    runs = plan_runs(graph, {K("code_location_3_asset")})

    assert runs == [PlannedRun("C", (K("code_location_3_asset"),), ())]


def test_keys_of_one_location_run_in_dependency_order(graph_of: GraphOf) -> None:
    @asset(deps=[K("zz_first")])
    def aa_second() -> None:
        return None

    @asset
    def zz_first() -> None:
        return None

    graph = graph_of({"A": [aa_second, zz_first]})

    (run,) = plan_runs(graph, {K("aa_second"), K("zz_first")})

    assert run.asset_keys == (K("zz_first"), K("aa_second"))


def test_a_key_of_two_locations_is_a_conflict_naming_both(graph_of: GraphOf) -> None:
    @asset(name="shared")
    def shared_in_a() -> None:
        return None

    @asset(name="shared")
    def shared_in_b() -> None:
        return None

    graph = graph_of({"loc_b": [shared_in_b], "loc_a": [shared_in_a, code_location_1_asset]})

    with pytest.raises(Conflict) as raised:
        plan_runs(graph, resolve_selection(graph, ["shared", "code_location_1_asset"]))

    assert "'loc_a' and 'loc_b'" in raised.value.detail
    assert "'shared'" in raised.value.detail
    assert raised.value.extra == {"locations": ["loc_a", "loc_b"]}


def test_an_external_key_cannot_be_launched(graph: MergedGraph) -> None:
    keys = resolve_selection(graph, ["raw/orders", "orders"])

    with pytest.raises(InvalidSelection, match="'raw/orders' is external"):
        plan_runs(graph, keys)


def test_back_and_forth_between_locations_is_a_conflict(graph_of: GraphOf) -> None:
    @asset(deps=[K("code_location_1_asset")])
    def in_b() -> None:
        return None

    @asset(deps=[K("in_b")])
    def back_in_a() -> None:
        return None

    graph = graph_of({"A": [code_location_1_asset, back_in_a], "B": [in_b]})
    keys = resolve_selection(graph, "code_location_1_asset*")
    assert names(keys) == {"code_location_1_asset", "in_b", "back_in_a"}

    with pytest.raises(Conflict, match=r"back and forth between locations \['A', 'B'\]"):
        plan_runs(graph, keys)
    # Without the way back, the same graph plans fine.
    assert [r.location for r in plan_runs(graph, keys - {K("back_in_a")})] == ["A", "B"]


def test_a_cycle_across_locations_cannot_be_launched(graph_of: GraphOf) -> None:
    @asset(deps=[K("y")])
    def x() -> None:
        return None

    @asset(deps=[K("x")])
    def y() -> None:
        return None

    graph = graph_of({"A": [x], "B": [y]})

    with pytest.raises(Conflict, match="dependency cycle"):
        plan_runs(graph, {K("x")})


# -- validate_run_config ---------------------------------------------------------------------------


def config_for(value: object) -> dict[str, object]:
    return {"ops": {"limited": {"config": value}}}


def test_config_schema_comes_from_the_config_class(graph: MergedGraph) -> None:
    node = graph.nodes[K("limited")].node
    assert node is not None
    schema = node.config_schema

    assert schema is not None
    assert schema["required"] == ["limit"]
    assert set(schema["properties"]) == {"limit", "label", "window"}


@pytest.mark.parametrize(
    "run_config",
    [
        config_for({"limit": 3}),
        config_for({"limit": 3, "label": "x", "window": {"days": 2}}),
        {"ops": {"limited": {"config": {"limit": 1}}}, "resources": {}},
    ],
)
def test_valid_config(graph: MergedGraph, run_config: dict[str, object]) -> None:
    validate_run_config(graph, {K("limited"), K("between")}, run_config)


def test_a_bad_value_names_the_asset_and_the_field(graph: MergedGraph) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("limited")}, config_for({"limit": "many"}))

    assert raised.value.extra == {"asset": "limited", "field": "limit"}
    assert "asset 'limited'" in raised.value.detail
    assert "field 'limit'" in raised.value.detail


def test_a_bad_nested_value_names_the_path(graph: MergedGraph) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(
            graph, {K("limited")}, config_for({"limit": 1, "window": {"days": "x"}})
        )

    assert raised.value.extra["field"] == "window.days"


def test_a_missing_nested_field_is_named(graph_of: GraphOf) -> None:
    class Inner(Config):
        size: int

    class Outer(Config):
        inner: Inner

    @asset
    def nested(config: Outer) -> int:
        return config.inner.size

    graph = graph_of({"A": [nested]})
    run_config = {"ops": {"nested": {"config": {"inner": {}}}}}

    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("nested")}, run_config)

    assert raised.value.extra == {"asset": "nested", "field": "inner.size"}


def test_a_missing_required_field_is_named(graph: MergedGraph) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("limited")}, config_for({"label": "x"}))

    assert raised.value.extra == {"asset": "limited", "field": "limit"}
    assert "'limit' is a required property" in raised.value.detail


def test_no_config_at_all_for_an_asset_that_needs_some(graph: MergedGraph) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("limited"), K("between")}, {})

    assert raised.value.extra["field"] == "limit"


def test_an_unknown_field_is_named(graph: MergedGraph) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("limited")}, config_for({"limit": 1, "limt": 2}))

    assert raised.value.extra == {"asset": "limited", "field": "limt"}


def test_an_entry_for_an_unselected_op_is_refused(graph: MergedGraph) -> None:
    run_config = {"ops": {"limited": {"config": {"limit": 1}}, "nope": {"config": {}}}}

    with pytest.raises(ConfigInvalid, match="'nope', which is not among the selected") as raised:
        validate_run_config(graph, {K("limited")}, run_config)

    assert raised.value.extra == {"field": "ops.nope"}


@pytest.mark.parametrize(
    ("run_config", "field"),
    [
        ({"opz": {}}, "opz"),
        ({"ops": ["limited"]}, "ops"),
        ({"ops": {"limited": 5}}, "ops.limited"),
    ],
)
def test_malformed_run_config(
    graph: MergedGraph, run_config: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {K("limited")}, run_config)

    assert raised.value.extra["field"] == field


def test_lineage_leaves_out_external_assets(
    graph_of: Callable[..., MergedGraph],
) -> None:
    @asset(deps=[AssetKey("warehouse_table")])
    def reads_table() -> None: ...

    graph = graph_of({"a": [reads_table]})
    assert resolve_selection(graph, "+reads_table") == {AssetKey("reads_table")}
    with pytest.raises(InvalidSelection, match="external"):
        plan_runs(graph, resolve_selection(graph, [["warehouse_table"]]))
