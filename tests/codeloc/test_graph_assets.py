"""Graph-backed assets, as the reference documents them: ops with ``In`` / ``Out``, graphs
(nested too), ``graph_asset`` / ``graph_multi_asset`` and ``AssetsDefinition.from_op`` /
``from_graph``; a graph with a dangling op is refused when it is defined."""

from __future__ import annotations

from typing import Any

import pytest

from codeloc import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Config,
    ConfigInvalid,
    ConfigMapping,
    DefinitionError,
    GraphOut,
    In,
    Out,
    Output,
    RetryPolicy,
    RetryRequested,
    TesseraError,
    asset,
    graph,
    graph_asset,
    graph_multi_asset,
    materialize,
    op,
)


@op
def fetch() -> list[int]:
    return [3, 1, 2]


@op
def total(xs: list[int]) -> int:
    return sum(xs)


@op(config_schema={"k": int})
def scale(context: Any, x: int) -> int:
    return x * context.op_config["k"]


@op(out={"low": Out(int), "high": Out(int)})
def split(xs: list[int]) -> tuple[int, int]:
    return min(xs), max(xs)


@asset
def numbers() -> list[int]:
    return [5, 7]


def failure_of(result: Any) -> str:
    (failure,) = result.get_step_failure_events()
    return str(failure.error or failure.message)


# -- definition ----------------------------------------------------------------------------------


def test_graph_asset_takes_key_kinds_and_the_asset_keywords() -> None:
    @graph_asset(key=["lake", "sum"], kinds=["python"], owners=["team:data"], tags={"t": "v"})
    def summed():
        return total(fetch())

    @graph_asset(key_prefix="p", name="nm", code_version="1", metadata={"rows": 3})
    def other():
        """Doc of the graph."""
        return total(fetch())

    assert summed.key == AssetKey(["lake", "sum"])
    assert summed.node_name == "lake__sum"
    assert summed.spec.tags == {"t": "v", "dagster/kind/python": ""}
    assert summed.spec.kinds == {"python"}
    assert summed.spec.owners == ("team:data",)
    assert other.key == AssetKey(["p", "nm"])
    assert (other.spec.code_version, other.spec.description) == ("1", "Doc of the graph.")
    assert other.spec.metadata["rows"] == 3
    with pytest.raises(DefinitionError, match="either key= or name=/key_prefix="):
        graph_asset(key="a", key_prefix="x")(lambda: total(fetch()))


def test_a_dangling_op_is_refused_naming_the_graph_and_the_op() -> None:
    with pytest.raises(DefinitionError, match="graph 'side': op 'fetch' is dangling"):

        @graph_asset
        def side():
            fetch()
            return total(fetch())

    with pytest.raises(DefinitionError, match="graph 'g' has input 'up' that feeds no op"):

        @graph
        def g(up):
            return total(fetch())

    with pytest.raises(DefinitionError, match="op 'total': input 'xs' is connected to nothing"):

        @graph_asset
        def unconnected():
            return total()

    with pytest.raises(DefinitionError, match="input 'xs' got \\[1, 2\\]"):

        @graph_asset
        def constant():
            return total([1, 2])

    with pytest.raises(DefinitionError, match="input 'xs' got every output of a call"):

        @graph_asset
        def whole():
            return total(split(fetch()))

    with pytest.raises(DefinitionError, match="graph 'nothing' returns nothing"):

        @graph_asset
        def nothing():
            total(fetch())


def test_an_input_with_a_default_may_be_left_unconnected() -> None:
    @op(ins={"xs": In(default_value=[4, 5], description="values")})
    def total_or_default(xs):
        return sum(xs)

    @graph_asset
    def defaulted():
        return total_or_default()

    assert materialize([defaulted]).asset_value("defaulted") == 9
    assert total_or_default.ins["xs"].description == "values"


# -- execution -----------------------------------------------------------------------------------


