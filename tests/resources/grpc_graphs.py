"""A location of graph-backed assets: a graph asset whose ops take config, one of whose
ops fails once and is retried, and a nested graph feeding a graph multi-asset."""

import tempfile
from pathlib import Path

from codeloc import (
    AssetOut,
    Definitions,
    Out,
    RetryPolicy,
    asset,
    graph,
    graph_asset,
    graph_multi_asset,
    op,
)


@asset
def raw() -> list[int]:
    return [4, 1, 3]


@op(config_schema={"k": int})
def scale(context, xs: list[int]) -> list[int]:
    return [x * context.op_config["k"] for x in xs]


@op(retry_policy=RetryPolicy(max_retries=1))
def settle(context, xs: list[int]) -> list[int]:
    """Fails on its first attempt in each run, as a flaky connection would."""
    marker = Path(tempfile.gettempdir()) / f"tessera-settled-{context.run_id}"
    if not marker.exists():
        marker.write_text("once")
        raise ConnectionError("not yet")
    marker.unlink()
    context.log.info("settled %d values", len(xs))
    return sorted(xs)


@graph_asset(group_name="graphs")
def scaled(raw):
    return settle(scale(raw))


@op(out={"low": Out(int), "high": Out(int)})
def bounds(xs: list[int]) -> tuple[int, int]:
    return min(xs), max(xs)


@op
def double(x: int) -> int:
    return 2 * x


@graph
def doubled_bounds(xs):
    low, high = bounds(xs)
    return {"low": double(low), "high": high}


@graph_multi_asset(outs={"low": AssetOut(), "high": AssetOut()})
def extremes(scaled):
    return doubled_bounds(scaled)


defs = Definitions(assets=[raw, scaled, extremes])
