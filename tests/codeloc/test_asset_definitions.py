"""Defining assets: keys, dependencies, attributes, multi-assets, graph assets, invocation."""

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Config,
    DefinitionError,
    Definitions,
    GroupConflictError,
    MaterializeResult,
    MetadataValue,
    Output,
    RetryPolicy,
    asset,
    build_asset_context,
    graph,
    graph_asset,
    materialize,
    multi_asset,
    op,
)
from codeloc.engine import InMemoryIOManager

# -- AssetKey ----------------------------------------------------------------------------------


def test_asset_key_from_a_string_equals_the_one_segment_list() -> None:
    assert AssetKey("a") == AssetKey(["a"])
    assert hash(AssetKey("a")) == hash(AssetKey(["a"]))
    assert AssetKey("a") != AssetKey(["a", "b"])
    assert AssetKey("a") != "a"


def test_asset_key_user_string() -> None:
    assert AssetKey(["one", "two"]).to_user_string() == "one/two"
    assert AssetKey.from_user_string("one/two") == AssetKey(["one", "two"])
    assert AssetKey.from_coercible("one/two") == AssetKey(["one", "two"])
    assert AssetKey.from_coercible(["x"]) == AssetKey("x")
    assert AssetKey(["one", "two"]).name == "two"
    assert AssetKey("b").with_prefix(["a"]) == AssetKey(["a", "b"])
    assert sorted([AssetKey("b"), AssetKey(["a", "z"]), AssetKey("a")]) == [
        AssetKey("a"),
        AssetKey(["a", "z"]),
        AssetKey("b"),
    ]


def test_asset_key_is_immutable_and_validated() -> None:
    key = AssetKey("a")
    with pytest.raises(AttributeError):
        key.path = ("b",)  # type: ignore[misc]
    with pytest.raises(ValueError, match="at least one segment"):
        AssetKey([])
    with pytest.raises(ValueError, match="non-empty strings"):
        AssetKey(["a", ""])


# -- keys of assets ----------------------------------------------------------------------------


def test_key_is_the_function_name() -> None:
    @asset
    def my_asset():
        return 1

    assert my_asset.key == AssetKey("my_asset")
    assert my_asset.node_name == "my_asset"
    assert isinstance(my_asset, AssetsDefinition)


def test_name_overrides_the_function_name() -> None:
    @asset(name="renamed")
    def my_asset():
        return 1

    assert my_asset.key == AssetKey("renamed")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("warehouse", ["warehouse", "t"]), (["a", "b"], ["a", "b", "t"])],
)
def test_key_prefix_makes_multi_component_keys(
    prefix: str | list[str], expected: list[str]
) -> None:
    @asset(key_prefix=prefix)
    def t():
        return 1

    assert t.key == AssetKey(expected)
    assert t.node_name == "__".join(expected)


def test_key_argument_and_its_conflict_with_name() -> None:
    @asset(key=["x", "y"])
    def whatever():
        return 1

    assert whatever.key == AssetKey(["x", "y"])
    with pytest.raises(DefinitionError, match=r"'oops'.*either key= or name="):

        @asset(key="k", name="n")
        def oops():
            return 1


# -- dependencies ------------------------------------------------------------------------------


def test_deps_take_definitions_keys_strings_and_specs() -> None:
    @asset
    def upstream():
        return 1

    @asset(deps=[upstream, AssetKey(["k", "ey"]), "plain", "a/b", AssetSpec("spec"), ["l", "m"]])
    def downstream():
        return 2

    assert downstream.spec.deps == (
        AssetKey("upstream"),
        AssetKey(["k", "ey"]),
        AssetKey("plain"),
        AssetKey(["a", "b"]),
        AssetKey("spec"),
        AssetKey(["l", "m"]),
    )
    assert downstream.inputs == ()  # order only: no value is passed


def test_deps_order_the_run_but_pass_no_value() -> None:
    ran: list[str] = []

    @asset
    def first():
        ran.append("first")
        return 1

    @asset(deps=["first"])
    def second():
        ran.append("second")
        return 2

    result = materialize([second, first])
    assert ran == ["first", "second"]
    assert result.asset_value("second") == 2


def test_bad_deps_entries_are_refused() -> None:
    with pytest.raises(TypeError, match="deps entries must be"):

        @asset(deps=[42])
        def b():
            return 1


