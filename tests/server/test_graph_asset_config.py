"""The server checks the config of a graph asset (its ConfigMapping's, or its ops' under
``ops``) and of an op-backed asset, from the schemas in the location's snapshot, before any
run is created."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from codeloc import AssetKey, AssetsDefinition, ConfigMapping, Field, graph, graph_asset, op
from codeloc.grpc.server import LocationServer
from server.errors import ConfigInvalid
from server.runs.planning import validate_run_config
from server.workspace.graph import MergedGraph
from tests.server.test_api import app_for, assert_problem, start_location, wait_loaded

__all__ = ["start_location"]  # a fixture, used by name

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


def test_the_ops_config_of_a_graph_asset_is_checked_by_the_server(graph_of: GraphOf) -> None:
    graph = graph_of({"A": [unmapped, nested]})

    def refused(key: str, run_config: dict[str, Any]) -> dict[str, Any]:
        with pytest.raises(ConfigInvalid) as raised:
            validate_run_config(graph, {AssetKey(key)}, run_config)
        return {"message": str(raised.value), **raised.value.extra}

    def ops_of(key: str, ops: Any) -> dict[str, Any]:
        return {"ops": {key: {"ops": ops}}}

    validate_run_config(
        graph, {AssetKey("unmapped")}, ops_of("unmapped", {"scale": {"config": {"k": 2}}})
    )
    bad = refused("unmapped", ops_of("unmapped", {"scale": {"config": {"k": "x"}}}))
    assert (bad["asset"], bad["field"]) == ("unmapped", "ops.scale.config.k")
    assert "config for asset 'unmapped' is invalid: field 'ops.scale.config.k'" in bad["message"]
    # a required field left out, a field or an op the schema does not have
    assert refused("unmapped", {})["field"] == "ops.scale"
    assert refused("unmapped", ops_of("unmapped", {"scale": {"config": {}}}))["field"] == (
        "ops.scale.config.k"
    )
    extra = ops_of("unmapped", {"scale": {"config": {"k": 1, "kk": 1}}})
    assert refused("unmapped", extra)["field"] == "ops.scale.config.kk"
    assert refused("unmapped", ops_of("unmapped", {"nope": {}}))["field"] == "ops.nope"

    # nested graphs nest; Field defaults make a field optional, as the location takes it
    validate_run_config(graph, {AssetKey("nested")}, {})
    deep = ops_of("nested", {"inner": {"ops": {"tuned": {"config": {"ratio": True}}}}})
    bad = refused("nested", deep)
    assert (bad["asset"], bad["field"]) == ("nested", "ops.inner.ops.tuned.config.ratio")


@op(config_schema={"ratio": Field(float, default_value=0.5), "name": Field(str, is_required=False)})
def tuned(context: Any) -> float:
    return float(context.op_config["ratio"])


@graph
def inner() -> Any:
    return tuned()


@graph_asset
def nested() -> Any:
    return inner()


def test_a_launch_with_bad_op_config_is_refused_with_422_naming_the_field(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    locations = {"graphs": start_location("srv_graph_config", "graphs")}
    with app_for(tmp_path, database_url, locations) as api:
        wait_loaded(api, "graphs")

        def launch(ops: Any) -> Any:
            run_config = {"ops": {"scaled": {"ops": {"inner": {"ops": ops}}}}}
            return api.post(
                "/api/v1/runs", json={"selection": ["scaled"], "run_config": run_config}
            )

        field = "ops.inner.ops.scale.config"
        assert_problem(launch({"scale": {"config": {"k": "2"}}}), 422, "scaled", f"{field}.k")
        assert_problem(launch({"scale": {"config": {"ratio": 1.0}}}), 422, "scaled", f"{field}.k")
        assert_problem(launch({"scale": {"config": {"k": 2, "x": 1}}}), 422, "scaled", f"{field}.x")
        assert_problem(
            launch({"scale": {"config": {"k": 2}}, "nope": {}}), 422, "scaled", "ops.inner.ops.nope"
        )
        assert api.get("/api/v1/runs").json()["runs"] == []  # refused before any run


def test_the_rest_asset_carries_the_schema_of_its_ops_config(
    tmp_path: Path, start_location: Callable[..., LocationServer], database_url: str
) -> None:
    locations = {"graphs": start_location("srv_graph_config", "graphs")}
    with app_for(tmp_path, database_url, locations) as api:
        wait_loaded(api, "graphs")
        asset = api.get("/api/v1/assets/scaled").json()
    assert asset["config_schema"] is None  # the graph asset takes no config of its own
    schema = asset["ops_config_schema"]
    config = schema["properties"]["inner"]["properties"]["ops"]["properties"]["scale"]
    assert config["properties"]["config"]["required"] == ["k"]
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"inner": {"ops": {"scale": {"config": {"k": 2}}}}})
    assert not validator.is_valid({"inner": {"ops": {"scale": {"config": {"k": "2"}}}}})
