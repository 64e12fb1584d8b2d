"""A "/" inside a key segment: a value may hold one, a definition refuses it.

"/" joins the segments wherever a key is written as text, so ``AssetKey(["a/b"])`` would be
stored as ``a/b`` and read back as ``AssetKey(["a", "b"])``. Every way of defining an asset
refuses such a key, naming the asset and the segment.
"""

import re
import types
from collections.abc import Callable
from typing import Any

import pytest

from codeloc import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSpec,
    DefinitionError,
    MaterializeResult,
    asset,
    graph,
    graph_asset,
    load_assets_from_modules,
    multi_asset,
    op,
)


def refused(asset_name: str, segment: str) -> Any:
    """``pytest.raises`` for the refusal of ``segment`` in a key of the asset ``asset_name``."""
    pattern = rf"^asset {re.escape(asset_name)}: .*segment {re.escape(repr(segment))} contains '/'"
    return pytest.raises(DefinitionError, match=pattern)


def one() -> int:
    return 1


# -- keys as values ----------------------------------------------------------------------------


def test_an_asset_key_may_hold_a_slash_as_a_value() -> None:
    assert AssetKey("a/b").path == ["a/b"]
    assert AssetKey(["a/b", "c"]).path == ["a/b", "c"]
    assert AssetKey.from_user_string("a/b").path == ["a", "b"]


def test_a_slash_in_a_key_string_separates_segments() -> None:
    @asset(key="raw/orders", deps=["vendor/feed"])
    def orders() -> int:
        return 1

    assert orders.key == AssetKey(["raw", "orders"])
    assert orders.spec.deps == (AssetKey(["vendor", "feed"]),)
    assert AssetSpec("vendor/feed").key == AssetKey(["vendor", "feed"])


# -- the asset's own key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "asset_name", "segment"),
    [
        ({"key": ["a/b"]}, "['a/b']", "a/b"),
        ({"key": AssetKey("a/b")}, "['a/b']", "a/b"),
        ({"key": ["raw", "eu/orders"]}, "['raw', 'eu/orders']", "eu/orders"),
        ({"name": "a/b"}, "['a/b']", "a/b"),
        ({"name": "orders", "key_prefix": "raw/eu"}, "['raw/eu', 'orders']", "raw/eu"),
        ({"key_prefix": ["raw", "e/u"]}, "['raw', 'e/u', 'one']", "e/u"),
    ],
)
def test_asset_refuses_a_slash_in_its_key(
    kwargs: dict[str, Any], asset_name: str, segment: str
) -> None:
    with refused(asset_name, segment):
        asset(**kwargs)(one)


def test_the_message_shows_the_nested_key_meant() -> None:
    with pytest.raises(DefinitionError, match=re.escape("write ['raw', 'eu', 'orders']")):
        asset(key=["raw", "eu/orders"])(one)


@pytest.mark.parametrize("key", [["a/b"], AssetKey("a/b"), ["lake", "a/b"]])
def test_asset_spec_refuses_a_slash_in_its_key(key: Any) -> None:
    with refused(repr(list(AssetKey.from_coercible(key).path)), "a/b"):
        AssetSpec(key)


@pytest.mark.parametrize(
    ("out", "asset_name", "segment"),
    [
        (AssetOut(key=["a/b"]), "['a/b']", "a/b"),
        (AssetOut(key=AssetKey(["lake", "a/b"])), "['lake', 'a/b']", "a/b"),
        (AssetOut(key_prefix="raw/eu"), "['raw/eu', 'second']", "raw/eu"),
    ],
)
def test_multi_asset_outs_refuse_a_slash(out: AssetOut, asset_name: str, segment: str) -> None:
    with refused(asset_name, segment):

        @multi_asset(outs={"first": AssetOut(), "second": out})
        def both() -> tuple[int, int]:
            return 1, 2


def test_multi_asset_specs_refuse_a_slash() -> None:
    with refused("['a/b']", "a/b"):
        multi_asset(specs=[AssetSpec("fine"), AssetSpec(["a/b"])])


# -- upstream keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dep", "segment"),
    [(AssetKey("up/stream"), "up/stream"), (["up/stream"], "up/stream"), (("up", "x/y"), "x/y")],
)
def test_deps_refuse_a_slash(dep: Any, segment: str) -> None:
    with refused("'one'", segment):
        asset(deps=[dep])(one)


def test_asset_in_refuses_a_slash() -> None:
    def orders(raw: int) -> int:
        return raw

    with refused("'orders'", "a/b"):
        asset(ins={"raw": AssetIn(key=AssetKey("a/b"))})(orders)
    with refused("'orders'", "a/b"):
        asset(ins={"raw": AssetIn(key_prefix="a/b")})(orders)


