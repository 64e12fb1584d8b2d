"""Definitions the reference refuses: one key defined twice, ``AssetIn(key=, key_prefix=)``.

Modules loaded together that define the same key are refused when they are loaded, naming
both definitions by module; so is ``Definitions`` given both. One definition reached twice
(imported from one module into another, or listed twice) is one definition, as in the
reference.
"""

import types

import pytest

from codeloc import (
    AssetIn,
    AssetKey,
    DefinitionError,
    Definitions,
    DuplicateKeyError,
    asset,
    load_assets_from_modules,
    materialize,
)


def module(name: str, **values: object) -> types.ModuleType:
    made = types.ModuleType(name)
    made.__dict__.update(values)
    return made


@asset
def orders() -> int:
    return 1


@asset(name="orders")
def other_orders() -> int:
    return 2


def test_modules_loaded_together_refuse_a_key_defined_twice() -> None:
    first = module("team_a.assets", orders=orders)
    second = module("team_b.assets", dup=other_orders)
    with pytest.raises(DuplicateKeyError) as info:
        load_assets_from_modules([first, second])
    assert str(info.value) == (
        "asset key 'orders' is defined twice, in the modules loaded together: "
        "by team_a.assets.orders and by team_b.assets.dup"
    )


def test_a_definition_imported_into_another_module_is_loaded_once() -> None:
    first, second = module("a", orders=orders), module("b", orders=orders, listed=[orders])
    assert load_assets_from_modules([first, second, first]) == [orders]


def test_definitions_refuse_two_definitions_of_one_key() -> None:
    with pytest.raises(DuplicateKeyError, match="asset key 'orders' is defined twice: by 'orders'"):
        Definitions(assets=[orders, other_orders])


def test_definitions_take_one_definition_listed_twice_once() -> None:
    defs = Definitions(assets=[orders, [orders]])
    assert defs.assets == (orders,)
    assert materialize(defs.assets).output_for_node("orders") == 1


@pytest.mark.parametrize("prefix", ["raw", ["raw", "eu"]])
def test_asset_in_refuses_a_key_and_a_prefix(prefix: object) -> None:
    with pytest.raises(DefinitionError, match=r"give key= .* or key_prefix= .*, not both"):
        AssetIn(key="orders", key_prefix=prefix)  # type: ignore[arg-type]


def test_asset_in_takes_either() -> None:
    @asset(ins={"a": AssetIn(key="orders"), "b": AssetIn(key_prefix=["raw"]), "c": AssetIn()})
    def reads(a: int, b: int, c: int) -> int:
        return a + b + c

    assert reads.spec.deps == (AssetKey("orders"), AssetKey(["raw", "b"]), AssetKey("c"))
    assert AssetIn(key="orders", key_prefix=[]).key == "orders"  # an empty prefix is none
