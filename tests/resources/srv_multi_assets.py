"""A location with multi-assets, for the server's subsetting tests.

``ab`` cannot subset; ``xy`` can; ``after_a`` reads ``a``; ``m2`` depends only on ``m1``
(``internal_asset_deps``).
"""

from codeloc import AssetExecutionContext, AssetKey, AssetOut, Output, asset, multi_asset


@multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
def ab():
    return 1, 2


@asset
def after_a(a):
    return a + 1


@multi_asset(outs={"x": AssetOut(), "y": AssetOut()}, can_subset=True)
def xy(context: AssetExecutionContext):
    for name in sorted(context.selected_output_names):
        yield Output(name, output_name=name)


@multi_asset(
    outs={"m1": AssetOut(), "m2": AssetOut()},
    deps=["after_a"],
    internal_asset_deps={"m1": {AssetKey("after_a")}, "m2": {AssetKey("m1")}},
    can_subset=True,
)
def chained(context: AssetExecutionContext):
    for name in sorted(context.selected_output_names):
        yield Output(name, output_name=name)