def test_an_asset_spec_refuses_a_slash_in_its_deps() -> None:
    with refused("'lake/raw'", "up/stream"):
        AssetSpec(["lake", "raw"], deps=[AssetKey("up/stream")])


def test_multi_asset_deps_refuse_a_slash() -> None:
    with refused("'out'", "a/b"):

        @multi_asset(outs={"out": AssetOut()}, deps=[AssetKey("a/b")])
        def with_outs() -> int:
            return 1

    with refused("'fine'", "a/b"):

        @multi_asset(specs=[AssetSpec("fine")], deps=[AssetKey("a/b")])
        def with_specs() -> MaterializeResult:
            return MaterializeResult()


# -- keys given after the definition: prefixes and graphs --------------------------------------


def test_with_attributes_refuses_a_slash_in_the_prefix() -> None:
    base = asset(one)
    with refused("['a/b', 'one']", "a/b"):
        base.with_attributes(key_prefix="a/b")
    assert base.with_attributes(key_prefix=["a", "b"]).key == AssetKey(["a", "b", "one"])


def test_loaders_refuse_a_slash_in_the_prefix() -> None:
    module = types.ModuleType("user_assets")
    module.__dict__.update(one=asset(one), two=asset(name="two")(one))
    assert {d.key for d in load_assets_from_modules([module], key_prefix="p")} == {
        AssetKey(["p", "one"]),
        AssetKey(["p", "two"]),
    }
    with refused("['raw/eu', 'one']", "raw/eu"):
        load_assets_from_modules([module], key_prefix="raw/eu")


@op
def fetch() -> int:
    return 1


@graph
def fetched() -> Any:
    return fetch()


@pytest.mark.parametrize(
    ("build", "asset_name", "segment"),
    [
        (lambda: AssetsDefinition.from_graph(fetched, name="a/b"), "['a/b']", "a/b"),
        (
            lambda: AssetsDefinition.from_graph(fetched, key_prefix="raw/eu"),
            "['raw/eu', 'fetched']",
            "raw/eu",
        ),
        (
            lambda: AssetsDefinition.from_graph(fetched, deps=[AssetKey("up/x")]),
            "'fetched'",
            "up/x",
        ),
        (lambda: graph_asset(name="a/b")(lambda: fetch()), "['a/b']", "a/b"),
        (
            lambda: graph_asset(key_prefix=["raw", "e/u"])(fetched.fn),
            "['raw', 'e/u', 'fetched']",
            "e/u",
        ),
    ],
)
def test_graph_assets_refuse_a_slash(
    build: Callable[[], AssetsDefinition], asset_name: str, segment: str
) -> None:
    with refused(asset_name, segment):
        build()


# -- other characters: the reference's rule for the keys of computed assets ---------------------


def odd(asset_name: str, segment: str, char: str) -> Any:
    """``pytest.raises`` for the refusal of ``char`` in ``segment`` of a key of ``asset_name``."""
    pattern = rf"^asset {re.escape(asset_name)}: .*segment {re.escape(repr(segment))} holds "
    return pytest.raises(DefinitionError, match=pattern + re.escape(repr(char)))


@pytest.mark.parametrize(
    ("segment", "char"), [("a b", " "), ("a:b", ":"), ("a*b", "*"), ("é", "é"), ("a,b", ",")]
)
def test_a_computed_asset_refuses_other_characters(segment: str, char: str) -> None:
    with odd(repr(["raw", segment]), segment, char):
        asset(key=["raw", segment])(one)
    with odd(repr([segment]), segment, char):
        multi_asset(specs=[AssetSpec([segment])])(one)
    with odd("'one'", segment, char):
        asset(deps=[AssetSpec([segment])])(one)


def test_letters_digits_underscores_dashes_and_dots_are_taken() -> None:
    assert asset(key=["raw-eu", "orders.v2", "1_x"])(one).key == AssetKey(
        ["raw-eu", "orders.v2", "1_x"]
    )


def test_a_spec_of_an_asset_defined_elsewhere_and_an_asset_in_may_hold_them() -> None:
    assert AssetSpec(["lake", "my table"]).key == AssetKey(["lake", "my table"])

    def reads(raw: int) -> int:
        return raw

    defined = asset(ins={"raw": AssetIn(key=["lake", "my table"])})(reads)
    assert defined.spec.deps == (AssetKey(["lake", "my table"]),)
