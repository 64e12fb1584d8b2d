"""``AssetExecutionContext`` beyond resources and config: the definition, the run, keys by
input and output, events logged by the function, and output metadata by output name."""

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetMaterialization,
    AssetOut,
    TesseraError,
    asset,
    build_asset_context,
    materialize,
    multi_asset,
)

SEEN: dict[str, object] = {}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    SEEN.clear()


@asset(key_prefix="raw")
def orders() -> list[int]:
    return [1, 2, 3]


@asset(ins={"rows": AssetIn(key=AssetKey(["raw", "orders"]))})
def totals(context: AssetExecutionContext, rows: list[int]) -> int:
    SEEN["assets_def"] = context.assets_def
    SEEN["asset_key"] = context.asset_key
    SEEN["input_key"] = context.asset_key_for_input("rows")
    SEEN["output_key"] = context.asset_key_for_output()
    SEEN["run"] = (context.run.run_id, dict(context.run.tags), dict(context.run.run_config))
    SEEN["op_config"] = context.op_config
    context.log_event(AssetMaterialization(AssetKey("side_table"), {"rows": len(rows)}))
    return sum(rows)


def failure_of(result) -> str:
    return next(e.error for e in result.all_events if e.is_step_failure) or ""


def test_the_context_of_a_run_knows_its_definition_run_and_keys() -> None:
    run_config = {"ops": {"totals": {"config": {"scale": 2}}}}
    result = materialize([orders, totals], run_config=run_config, tags={"team": "sales"})

    assert SEEN["assets_def"] is totals
    assert SEEN["asset_key"] == AssetKey("totals")
    assert SEEN["input_key"] == AssetKey(["raw", "orders"])
    assert SEEN["output_key"] == AssetKey("totals")
    run_id, tags, config = SEEN["run"]
    assert run_id == result.run_id
    assert tags["team"] == "sales"
    assert config["ops"] == run_config["ops"]
    assert SEEN["op_config"] == {"scale": 2}


def test_log_event_records_a_materialization_of_the_run() -> None:
    result = materialize([orders, totals])
    logged = [
        e
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == AssetKey("side_table")
    ]
    assert len(logged) == 1
    assert logged[0].step_key == "totals"
    assert logged[0].metadata["rows"].value == 3


def test_log_event_refuses_what_is_not_an_event() -> None:
    with pytest.raises(TesseraError, match="AssetMaterialization"):
        build_asset_context().log_event({"rows": 1})  # type: ignore[arg-type]


@multi_asset(outs={"left": AssetOut(), "right": AssetOut(key="right_key")})
def pair(context: AssetExecutionContext):
    SEEN["right"] = context.asset_key_for_output("right")
    context.add_output_metadata({"side": "L"}, output_name="left")
    try:
        context.asset_key_for_output("middle")
    except TesseraError as exc:
        SEEN["unknown_output"] = str(exc)
    try:
        _ = context.asset_key
    except AttributeError as exc:
        SEEN["no_single_key"] = str(exc)
    return 1, 2


def test_a_multi_asset_names_its_keys_by_output_and_has_no_single_key() -> None:
    result = materialize([pair])
    assert SEEN["right"] == AssetKey("right_key")
    assert "no output named 'middle'" in str(SEEN["unknown_output"])
    assert "'left', 'right'" in str(SEEN["unknown_output"])
    assert "step 'pair'" in str(SEEN["no_single_key"])
    assert "2 assets" in str(SEEN["no_single_key"])
    meta = {
        e.materialization.asset_key: e.metadata for e in result.get_asset_materialization_events()
    }
    assert meta[AssetKey("left")]["side"].value == "L"
    assert "side" not in meta[AssetKey("right_key")]


@multi_asset(outs={"left": AssetOut(), "right": AssetOut()})
def mislabelled(context: AssetExecutionContext):
    context.add_output_metadata({"side": "?"}, output_name="lefty")
    return 1, 2


def test_metadata_for_an_unknown_output_fails_the_step_naming_it() -> None:
    result = materialize([mislabelled], raise_on_error=False)
    assert not result.success
    error = failure_of(result)
    assert "'lefty'" in error
    assert "mislabelled" in error


def test_an_unknown_input_is_an_error_naming_the_inputs() -> None:
    @asset
    def reads(context: AssetExecutionContext, totals: int) -> int:
        return context.asset_key_for_input("total")  # type: ignore[return-value]

    result = materialize([orders, totals, reads], raise_on_error=False)
    error = failure_of(result)
    assert "no input named 'total'" in error
    assert "['totals']" in error


def test_direct_invocation_binds_the_context_to_the_asset() -> None:
    context = build_asset_context(run_tags={"k": "v"}, asset_config={"scale": 3})
    assert totals(context, [4, 5]) == 9
    assert SEEN["assets_def"] is totals
    assert SEEN["asset_key"] == AssetKey("totals")
    assert SEEN["input_key"] == AssetKey(["raw", "orders"])
    assert SEEN["output_key"] == AssetKey("totals")
    assert SEEN["run"] == (context.run_id, {"k": "v"}, {})
    assert SEEN["op_config"] == {"scale": 3}

    SEEN.clear()
    assert totals(context=build_asset_context(), rows=[1]) == 1
    assert SEEN["assets_def"] is totals


def test_an_unbound_context_has_no_definition() -> None:
    context = build_asset_context()
    with pytest.raises(TesseraError, match="not bound to an asset"):
        _ = context.assets_def
    with pytest.raises(TesseraError, match="not bound"):
        context.asset_key_for_input("rows")


@multi_asset(outs={"left": AssetOut(), "right": AssetOut()})
def unnamed(context: AssetExecutionContext):
    context.add_output_metadata({"side": "?"})
    return 1, 2


def test_metadata_without_an_output_name_is_refused_when_there_are_several() -> None:
    result = materialize([unnamed], raise_on_error=False)
    assert not result.success
    assert "output_name" in failure_of(result)
    assert "unnamed" in failure_of(result)


def test_the_context_is_the_same_in_a_step_process() -> None:
    result = materialize([orders, totals], executor="multiprocess", tags={"team": "ops"})
    keys = [e.materialization.asset_key for e in result.get_asset_materialization_events()]
    assert AssetKey("side_table") in keys
    assert result.asset_value("totals") == 6