def test_ops_with_several_outputs_and_calls_of_one_op_twice() -> None:
    @op
    def diff(high: int, low: int) -> int:
        return high - low

    @op
    def combine(a: int, b: int) -> list[int]:
        return [a, b]

    @graph_asset
    def spread(numbers):
        low, high = split(numbers)
        both = split(fetch())  # the second call is named split_2
        return total.alias("sum_all")(combine(diff(high, low), both.high))

    result = materialize([numbers, spread])
    assert result.asset_value("spread") == (7 - 5) + 3
    started = [e.message for e in result.all_events if e.message.endswith("started")]
    assert started == [
        "op 'split' started",
        "op 'fetch' started",
        "op 'split_2' started",
        "op 'diff' started",
        "op 'combine' started",
        "op 'sum_all' started",
    ]


def test_an_op_yielding_outputs_and_an_optional_output_left_out() -> None:
    @op(out={"kept": Out(), "maybe": Out(is_required=False)})
    def partial():
        yield Output(10, output_name="kept", metadata={"n": 1})

    calls: list[str] = []

    @op
    def after(x):
        calls.append("after")
        return x + 1

    @graph_multi_asset(outs={"kept": AssetOut(), "maybe": AssetOut(is_required=False)})
    def pair():
        kept, maybe = partial()
        return {"kept": kept, "maybe": after(maybe)}

    result = materialize([pair])
    assert result.asset_value("kept") == 10
    assert calls == []  # downstream of an output not produced: skipped
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == AssetKey("kept")
    assert event.metadata["n"].value == 1


def test_types_of_inputs_and_outputs_are_checked() -> None:
    @op(out=Out(int))
    def gives_text():
        return "x"

    @op(ins={"x": In(int)})
    def wants_int(x):
        return x

    @op
    def annotated() -> str:
        return 3  # type: ignore[return-value]

    @graph_asset
    def bad_out():
        return gives_text()

    @graph_asset
    def bad_in():
        return wants_int(fetch())

    @graph_asset
    def bad_annotation():
        return annotated()

    for definition, message in [
        (bad_out, "op 'gives_text' output 'result' must be int, got str ('x')"),
        (bad_in, "op 'wants_int' input 'x' must be int, got list"),
        (bad_annotation, "op 'annotated' output 'result' must be str, got int"),
    ]:
        result = materialize([definition], raise_on_error=False)
        assert not result.success
        assert message in failure_of(result)


def test_nested_graphs_and_op_config_from_run_config() -> None:
    @graph
    def inner(xs):
        return scale(total(xs))

    @graph_asset
    def nested():
        return inner(fetch())

    run_config = {"ops": {"nested": {"ops": {"inner": {"ops": {"scale": {"config": {"k": 10}}}}}}}}
    result = materialize([nested], run_config=run_config)
    assert result.asset_value("nested") == 60
    started = [e.message for e in result.all_events if e.message.endswith("started")]
    assert started == ["op 'fetch' started", "op 'inner.total' started", "op 'inner.scale' started"]

    # checked before any step runs, naming the op and the field
    for bad, field in [
        ({"k": "10"}, "field 'k': expected an int"),
        ({}, "field 'k': field required"),
    ]:
        config = {"ops": {"nested": {"ops": {"inner": {"ops": {"scale": {"config": bad}}}}}}}
        with pytest.raises(ConfigInvalid, match=f"'nested', op 'inner.scale' is invalid: {field}"):
            materialize([nested], run_config=config)


