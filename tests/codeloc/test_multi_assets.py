"""Multi-assets and dependencies as data, as the reference documents them.

Subsetting (``can_subset``, ``context.selected_output_names``), ``specs=`` multi-assets,
``internal_asset_deps=``, ``AssetDep``, and the dependency views of ``AssetsDefinition``.
"""

import pytest

from codeloc import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    DefinitionError,
    Definitions,
    MaterializeResult,
    Output,
    TesseraError,
    asset,
    define_asset_job,
    materialize,
    multi_asset,
)


def _materialized(result) -> list[str]:
    return sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())


@multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
def ab():
    return 1, 2


@asset
def after_a(a):
    return a + 1


# -- can_subset=False: all or nothing -------------------------------------------------------


def test_selecting_part_of_a_multi_asset_that_cannot_subset_is_refused_before_it_runs() -> None:
    ran: list[str] = []

    @multi_asset(outs={"p": AssetOut(), "q": AssetOut()})
    def pq():
        ran.append("pq")
        return 1, 2

    with pytest.raises(DefinitionError) as info:
        materialize([pq], selection=["p"])
    message = str(info.value)
    assert "multi-asset 'pq'" in message
    assert "selects 'p'" in message
    assert "but not 'q'" in message
    assert "required_multi_asset_neighbors" in message
    assert ran == []


@pytest.mark.parametrize(
    "selection",
    ["a", "a+", AssetSelection.assets("a"), ["a"], AssetSelection.assets("a").downstream()],
)
def test_every_form_of_selection_is_checked(selection) -> None:
    with pytest.raises(DefinitionError, match="does not support subsetting"):
        materialize([ab, after_a], selection=selection)


def test_required_multi_asset_neighbors_completes_the_selection() -> None:
    selection = AssetSelection.assets("a").required_multi_asset_neighbors()
    assert selection.resolve([ab, after_a]) == {AssetKey("a"), AssetKey("b")}
    result = materialize([ab, after_a], selection=selection)
    assert _materialized(result) == ["a", "b"]


def test_the_whole_multi_asset_and_its_downstream_run() -> None:
    result = materialize([ab, after_a])
    assert _materialized(result) == ["a", "after_a", "b"]
    assert result.asset_value("after_a") == 2


def test_a_job_selecting_part_of_a_multi_asset_that_cannot_subset_is_refused() -> None:
    with pytest.raises(DefinitionError, match=r"job 'only_a'.*'ab' does not support subsetting"):
        Definitions(assets=[ab, after_a], jobs=[define_asset_job("only_a", selection=["a"])])
    defs = Definitions(
        assets=[ab, after_a],
        jobs=[define_asset_job("all_ab", selection=AssetSelection.assets("a", "b"))],
    )
    assert defs.job_asset_keys("all_ab") == {AssetKey("a"), AssetKey("b")}


def test_a_single_asset_definition_is_never_a_subset_problem() -> None:
    assert _materialized(materialize([ab, after_a], selection=["a", "b"])) == ["a", "b"]


# -- can_subset=True -------------------------------------------------------------------------


def test_a_subsettable_multi_asset_is_told_its_selection_and_runs_only_that() -> None:
    seen: list[tuple[frozenset[str], tuple[AssetKey, ...]]] = []

    @multi_asset(outs={"x": AssetOut(), "y": AssetOut(), "z": AssetOut()}, can_subset=True)
    def xyz(context: AssetExecutionContext):
        seen.append((context.selected_output_names, tuple(sorted(context.selected_asset_keys))))
        for name in sorted(context.selected_output_names):
            yield Output(name.upper(), output_name=name)

    result = materialize([xyz], selection=["x", "z"])
    assert seen == [(frozenset({"x", "z"}), (AssetKey("x"), AssetKey("z")))]
    assert _materialized(result) == ["x", "z"]
    assert result.asset_value("z") == "Z"


def test_a_subsettable_multi_asset_that_yields_an_unselected_output_fails_the_run() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
    def xy():
        yield Output(1, "x")
        yield Output(2, "y")

    result = materialize([xy], selection=["x"], raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "output 'y'" in failure.message
    assert "not selected" in failure.message
    assert "['x']" in failure.message


def test_a_subsettable_multi_asset_returning_every_output_fails_the_run() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
    def xy():
        return 1, 2

    result = materialize([xy], selection=["x"], raise_on_error=False)
    assert not result.success
    assert "not selected" in result.get_step_failure_events()[0].message


def test_a_subset_returning_a_value_per_selected_output_succeeds() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut(), "z": AssetOut()}, can_subset=True)
    def xyz(context: AssetExecutionContext):
        values = tuple(f"v-{n}" for n in ("x", "y", "z") if n in context.selected_output_names)
        # One selected output: the value itself, as for a single asset.
        return values if len(values) > 1 else values[0]

    result = materialize([xyz], selection=["x", "z"])
    assert result.asset_value("x") == "v-x"
    assert result.asset_value("z") == "v-z"
    one = materialize([xyz], selection=["y"])
    assert one.asset_value("y") == "v-y"