def test_parameters_named_after_upstream_assets_receive_their_values() -> None:
    @asset
    def numbers():
        return [1, 2]

    @asset
    def letters():
        return ["a"]

    @asset
    def combined(numbers, letters, suffix="!"):
        return [*numbers, *letters, suffix]

    assert [(i.param, i.key) for i in combined.inputs] == [
        ("numbers", AssetKey("numbers")),
        ("letters", AssetKey("letters")),
    ]
    # a parameter with a default is not an upstream asset
    assert AssetKey("suffix") not in combined.spec.deps
    result = materialize([numbers, letters, combined])
    assert result.asset_value("combined") == [1, 2, "a", "!"]


def test_ins_maps_parameters_by_key_and_by_prefix() -> None:
    @asset(key=["raw", "events"])
    def events():
        return [3, 4]

    @asset(key_prefix=["raw"])
    def users():
        return ["u"]

    @asset(ins={"e": AssetIn(key=["raw", "events"]), "users": AssetIn(key_prefix="raw")})
    def report(e, users):
        return {"events": e, "users": users}

    assert report.spec.deps == (AssetKey(["raw", "events"]), AssetKey(["raw", "users"]))
    result = materialize([events, users, report])
    assert result.asset_value("report") == {"events": [3, 4], "users": ["u"]}


# -- attributes --------------------------------------------------------------------------------


def test_attributes_default() -> None:
    @asset
    def plain():
        """Rows we care about.

        More detail here.
        """

    spec = plain.spec
    assert spec.group == "default"
    assert spec.group_name is None
    assert spec.description == "Rows we care about.\n\nMore detail here."
    assert spec.code_version is None
    assert spec.metadata == {}
    assert spec.tags == {}
    assert spec.owners == ()
    assert plain.retry_policy is None
    assert plain.io_manager_key_for(plain.key) == "io_manager"
    # the definition still looks like the function
    assert plain.__name__ == "plain"
    assert plain.__doc__ is not None
    assert plain.__doc__.startswith("Rows we care about.")


def test_attributes_given() -> None:
    policy = RetryPolicy(max_retries=2, delay=1.0, backoff=Backoff.LINEAR)

    @asset(
        group_name="sales",
        code_version="v3",
        description="explicit wins over the docstring",
        metadata={"rows": 10, "owner_team": "data", "schema": MetadataValue.json({"a": "int"})},
        tags={"tier": "gold"},
        retry_policy=policy,
        io_manager_key="warehouse",
        owners=["alice@example.com", "team:data"],
    )
    def orders():
        """docstring"""
        return 1

    spec = orders.spec
    assert spec.group == "sales"
    assert spec.code_version == "v3"
    assert spec.description == "explicit wins over the docstring"
    # Read back as given, as in the reference: raw values raw, typed values typed.
    assert spec.metadata["rows"] == 10
    assert spec.metadata["owner_team"] == "data"
    assert spec.metadata["schema"] == MetadataValue.json({"a": "int"})
    assert spec.tags == {"tier": "gold"}
    assert spec.owners == ("alice@example.com", "team:data")
    assert orders.retry_policy is policy
    assert orders.io_manager_key_for(orders.key) == "warehouse"
    assert orders.required_resource_keys == {"warehouse"}

    store = InMemoryIOManager()
    materialize([orders], resources={"warehouse": store})
    assert store.values == {AssetKey("orders"): 1}


def test_tags_must_be_strings() -> None:
    with pytest.raises(DefinitionError, match="asset 'tagged': Tag values must be strings"):

        @asset(tags={"n": 1})  # type: ignore[dict-item]
        def tagged():
            return 1


def test_metadata_values_are_typed() -> None:
    assert MetadataValue.coerce(True) == MetadataValue.bool(True)
    assert MetadataValue.coerce(3) == MetadataValue.int(3)
    assert MetadataValue.coerce(1.5) == MetadataValue.float(1.5)
    assert MetadataValue.coerce("t") == MetadataValue.text("t")
    assert MetadataValue.coerce(None) == MetadataValue.null()
    assert MetadataValue.coerce([1, 2]).kind == "json"
    assert MetadataValue.md("# x").kind == "md"
    assert MetadataValue.url("https://x.test").value == "https://x.test"
    assert MetadataValue.asset(["a", "b"]).value == "a/b"
    with pytest.raises(TypeError, match="not supported"):
        MetadataValue.coerce(object())


# -- direct invocation -------------------------------------------------------------------------


def test_direct_invocation_builds_a_missing_context() -> None:
    @asset
    def with_context(context: AssetExecutionContext, value):
        return (type(context).__name__, value)

    assert with_context(value=3) == ("AssetExecutionContext", 3)
    context = build_asset_context(run_id="r1")
    assert with_context(context, 4) == ("AssetExecutionContext", 4)