def test_graph_asset_config_is_fixed_config_or_a_config_mapping() -> None:
    @graph_asset(config={"scale": {"config": {"k": 3}}})
    def fixed():
        return scale(total(fetch()))

    # as in the reference, fixed config wins over whatever the run config says
    assert materialize([fixed]).asset_value("fixed") == 18
    other = {"ops": {"fixed": {"config": {"scale": {"config": {"k": 5}}}}}}
    assert materialize([fixed], run_config=other).asset_value("fixed") == 18

    with pytest.raises(DefinitionError, match="graph 'wrong': config= does not fit its ops"):

        @graph_asset(config={"scale": {"config": {"k": "three"}}})
        def wrong():
            return scale(total(fetch()))

    mapping = ConfigMapping(
        config_fn=lambda c: {"scale": {"config": {"k": c["factor"] * 2}}},
        config_schema={"factor": int},
    )

    @graph_asset(config=mapping)
    def mapped():
        return scale(total(fetch()))

    config = {"ops": {"mapped": {"config": {"factor": 2}}}}
    assert materialize([mapped], run_config=config).asset_value("mapped") == 24
    with pytest.raises(ConfigInvalid, match="field 'factor': expected an int"):
        materialize([mapped], run_config={"ops": {"mapped": {"config": {"factor": "2"}}}})


def test_an_op_retry_policy_retries_that_op_only(retry_delays: list[float]) -> None:
    attempts: list[int] = []
    fetched: list[int] = []

    @op
    def counted():
        fetched.append(1)
        return 1

    @op(retry_policy=RetryPolicy(max_retries=2, delay=1))
    def flaky(x):
        attempts.append(x)
        if len(attempts) < 3:
            raise ValueError("flake")
        return len(attempts)

    @graph_asset
    def retried():
        return flaky(counted())

    result = materialize([retried])
    assert result.asset_value("retried") == 3
    assert (len(fetched), retry_delays) == (1, [1.0, 1.0])
    warnings = [e.message for e in result.all_events if e.level == "WARNING"]
    assert warnings == [
        "op 'flaky' failed (ValueError: flake); retry 1 of 2 in 0.001s",
        "op 'flaky' failed (ValueError: flake); retry 2 of 2 in 0.001s",
    ]

    @op
    def asks_again():
        raise RetryRequested(max_retries=1) from KeyError("busy")

    @graph_asset
    def gives_up():
        return asks_again()

    result = materialize([gives_up], raise_on_error=False)
    assert "op 'asks_again' exceeded max_retries of 1 (KeyError: 'busy')" in failure_of(result)


def test_graph_multi_asset_subsets_run_only_the_ops_they_need() -> None:
    ran: list[str] = []

    @op
    def one():
        ran.append("one")
        return 1

    @op
    def two():
        ran.append("two")
        return 2

    @graph_multi_asset(outs={"x": AssetOut(), "y": AssetOut(key_prefix="p")}, can_subset=True)
    def both():
        return {"x": one(), "y": two()}

    assert both.keys == {AssetKey("x"), AssetKey(["p", "y"])}
    result = materialize([both], selection=["x"])
    assert ran == ["one"]
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [AssetKey("x")]

    with pytest.raises(DefinitionError, match="does not return its output 'y'"):

        @graph_multi_asset(outs={"x": AssetOut(), "y": AssetOut()})
        def half():
            return {"x": one()}


# -- from_op / from_graph ------------------------------------------------------------------------


def test_from_op_maps_inputs_and_outputs_to_keys() -> None:
    @op(
        ins={"x": In(description="the input")},
        out=Out(description="one more", metadata={"q": 2}, io_manager_key="io_manager"),
    )
    def plus_one(x):
        return x + 1

    @asset
    def up():
        return 1

    definition = AssetsDefinition.from_op(
        plus_one,
        keys_by_input_name={"x": AssetKey("up")},
        keys_by_output_name={"result": AssetKey(["p", "down"])},
        group_name="ops",
    )
    assert definition.key == AssetKey(["p", "down"])
    assert definition.node_name == "plus_one"
    assert definition.spec.deps == (AssetKey("up"),)
    assert (definition.spec.group, definition.spec.description) == ("ops", "one more")
    assert definition.spec.metadata["q"] == 2
    assert materialize([up, definition]).asset_value(["p", "down"]) == 2

    default = AssetsDefinition.from_op(plus_one, key_prefix="p")
    assert (default.key, default.spec.deps) == (AssetKey(["p", "plus_one"]), (AssetKey("x"),))

    with pytest.raises(DefinitionError, match=r"keys_by_input_name names \['nope'\]"):
        AssetsDefinition.from_op(plus_one, keys_by_input_name={"nope": AssetKey("z")})


