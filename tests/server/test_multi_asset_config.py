"""The server checks a multi-asset's classic config (``@multi_asset(config_schema=)``) from
the location's snapshot, under the node's name, before any run is created."""

from collections.abc import Callable
from typing import Any

import pytest

from codeloc import AssetKey, AssetOut, Field, multi_asset
from server.errors import ConfigInvalid
from server.runs.planning import validate_run_config
from server.workspace.graph import MergedGraph

GraphOf = Callable[..., MergedGraph]


@multi_asset(
    outs={"a": AssetOut(), "b": AssetOut()},
    config_schema={"n": int, "m": Field(int, default_value=10)},
)
def ab(context: Any) -> Any:
    return context.op_config["n"], context.op_config["m"]


def test_the_config_of_a_multi_asset_is_checked_under_its_node_name(graph_of: GraphOf) -> None:
    graph = graph_of({"A": [ab]})
    both = {AssetKey("a"), AssetKey("b")}
    validate_run_config(graph, both, {"ops": {"ab": {"config": {"n": 1}}}})
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, both, {"ops": {"ab": {"config": {"n": "1"}}}})
    assert raised.value.extra == {"asset": "a", "field": "n"}
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, both, {})
    assert raised.value.extra == {"asset": "a", "field": "n"}
