"""``resource_defs=`` on ``@asset`` / ``@multi_asset``: resources bound to the asset."""

import pytest

from codeloc import (
    AssetOut,
    ConfigurableResource,
    DefinitionError,
    Definitions,
    asset,
    materialize,
    multi_asset,
)


class Greeter(ConfigurableResource):
    greeting: str

    def greet(self, who: str) -> str:
        return f"{self.greeting}, {who}"


hello = Greeter(greeting="hello")


@asset(resource_defs={"greeter": hello})
def greeted(greeter: Greeter) -> str:
    return greeter.greet("world")


@asset
def also_greeted(greeter: Greeter) -> str:
    return greeter.greet("again")


@multi_asset(outs={"a": AssetOut(), "b": AssetOut()}, resource_defs={"shouter": hello})
def pair(shouter: Greeter) -> tuple[str, str]:
    return shouter.greet("a"), shouter.greet("b")


def test_materialize_uses_the_resource_bound_to_the_asset() -> None:
    result = materialize([greeted])
    assert result.asset_value("greeted") == "hello, world"
    assert greeted.resource_defs == {"greeter": hello}
    assert materialize([pair]).asset_value("b") == "hello, b"


def test_the_bound_resource_serves_every_asset_of_the_location() -> None:
    # a resource bound to one asset is the location's resource of that key
    defs = Definitions(assets=[greeted, also_greeted])
    assert defs.resources == {"greeter": hello}
    result = materialize(defs.assets, resources=defs.resources)
    assert result.asset_value("also_greeted") == "hello, again"


def test_merged_with_the_resources_of_definitions() -> None:
    @asset
    def with_both(greeter: Greeter, other: Greeter) -> str:
        return greeter.greet(other.greeting)

    other = Greeter(greeting="bye")
    defs = Definitions(assets=[greeted, with_both], resources={"other": other})
    assert defs.resources == {"other": other, "greeter": hello}
    result = materialize(defs.assets, resources=defs.resources)
    assert result.asset_value("with_both") == "hello, bye"
    # the same object under the same key is no conflict
    assert Definitions(assets=[greeted], resources={"greeter": hello}).resources == {
        "greeter": hello
    }


def test_a_different_resource_under_the_same_key_is_refused() -> None:
    with pytest.raises(DefinitionError, match="asset 'greeted' has resource_defs 'greeter'"):
        Definitions(assets=[greeted], resources={"greeter": Greeter(greeting="hi")})
    with pytest.raises(DefinitionError, match="conflicting with the resource 'greeter'"):
        materialize([greeted], resources={"greeter": Greeter(greeting="hi")})

    @asset(resource_defs={"greeter": Greeter(greeting="hello")})
    def rival(greeter: Greeter) -> str:
        return greeter.greet("rival")

    with pytest.raises(DefinitionError, match="of asset 'greeted'"):
        Definitions(assets=[greeted, rival])


def test_the_binding_survives_prefixing_and_grouping() -> None:
    moved = greeted.with_attributes(key_prefix="p", group_name="g")
    assert moved.resource_defs == {"greeter": hello}
    assert materialize([moved]).asset_value(["p", "greeted"]) == "hello, world"


def test_direct_invocation_uses_the_bound_resource() -> None:
    assert greeted() == "hello, world"