def test_from_op_reads_its_config_from_its_own_entry() -> None:
    @op(config_schema={"k": int})
    def constant(context):
        return context.op_config["k"]

    definition = AssetsDefinition.from_op(constant)
    result = materialize([definition], run_config={"ops": {"constant": {"config": {"k": 7}}}})
    assert result.asset_value("constant") == 7


def test_from_graph_with_several_outputs() -> None:
    @graph(out={"low": GraphOut(description="smallest"), "high": GraphOut()})
    def bounds(xs):
        low, high = split(xs)
        return {"low": low, "high": high}

    definition = AssetsDefinition.from_graph(
        bounds,
        keys_by_input_name={"xs": AssetKey("numbers")},
        keys_by_output_name={"low": AssetKey("lo"), "high": AssetKey("hi")},
        group_name="bounds",
    )
    assert definition.keys == {AssetKey("lo"), AssetKey("hi")}
    assert definition.node_name == "bounds"  # run config names the graph, as in the reference
    assert definition.spec_for(AssetKey("lo")).description == "smallest"
    assert {s.group for s in definition.specs} == {"bounds"}
    result = materialize([numbers, definition])
    assert (result.asset_value("lo"), result.asset_value("hi")) == (5, 7)


def test_graph_asset_ins_map_parameters_to_other_keys() -> None:
    @graph_asset(ins={"values": AssetIn(key="numbers")})
    def summed(values):
        return total(values)

    assert summed.spec.deps == (AssetKey("numbers"),)
    assert materialize([numbers, summed]).asset_value("summed") == 12


def test_ops_reach_resources_they_declare() -> None:
    from codeloc import ResourceDefinition

    @op(required_resource_keys={"base"})
    def based(context):
        return context.resources.base + 1

    @graph_asset(resource_defs={"base": ResourceDefinition.hardcoded_resource(41)})
    def answer():
        return based()

    assert "base" in answer.required_resource_keys
    assert materialize([answer]).asset_value("answer") == 42


def test_an_op_called_outside_a_graph_is_the_function() -> None:
    assert total([1, 2]) == 3
    assert split([4, 2, 9]) == (2, 9)

    @graph
    def bounds(xs):
        return total(xs)

    with pytest.raises(DefinitionError, match="graph 'bounds' can only be called inside"):
        bounds([1])


def test_a_prefixed_copy_reads_its_ops_config_under_its_new_name() -> None:
    @graph_asset
    def scaled_sum(numbers):
        return scale(total(numbers))

    moved = {AssetKey("numbers"): AssetKey(["p", "numbers"])}
    prefixed = scaled_sum.with_attributes(key_prefix="p", upstream_renames=moved)
    upstream = numbers.with_attributes(key_prefix="p")
    assert prefixed.node_name == "p__scaled_sum"
    config = {"ops": {"p__scaled_sum": {"ops": {"scale": {"config": {"k": 2}}}}}}
    result = materialize([upstream, prefixed], run_config=config)
    assert result.asset_value(["p", "scaled_sum"]) == 24


def test_a_graph_asset_called_directly_runs_its_ops() -> None:
    @graph_asset
    def summed(numbers):
        return total(numbers)

    assert summed(numbers=[1, 2, 3]) == 6


def test_a_graph_asset_whose_last_op_is_skipped_is_not_materialized() -> None:
    @op(out=Out(is_required=False))
    def maybe():
        if False:
            yield Output(1)

    @op
    def inc(x):
        return x + 1

    @graph_asset
    def sometimes():
        return inc(maybe())

    assert sometimes.spec.skippable
    result = materialize([sometimes])
    assert result.success
    assert result.get_asset_materialization_events() == []
    skipped = [e.message for e in result.all_events if "skipped" in e.message]
    assert skipped == ["op 'inc' skipped: its input 'x' was not produced"]