def test_a_subsettable_specs_multi_asset_may_not_report_an_unselected_key() -> None:
    @multi_asset(specs=[AssetSpec("h1"), AssetSpec("h2")], can_subset=True)
    def hh():
        yield MaterializeResult(asset_key="h1")
        yield MaterializeResult(asset_key="h2")

    result = materialize([hh], selection=["h1"], raise_on_error=False)
    assert not result.success
    assert "'h2'" in result.get_step_failure_events()[0].message


def test_selected_output_names_of_a_direct_call_are_every_output() -> None:
    @multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
    def xy(context: AssetExecutionContext):
        return sorted(context.selected_output_names)

    assert xy() == ["x", "y"]


# -- specs= ----------------------------------------------------------------------------------


def test_a_specs_multi_asset_returning_none_materializes_every_spec() -> None:
    @multi_asset(specs=[AssetSpec("s1"), AssetSpec("s2", deps=["s1"]), AssetSpec("s3")])
    def tables():
        return None

    result = materialize([tables])
    assert _materialized(result) == ["s1", "s2", "s3"]


def test_a_subsettable_specs_multi_asset_returning_none_materializes_the_selected_specs() -> None:
    @multi_asset(specs=[AssetSpec("t1"), AssetSpec("t2")], can_subset=True)
    def tables():
        pass

    assert _materialized(materialize([tables], selection=["t2"])) == ["t2"]


def test_a_specs_multi_asset_with_a_single_spec_returning_none_stores_nothing() -> None:
    @multi_asset(specs=[AssetSpec("only")])
    def single():
        return None

    result = materialize([single])
    assert _materialized(result) == ["only"]
    with pytest.raises(TesseraError, match="no stored value"):
        result.asset_value("only")


# -- internal_asset_deps= --------------------------------------------------------------------


@asset
def source():
    return 10


def test_internal_asset_deps_say_which_upstream_each_output_has() -> None:
    @multi_asset(
        outs={"m1": AssetOut(), "m2": AssetOut()},
        internal_asset_deps={"m1": {AssetKey("source")}, "m2": {AssetKey("m1")}},
    )
    def internal(source):
        return source + 1, source + 2

    assert internal.asset_deps == {
        AssetKey("m1"): {AssetKey("source")},
        AssetKey("m2"): {AssetKey("m1")},
    }
    assert internal.dependency_keys == {AssetKey("source"), AssetKey("m1")}
    assert internal.keys_by_input_name == {"source": AssetKey("source")}
    defs = Definitions(assets=[source, internal])
    assert list(defs.graph.parents(AssetKey("m2"))) == [AssetKey("m1")]
    assert AssetKey("m2") not in list(defs.graph.children(AssetKey("source")))
    result = materialize([source, internal])
    assert result.asset_value("m2") == 12


def test_an_internal_asset_dep_naming_an_unknown_output_is_refused() -> None:
    with pytest.raises(DefinitionError, match="'nope', which is not one of its outs"):

        @multi_asset(outs={"q": AssetOut()}, internal_asset_deps={"nope": set()})
        def bad():
            return 1


def test_an_internal_asset_dep_on_a_key_the_multi_asset_does_not_have_is_refused() -> None:
    with pytest.raises(DefinitionError, match="internal_asset_deps of 'q' names 'zzz'"):

        @multi_asset(outs={"q": AssetOut()}, internal_asset_deps={"q": {AssetKey("zzz")}})
        def bad():
            return 1


def test_internal_asset_deps_may_name_deps_entries() -> None:
    @multi_asset(
        outs={"n1": AssetOut(), "n2": AssetOut()},
        deps=["source"],
        internal_asset_deps={"n1": {"source"}, "n2": set()},
    )
    def narrowed():
        return 1, 2

    assert narrowed.asset_deps == {AssetKey("n1"): {AssetKey("source")}, AssetKey("n2"): set()}