def test_direct_invocation_builds_a_default_config() -> None:
    class Limits(Config):
        limit: int = 2

    @asset
    def top(config: Limits, items):
        return items[: config.limit]

    assert top(items=[1, 2, 3]) == [1, 2]
    assert top(items=[1, 2, 3], config=Limits(limit=1)) == [1]


def test_an_external_spec_cannot_be_called() -> None:
    external = AssetsDefinition(node_name="ext", specs=[AssetSpec("ext")], fn=None)
    assert not external.is_executable
    with pytest.raises(DefinitionError, match="defined elsewhere"):
        external()


# -- what an asset may return ------------------------------------------------------------------


def test_output_and_materialize_result() -> None:
    @asset
    def with_output():
        return Output([1, 2], metadata={"n": 2}, tags={"source": "api"})

    @asset
    def self_stored() -> MaterializeResult:
        return MaterializeResult(metadata={"path": MetadataValue.path("/tmp/x")})

    store = InMemoryIOManager()
    result = materialize([with_output, self_stored], resources={"io_manager": store})
    events = {e.asset_key: e for e in result.get_asset_materialization_events()}
    assert events[AssetKey("with_output")].metadata["n"].value == 2
    assert events[AssetKey("with_output")].tags["source"] == "api"
    assert events[AssetKey("self_stored")].metadata["path"].value == "/tmp/x"
    # a MaterializeResult stores nothing through the IO manager
    assert store.values == {AssetKey("with_output"): [1, 2]}


# -- multi-assets ------------------------------------------------------------------------------


def test_multi_asset_with_outs() -> None:
    @asset
    def source():
        return 10

    @multi_asset(
        outs={
            "small": AssetOut(group_name="sizes"),
            "large": AssetOut(key_prefix=["big"], code_version="2", metadata={"x": 1}),
        },
        group_name="fallback",
    )
    def split(source):
        return source - 1, source + 1

    assert split.keys == {AssetKey("small"), AssetKey(["big", "large"])}
    assert split.spec_for(AssetKey("small")).group == "sizes"
    assert split.spec_for(AssetKey(["big", "large"])).group == "fallback"
    assert split.spec_for(AssetKey(["big", "large"])).code_version == "2"
    assert all(s.deps == (AssetKey("source"),) for s in split.specs)
    with pytest.raises(DefinitionError, match=r"use \.keys"):
        _ = split.key

    result = materialize([source, split])
    assert result.asset_value("small") == 9
    assert result.asset_value(["big", "large"]) == 11
    assert result.output_for_node("split", "large") == 11


def test_multi_asset_yielding_outputs_and_specs() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def outputs():
        yield Output(2, output_name="b")
        yield Output(1, output_name="a", metadata={"first": True})

    @multi_asset(specs=[AssetSpec("c"), AssetSpec("d", deps=["c"])])
    def reported():
        yield MaterializeResult(asset_key="c", metadata={"rows": 3})
        yield MaterializeResult(asset_key="d")

    result = materialize([outputs, reported])
    assert (result.asset_value("a"), result.asset_value("b")) == (1, 2)
    events = {e.asset_key: e for e in result.get_asset_materialization_events()}
    assert set(events) == {AssetKey(k) for k in "abcd"}
    assert events[AssetKey("c")].metadata["rows"].value == 3
    assert events[AssetKey("a")].metadata["first"].value is True


def test_multi_asset_needs_outs_or_specs() -> None:
    with pytest.raises(DefinitionError, match="exactly one of outs= or specs="):
        multi_asset()


def test_multi_asset_group_conflict_names_the_asset() -> None:
    with pytest.raises(GroupConflictError, match=r"Group name already exists on assets.*'s1'"):

        @multi_asset(specs=[AssetSpec("s1", group_name="one")], group_name="two")
        def conflicted():
            yield MaterializeResult(asset_key="s1")