def test_op_config_schemas_nest_and_take_lists() -> None:
    @op(config_schema={"db": {"table": str}, "ids": [int]})
    def pick(context):
        return (context.op_config["db"]["table"], context.op_config["ids"])

    @graph_asset
    def picked():
        return pick()

    good = {"db": {"table": "t"}, "ids": [1, 2]}
    config = {"ops": {"picked": {"ops": {"pick": {"config": good}}}}}
    assert materialize([picked], run_config=config).asset_value("picked") == ("t", [1, 2])
    for bad, message in [
        ({"db": {"table": "t"}, "ids": [1, "2"]}, "field 'ids.1': expected an int"),
        ({"db": {}, "ids": []}, "field 'db.table': field required"),
        ({"db": {"table": "t"}, "ids": [], "x": 1}, "field 'x': not a field of the schema"),
    ]:
        config = {"ops": {"picked": {"ops": {"pick": {"config": bad}}}}}
        with pytest.raises(ConfigInvalid, match=message):
            materialize([picked], run_config=config)
    with pytest.raises(ConfigInvalid, match="graph 'picked' has no op 'nope'"):
        materialize([picked], run_config={"ops": {"picked": {"ops": {"nope": {}}}}})


def test_from_graph_sets_properties_by_output_name() -> None:
    @graph
    def bounds(xs):
        low, high = split(xs)
        return {"low": low, "high": high}

    definition = AssetsDefinition.from_graph(
        bounds,
        group_names_by_output_name={"low": "lows"},
        descriptions_by_output_name={"high": "the largest"},
        metadata_by_output_name={"low": {"rows": 1}},
        tags_by_output_name={"high": {"tier": "gold"}},
        owners_by_output_name={"low": ["team:data"]},
        code_versions_by_output_name={"high": "2"},
    )
    low, high = definition.spec_for(AssetKey("low")), definition.spec_for(AssetKey("high"))
    assert (low.group, high.group) == ("lows", "default")
    assert (high.description, high.tags, high.code_version) == (
        "the largest",
        {"tier": "gold"},
        "2",
    )
    assert (low.metadata["rows"], low.owners) == (1, ("team:data",))
    with pytest.raises(DefinitionError, match=r"tags_by_output_name names \['mid'\]"):
        AssetsDefinition.from_graph(bounds, tags_by_output_name={"mid": {}})


def test_from_op_with_several_outputs_and_output_metadata_from_an_op() -> None:
    @op(out={"a": Out(), "b": Out()})
    def pair(context, x):
        context.add_output_metadata({"rows": 2}, output_name="a")
        return x, x * 2

    definition = AssetsDefinition.from_op(
        pair,
        keys_by_input_name={"x": AssetKey("numbers")},
        keys_by_output_name={"a": AssetKey("first"), "b": AssetKey("second")},
    )
    assert definition.keys == {AssetKey("first"), AssetKey("second")}
    result = materialize([numbers, definition])
    assert (result.asset_value("first"), result.asset_value("second")) == ([5, 7], [5, 7] * 2)
    first = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("first")
    )
    assert first.metadata["rows"].value == 2


def test_the_snapshot_describes_the_config_a_graph_asset_or_op_asset_takes() -> None:
    import jsonschema

    from codeloc import Definitions
    from codeloc._snapshot import snapshot_of

    mapping = ConfigMapping(
        config_fn=lambda c: {"scale": {"config": {"k": c["factor"]}}},
        config_schema={"factor": int, "tables": [str]},
    )

    @graph_asset(config=mapping)
    def mapped():
        return scale(total(fetch()))

    @graph_asset
    def unmapped():
        return scale(total(fetch()))

    snapshot = snapshot_of(Definitions(assets=[mapped, unmapped, AssetsDefinition.from_op(scale)]))
    schemas = {n.key.to_user_string(): n.config_schema for n in snapshot.assets}
    assert schemas["unmapped"] is None  # its ops' config sits under "ops", not "config"
    assert schemas["scale"] == {
        "type": "object",
        "properties": {"k": {"type": "integer"}},
        "required": ["k"],
        "additionalProperties": False,
    }
    schema = schemas["mapped"]
    assert schema is not None
    jsonschema.validate({"factor": 2, "tables": ["a"]}, dict(schema))
    for bad in [{"factor": True, "tables": []}, {"factor": 2}, {"factor": 2, "tables": [1]}]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, dict(schema))


