"""Direct invocation of an asset that requires resources: given, or refused by name."""

import pytest

from codeloc import (
    AssetExecutionContext,
    ConfigurableResource,
    UnknownResourceError,
    asset,
    build_asset_context,
)


class Api(ConfigurableResource):
    token: str


@asset
def fetched(api: Api) -> str:
    return api.token


@asset
def fetched_with_context(context: AssetExecutionContext, api: Api) -> str:
    return f"{context.run_id}:{api.token}"


@asset(required_resource_keys={"settings"})
def through_context(context: AssetExecutionContext) -> str:
    return context.resources.settings["region"]


def test_a_resource_passed_as_an_argument() -> None:
    assert fetched(api=Api(token="t")) == "t"
    assert fetched(Api(token="p")) == "p"


def test_a_resource_parameter_is_filled_from_the_context() -> None:
    context = build_asset_context(resources={"api": Api(token="c")}, run_id="r")
    assert fetched_with_context(context) == "r:c"
    assert through_context(build_asset_context(resources={"settings": {"region": "eu"}})) == "eu"


def test_a_missing_resource_parameter_is_refused_naming_it() -> None:
    with pytest.raises(UnknownResourceError, match="asset 'fetched' requires resource 'api'"):
        fetched()
    with pytest.raises(UnknownResourceError, match="requires resource 'api'"):
        fetched_with_context(build_asset_context())


def test_a_missing_required_resource_key_is_refused_naming_it() -> None:
    with pytest.raises(
        UnknownResourceError, match="asset 'through_context' requires resource 'settings'"
    ):
        through_context(build_asset_context())
    with pytest.raises(UnknownResourceError, match="requires resource 'settings'"):
        through_context()
