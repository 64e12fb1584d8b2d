"""The server checks classic config of the reference's other types (``Noneable``,
``Selector``, ``Permissive``, ``Enum``, the sources) from the JSON Schema a location's
snapshot carries, across the wire form, before any run is created."""

from typing import Any

import pytest

from codeloc import (
    AssetKey,
    Definitions,
    Enum,
    EnumValue,
    Field,
    IntSource,
    Noneable,
    Permissive,
    Selector,
    StringSource,
    asset,
)
from codeloc._snapshot import snapshot_of
from codeloc.grpc.convert import from_snapshot_chunks, to_snapshot_chunks
from server.errors import ConfigInvalid
from server.runs.planning import validate_run_config
from server.workspace.graph import MergedGraph

COLOR = Enum("Color", [EnumValue("RED", python_value=1), EnumValue("BLUE")])


@asset(
    config_schema={
        "limit": Noneable(int),
        "mode": Selector({"fast": bool, "slow": Field(int, default_value=3)}),
        "extra": Permissive({"tag": str}),
        "color": Field(COLOR, default_value="RED"),
        "token": StringSource,
        "port": Field(IntSource, default_value=5432),
    }
)
def typed(context: Any) -> Any:
    return context.op_config


@pytest.fixture
def graph() -> MergedGraph:
    # Through the chunks the location sends, as a real server receives the snapshot.
    snapshot = from_snapshot_chunks(to_snapshot_chunks(snapshot_of(Definitions([typed]))))
    return MergedGraph({"A": snapshot})


GOOD: dict[str, Any] = {
    "mode": {"fast": True},
    "extra": {"tag": "t", "more": [1]},
    "token": {"env": "TOKEN"},
}


def check(graph: MergedGraph, config: dict[str, Any]) -> None:
    validate_run_config(graph, {AssetKey("typed")}, {"ops": {"typed": {"config": config}}})


@pytest.mark.parametrize(
    "config",
    [
        GOOD,
        {**GOOD, "limit": None, "color": "BLUE", "port": {"env": "PORT"}},
        {**GOOD, "limit": 3, "mode": {"slow": 1}, "token": "literal", "port": 1},
    ],
)
def test_config_the_run_takes_is_taken(graph: MergedGraph, config: dict[str, Any]) -> None:
    check(graph, config)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({**GOOD, "limit": "3"}, "limit"),
        ({**GOOD, "mode": {"fast": True, "slow": 1}}, "mode"),
        ({**GOOD, "mode": {}}, "mode"),
        ({**GOOD, "extra": {}}, "extra.tag"),
        ({**GOOD, "color": "GREEN"}, "color"),
        ({**GOOD, "token": 3}, "token"),
        ({**GOOD, "token": {"env": "T", "x": 1}}, "token.x"),
        ({key: value for key, value in GOOD.items() if key != "token"}, "token"),
    ],
)
def test_config_the_run_refuses_is_a_422_naming_the_field(
    graph: MergedGraph, config: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        check(graph, config)
    assert raised.value.status == 422
    assert raised.value.extra["asset"] == "typed"
    assert raised.value.extra["field"] == field
