"""Classic config on a multi-asset: ``@multi_asset(config_schema={...})``, read with
``context.op_config`` from ``{"ops": {node_name: {"config": …}}}``.

Every case was run on Dagster 1.13 with the same code; the values and refusals match.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from codeloc import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetSpec,
    Config,
    ConfigInvalid,
    DefinitionError,
    Definitions,
    Field,
    MaterializeResult,
    Output,
    materialize,
    multi_asset,
)
from codeloc._snapshot import snapshot_of


@multi_asset(
    outs={"a": AssetOut(is_required=False), "b": AssetOut(is_required=False)},
    config_schema={"n": int, "m": Field(int, default_value=10)},
    can_subset=True,
)
def ab(context: AssetExecutionContext) -> Any:
    values = {"a": context.op_config["n"], "b": context.op_config["m"]}
    for name in sorted(context.selected_output_names):
        yield Output(values[name], output_name=name)


@multi_asset(specs=[AssetSpec("c"), AssetSpec("d")], config_schema={"tag": str})
def cd(context: AssetExecutionContext) -> Any:
    for key in ("c", "d"):
        yield MaterializeResult(asset_key=key, metadata={"tag": context.op_config["tag"]})


def test_op_config_is_the_nodes_entry_with_defaults() -> None:
    result = materialize([ab], run_config={"ops": {"ab": {"config": {"n": 3}}}})
    assert (result.output_for_node("ab", "a"), result.output_for_node("ab", "b")) == (3, 10)
    result = materialize([cd], run_config={"ops": {"cd": {"config": {"tag": "x"}}}})
    tags = [m.metadata["tag"].value for m in result.asset_materializations_for_node("cd")]
    assert tags == ["x", "x"]


def test_a_subset_reads_the_same_config() -> None:
    result = materialize(
        [ab], selection=["b"], run_config={"ops": {"ab": {"config": {"n": 1, "m": 2}}}}
    )
    assert [m.asset_key for m in result.asset_materializations_for_node("ab")] == [AssetKey("b")]
    assert result.output_for_node("ab", "b") == 2


@pytest.mark.parametrize(
    ("run_config", "message"),
    [
        ({}, "field 'n': field required"),
        ({"ops": {"ab": {"config": {"n": "x"}}}}, "field 'n': expected an int, got 'x'"),
        ({"ops": {"ab": {"config": {"n": 1, "k": 1}}}}, "'k'"),
        # the entry is the node's: an asset's name is not it
        ({"ops": {"a": {"config": {"n": 1}}}}, "field 'n': field required"),
    ],
)
def test_bad_config_is_refused_before_the_step(run_config: Any, message: str) -> None:
    with pytest.raises(ConfigInvalid, match=message):
        materialize([ab], run_config=run_config)


def test_a_schema_that_is_not_a_dict_of_fields_is_refused() -> None:
    # The reference: "Only dicts are supported for asset config_schema" (an @asset takes one).
    with pytest.raises(DefinitionError, match=r"multi_asset 'e': config_schema= takes a dict"):

        @multi_asset(outs={"e": AssetOut()}, config_schema=int)  # type: ignore[arg-type]
        def e() -> None: ...

    with pytest.raises(DefinitionError, match=r"multi_asset 'f': config_schema at 'x' has"):

        @multi_asset(outs={"f": AssetOut()}, config_schema={"x": set})
        def f() -> None: ...


class Params(Config):
    n: int


def test_config_schema_and_a_config_parameter_are_not_both_taken() -> None:
    with pytest.raises(DefinitionError, match="multi_asset 'g': give either config_schema="):

        @multi_asset(outs={"g": AssetOut()}, config_schema={"n": int})
        def g(config: Params) -> None: ...


def test_the_snapshot_carries_the_schema_on_every_key_of_the_multi_asset() -> None:
    nodes = snapshot_of(Definitions(assets=[ab])).assets
    assert [(n.key.to_user_string(), n.node_name) for n in nodes] == [("a", "ab"), ("b", "ab")]
    for node in nodes:
        assert node.config_schema is not None
        validator = jsonschema.Draft202012Validator(dict(node.config_schema))
        assert validator.is_valid({"n": 1})
        assert not validator.is_valid({"m": 1})
        assert not validator.is_valid({"n": "1"})
