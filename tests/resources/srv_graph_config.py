"""A location of assets whose config the UI's launch dialog takes: a graph asset whose ops
take classic config (one field required, one with a default, inside a nested graph), and a
multi-asset with classic config of its own."""

from codeloc import AssetOut, Definitions, Field, graph, graph_asset, multi_asset, op


@op(config_schema={"k": int, "ratio": Field(float, default_value=0.5)})
def scale(context) -> float:
    return context.op_config["k"] * context.op_config["ratio"]


@graph
def inner():
    return scale()


@graph_asset
def scaled():
    return inner()


@multi_asset(outs={"m": AssetOut(), "n": AssetOut()}, config_schema={"base": int})
def mn(context):
    return context.op_config["base"], context.op_config["base"] + 1


defs = Definitions(assets=[scaled, mn])