def test_an_op_called_directly_checks_the_config_of_its_context() -> None:
    from codeloc import OpExecutionContext, build_op_context

    @op(config_schema={"k": int})
    def times(context: OpExecutionContext, x: int) -> int:
        return x * context.op_config["k"]

    assert times(build_op_context(op_config={"k": 3}), 2) == 6
    assert times(build_op_context(config={"k": 4}), x=2) == 8
    with pytest.raises(ConfigInvalid, match=r"op 'times'.*field 'k': expected an int"):
        times(build_op_context(op_config={"k": "3"}), 2)
    with pytest.raises(ConfigInvalid, match="field 'k': field required"):
        times(build_op_context(), 2)
    with pytest.raises(TesseraError, match="op 'times' takes a context, but none was given"):
        times(x=2)


class Scale(Config):
    k: int = 2


def test_an_op_takes_config_as_a_config_class_too() -> None:
    @op
    def scale_by(config: Scale, xs: list[int]) -> list[int]:
        return [x * config.k for x in xs]

    @graph_asset
    def scaled():
        return scale_by(fetch())

    assert materialize([scaled]).asset_value("scaled") == [6, 2, 4]
    config = {"ops": {"scaled": {"ops": {"scale_by": {"config": {"k": 5}}}}}}
    assert materialize([scaled], run_config=config).asset_value("scaled") == [15, 5, 10]
    bad = {"ops": {"scaled": {"ops": {"scale_by": {"config": {"k": "x"}}}}}}
    with pytest.raises(ConfigInvalid, match="asset 'scaled', op 'scale_by' is invalid: field 'k'"):
        materialize([scaled], run_config=bad)


def test_one_graph_made_assets_twice_needs_a_name_for_each() -> None:
    @graph
    def once():
        return fetch()

    first = AssetsDefinition.from_graph(once, keys_by_output_name={"result": AssetKey("a")})
    second = AssetsDefinition.from_graph(once, keys_by_output_name={"result": AssetKey("b")})
    with pytest.raises(DefinitionError, match="two definitions are named 'once'"):
        materialize([first, second])
    renamed = AssetsDefinition.from_graph(once, name="b")
    result = materialize([first, renamed])
    assert (result.asset_value("a"), result.asset_value("b")) == ([3, 1, 2], [3, 1, 2])


def test_the_output_of_the_last_op_carries_metadata_and_data_version() -> None:
    @op
    def versioned():
        return Output(5, metadata={"rows": 5}, data_version="v5")

    @op
    def passed_on(x: int) -> Output:
        return Output(x, metadata={"checked": True})

    @graph_asset
    def counted():
        return versioned()

    @graph_asset
    def relayed():
        return passed_on(versioned())

    result = materialize([counted, relayed])
    assert (result.asset_value("counted"), result.asset_value("relayed")) == (5, 5)
    by_key = {e.asset_key: e for e in result.get_asset_materialization_events()}
    counted_event = by_key[AssetKey("counted")]
    assert counted_event.metadata["rows"].value == 5
    assert counted_event.materialization.data_version == "v5"
    assert by_key[AssetKey("relayed")].metadata["checked"].value is True


def test_an_op_without_a_schema_takes_any_config() -> None:
    @op
    def echo(context):
        return context.op_config

    @graph_asset
    def echoed():
        return echo()

    assert materialize([echoed]).asset_value("echoed") == {}
    config = {"ops": {"echoed": {"ops": {"echo": {"config": {"a": [1]}}}}}}
    assert materialize([echoed], run_config=config).asset_value("echoed") == {"a": [1]}