def test_internal_asset_deps_with_specs_is_refused() -> None:
    with pytest.raises(DefinitionError, match="internal_asset_deps= goes with outs="):
        multi_asset(specs=[AssetSpec("p")], internal_asset_deps={"p": set()})


# -- dependencies as data --------------------------------------------------------------------


def test_keys_by_output_name() -> None:
    @multi_asset(specs=[AssetSpec(["raw", "g1"]), AssetSpec("g2")])
    def gg():
        pass

    assert ab.keys_by_output_name == {"a": AssetKey("a"), "b": AssetKey("b")}
    assert source.keys_by_output_name == {"result": AssetKey("source")}
    assert gg.keys_by_output_name == {"raw__g1": AssetKey(["raw", "g1"]), "g2": AssetKey("g2")}


def test_keys_by_input_name_holds_parameters_and_deps() -> None:
    @asset(ins={"renamed": AssetIn(key="source")}, deps=[AssetKey(["raw", "table"])])
    def both(renamed):
        return renamed

    assert both.keys_by_input_name == {
        "renamed": AssetKey("source"),
        "raw__table": AssetKey(["raw", "table"]),
    }
    assert both.dependency_keys == {AssetKey("source"), AssetKey(["raw", "table"])}
    assert both.asset_deps == {AssetKey("both"): {AssetKey("source"), AssetKey(["raw", "table"])}}


def test_asset_dep_is_accepted_in_deps() -> None:
    marker = object()

    @asset(deps=[AssetDep("source"), AssetDep(AssetSpec(["ext", "t"]), partition_mapping=marker)])
    def downstream():
        return 1

    assert downstream.dependency_keys == {AssetKey("source"), AssetKey(["ext", "t"])}
    assert downstream.spec.partition_mappings == {AssetKey(["ext", "t"]): marker}
    assert _materialized(materialize([source, downstream])) == ["downstream", "source"]


def test_asset_dep_takes_keys_specs_and_single_asset_definitions() -> None:
    assert AssetDep("x").asset_key == AssetKey("x")
    assert AssetDep(["a", "b"]).asset_key == AssetKey(["a", "b"])
    assert AssetDep(AssetKey("x")) == AssetDep("x")
    assert AssetDep(source).asset_key == AssetKey("source")
    assert AssetDep(AssetSpec("s")).partition_mapping is None
    with pytest.raises(DefinitionError, match="multi-asset 'ab'"):
        AssetDep(ab)
    with pytest.raises(TypeError, match="AssetDep takes"):
        AssetDep(3)


def test_a_multi_asset_in_deps_means_all_its_keys() -> None:
    @asset(deps=[ab])
    def after_both():
        return None

    assert after_both.dependency_keys == {AssetKey("a"), AssetKey("b")}
    assert after_both.keys_by_input_name == {"a": AssetKey("a"), "b": AssetKey("b")}
    spec = AssetSpec("declared", deps=[ab])
    assert spec.deps == (AssetKey("a"), AssetKey("b"))
    assert _materialized(materialize([ab, after_both])) == ["a", "after_both", "b"]


def test_a_multi_asset_in_the_deps_of_a_multi_asset_means_all_its_keys() -> None:
    @multi_asset(specs=[AssetSpec("u1"), AssetSpec("u2")], deps=[ab])
    def later():
        pass

    assert later.asset_deps[AssetKey("u1")] == {AssetKey("a"), AssetKey("b")}


@pytest.mark.parametrize(
    "define",
    [
        lambda: asset(name="selfy", deps=["selfy"])(lambda: 1),
        lambda: asset(name="selfy", ins={"selfy": AssetIn()})(lambda selfy: 1),
        lambda: asset(name="selfy", deps=[AssetDep("selfy")])(lambda: 1),
        lambda: AssetSpec("selfy", deps=["selfy"]),
        lambda: multi_asset(specs=[AssetSpec("selfy", deps=["selfy"])])(lambda: None),
        lambda: multi_asset(outs={"selfy": AssetOut()}, deps=["selfy"])(lambda: 1),
    ],
)
def test_a_self_dependency_is_refused_when_defined(define) -> None:
    with pytest.raises(DefinitionError, match="asset 'selfy' depends on itself"):
        define()


def test_a_multi_asset_whose_assets_depend_on_each_other_is_fine() -> None:
    @multi_asset(specs=[AssetSpec("n1"), AssetSpec("n2", deps=["n1"])])
    def chain():
        pass

    assert chain.asset_deps == {AssetKey("n1"): set(), AssetKey("n2"): {AssetKey("n1")}}
    assert _materialized(materialize([chain])) == ["n1", "n2"]