def test_multi_asset_that_misses_an_output_fails_its_step() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def half():
        yield Output(1, output_name="a")

    result = materialize([half], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "did not produce b" in failure.message


# -- graph assets ------------------------------------------------------------------------------


@op
def fetch():
    return [3, 1, 2]


@op
def sort_values(values):
    return sorted(values)


@op
def combine(left, right):
    return left + right


@op
def log_size(context, values):
    context.log.info("size %d", len(values))
    return values


def test_graph_asset_runs_its_ops_in_one_step() -> None:
    @asset
    def extra():
        return [9]

    @graph_asset(group_name="graphs", code_version="g1")
    def sorted_values(extra):
        """Sorted, plus extra."""
        return log_size(combine(sort_values(fetch()), extra))

    assert sorted_values.key == AssetKey("sorted_values")
    assert sorted_values.spec.deps == (AssetKey("extra"),)
    assert sorted_values.spec.group == "graphs"
    assert sorted_values.spec.description == "Sorted, plus extra."

    result = materialize([extra, sorted_values])
    assert result.asset_value("sorted_values") == [1, 2, 3, 9]
    steps = [e.step_key for e in result.all_events if e.type == "STEP_START"]
    assert steps == ["extra", "sorted_values"]
    logs = [e for e in result.all_events if e.type == "LOG"]
    assert [e.message for e in logs if e.level == "INFO"] == ["size 4"]
    # each op's start and end is a DEBUG record of the step
    assert [e.message for e in logs if e.level == "DEBUG"][:2] == ["op 'fetch' started"] + [
        m for m in (e.message for e in logs) if m.startswith("op 'fetch' finished")
    ]


def test_graph_definition_as_an_asset_and_ops_called_directly() -> None:
    @graph
    def doubled():
        values = fetch()
        return combine(values, values)

    definition = AssetsDefinition.from_graph(doubled, key_prefix="g")
    assert definition.key == AssetKey(["g", "doubled"])
    result = materialize([definition])
    assert result.asset_value(["g", "doubled"]) == [3, 1, 2, 3, 1, 2]
    # outside a graph, an op is the plain function
    assert sort_values([2, 1]) == [1, 2]


def test_from_graph_takes_the_keywords_of_graph_asset() -> None:
    @asset
    def extra():
        return [9]

    @graph
    def merged(extra):
        return combine(fetch(), extra)

    definition = AssetsDefinition.from_graph(
        merged,
        name="renamed",
        key_prefix=["g"],
        ins={"extra": AssetIn(key="extra")},
        deps=["side"],
        group_name="graphs",
        description="merged values",
        metadata={"rows": 4},
        code_version="v2",
        owners=["team@example.com"],
        tags={"tier": "gold"},
        retry_policy=RetryPolicy(max_retries=2),
    )
    spec = definition.spec
    assert definition.key == AssetKey(["g", "renamed"])
    assert definition.node_name == "g__renamed"
    assert spec.deps == (AssetKey("extra"), AssetKey("side"))
    assert (spec.group, spec.description, spec.code_version) == ("graphs", "merged values", "v2")
    assert spec.metadata["rows"] == 4
    assert (spec.owners, spec.tags) == (("team@example.com",), {"tier": "gold"})
    assert definition.retry_policy == RetryPolicy(max_retries=2)
    side = AssetSpec("side")
    result = materialize([extra, definition, side])
    assert result.asset_value(["g", "renamed"]) == [3, 1, 2, 9]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        AssetsDefinition.from_graph(merged, colour="red")  # type: ignore[call-arg]


def test_a_graph_must_return_an_op_result() -> None:
    with pytest.raises(DefinitionError, match="must return the result of an op call"):

        @graph
        def nothing():
            return 1


# -- AssetSpec and copies ----------------------------------------------------------------------


def test_asset_spec_declares_an_external_asset() -> None:
    spec = AssetSpec(["lake", "raw"], deps=["upstream"], group_name="lake", tags={"a": "b"})
    assert spec.key == AssetKey(["lake", "raw"])
    assert spec.deps == (AssetKey("upstream"),)
    assert AssetSpec("x").group == "default"

    @asset(deps=[spec])
    def refined():
        return 1

    defs = Definitions(assets=[spec, refined])
    assert AssetKey(["lake", "raw"]) in defs.graph.external_keys
    assert AssetKey(["lake", "raw"]) not in defs.graph.all_keys


def test_with_attributes_applies_group_and_prefix() -> None:
    @asset(io_manager_key="store")
    def base():
        return 1

    copy = base.with_attributes(group_name="g", key_prefix=["p"])
    assert copy.key == AssetKey(["p", "base"])
    assert copy.spec.group == "g"
    assert copy.io_manager_key_for(copy.key) == "store"
    assert base.key == AssetKey("base")  # the original is unchanged
    assert base.with_attributes(group_name="g").with_attributes(group_name="g").spec.group == "g"
    with pytest.raises(GroupConflictError, match=r"Group name already exists on assets.*'p/base'"):
        copy.with_attributes(group_name="other")
