"""The server checks the config of a graph asset with a ConfigMapping, and of an op-backed
asset, from the schema in the location's snapshot, before any run is created."""

from collections.abc import Callable
from typing import Any

import pytest

from codeloc import AssetKey, AssetsDefinition, ConfigMapping, graph_asset, op
from server.errors import ConfigInvalid
from server.runs.planning import validate_run_config
from server.workspace.graph import MergedGraph

GraphOf = Callable[..., MergedGraph]


@op(config_schema={"k": int})
def scale(context: Any) -> int:
    return 2 * context.op_config["k"]


@graph_asset(
    config=ConfigMapping(
        config_fn=lambda c: {"scale": {"config": {"k": c["factor"]}}},
        config_schema={"factor": int},
    )
)
def mapped() -> Any:
    return scale()


@graph_asset
def unmapped() -> Any:
    return scale()


def test_mapped_and_op_config_is_checked_by_the_server(graph_of: GraphOf) -> None:
    graph = graph_of({"A": [mapped, unmapped, AssetsDefinition.from_op(scale)]})
    validate_run_config(graph, {AssetKey("mapped")}, {"ops": {"mapped": {"config": {"factor": 2}}}})
    validate_run_config(graph, {AssetKey("scale")}, {"ops": {"scale": {"config": {"k": 2}}}})
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(
            graph, {AssetKey("mapped")}, {"ops": {"mapped": {"config": {"factor": "2"}}}}
        )
    assert raised.value.extra == {"asset": "mapped", "field": "factor"}
    with pytest.raises(ConfigInvalid) as raised:
        validate_run_config(graph, {AssetKey("scale")}, {"ops": {"scale": {"config": {}}}})
    assert raised.value.extra == {"asset": "scale", "field": "k"}
    # the ops' config of a graph asset sits under "ops": the code location checks it
    nested = {"ops": {"unmapped": {"ops": {"scale": {"config": {"k": "x"}}}}}}
    validate_run_config(graph, {AssetKey("unmapped")}, nested)
