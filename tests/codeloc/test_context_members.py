"""More of the context's members, as the reference's ``AssetExecutionContext`` has them:
``add_asset_metadata``, ``get_output_metadata``, ``is_subset``, ``has_assets_def``,
``run_config``, ``op_execution_context`` and ``has_partition_key``."""

from __future__ import annotations

from typing import Any

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    Output,
    TesseraError,
    asset,
    build_asset_context,
    materialize,
    multi_asset,
)


def test_asset_metadata_lands_on_its_materialization_and_not_in_the_output_metadata() -> None:
    seen: dict[str, Any] = {}

    @asset
    def one(context: AssetExecutionContext) -> int:
        context.add_asset_metadata({"rows": 3})
        context.add_output_metadata({"took": 1.5})
        seen["output"] = {k: v.value for k, v in context.get_output_metadata().items()}
        with pytest.raises(TesseraError, match="does not materialize asset 'other'"):
            context.add_asset_metadata({"x": 1}, asset_key="other")
        with pytest.raises(TesseraError, match="partitions"):
            context.add_asset_metadata({"x": 1}, partition_key="2024-01-01")
        return 1

    result = materialize([one])
    (event,) = result.get_asset_materialization_events()
    assert {k: v.value for k, v in event.materialization.metadata.items()} == {
        "rows": 3,
        "took": 1.5,
    }
    # As in the reference: the output's metadata is what add_output_metadata added.
    assert seen["output"] == {"took": 1.5}


def test_a_subset_step_knows_it_is_one_and_names_the_asset_it_adds_metadata_to() -> None:
    seen: dict[str, Any] = {}

    @multi_asset(
        outs={"x": AssetOut(is_required=False), "y": AssetOut(is_required=False)},
        can_subset=True,
    )
    def xy(context: AssetExecutionContext) -> Any:
        seen["subset"] = context.is_subset
        if len(context.selected_asset_keys) > 1:
            with pytest.raises(TesseraError, match="name one"):
                context.add_asset_metadata({"m": 0})
        for key in sorted(context.selected_asset_keys):
            context.add_asset_metadata({"m": key.path[-1]}, asset_key=key)
            yield Output(1, output_name=key.path[-1])

    result = materialize([xy], selection=[AssetKey("x")])
    assert seen["subset"] is True
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["m"].value == "x"

    whole = materialize([xy])
    assert seen["subset"] is False
    by_key = {e.asset_key: e.materialization for e in whole.get_asset_materialization_events()}
    assert {k.path[-1]: m.metadata["m"].value for k, m in by_key.items()} == {"x": "x", "y": "y"}


def test_the_run_config_definition_and_partition_members() -> None:
    seen: dict[str, Any] = {}

    @asset
    def configured(context: AssetExecutionContext) -> int:
        seen.update(
            has_def=context.has_assets_def,
            run_config=context.run_config["ops"],
            op_context=context.op_execution_context is context,
            get_op=context.get_op_execution_context() is context,
            partitioned=context.has_partition_key,
        )
        return 1

    materialize([configured], run_config={"ops": {"configured": {"config": {}}}})
    assert seen == {
        "has_def": True,
        "run_config": {"configured": {"config": {}}},
        "op_context": True,
        "get_op": True,
        "partitioned": False,
    }
    assert build_asset_context().has_assets_def is False
