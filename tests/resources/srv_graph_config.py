"""A location with a graph asset whose ops take classic config: one field required, one
with a default, inside a nested graph."""

from codeloc import Definitions, Field, graph, graph_asset, op


@op(config_schema={"k": int, "ratio": Field(float, default_value=0.5)})
def scale(context) -> float:
    return context.op_config["k"] * context.op_config["ratio"]


@graph
def inner():
    return scale()


@graph_asset
def scaled():
    return inner()


defs = Definitions(assets=[scaled])
