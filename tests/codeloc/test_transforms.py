"""with_resources and map_asset_specs: new definitions, the ones given left as they are."""

from __future__ import annotations

import pytest

from codeloc import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DefinitionError,
    Definitions,
    ResourceDefinition,
    UnknownResourceError,
    asset,
    map_asset_specs,
    materialize,
    multi_asset,
    resource,
    with_resources,
)


@resource(config_schema={"n": int})
def number_resource(context):  # type: ignore[no-untyped-def]
    return context.resource_config["n"]


@asset(required_resource_keys={"foo"})
def uses_foo(context) -> int:  # type: ignore[no-untyped-def]
    return context.resources.foo  # type: ignore[no-any-return]


# -- with_resources ------------------------------------------------------------------------


def test_with_resources_binds_and_configures_the_resources() -> None:
    [bound] = with_resources(
        [uses_foo], {"foo": number_resource}, resource_config_by_key={"foo": {"config": {"n": 7}}}
    )
    assert isinstance(bound, AssetsDefinition)
    assert bound is not uses_foo
    assert set(bound.resource_defs) == {"foo"}
    assert uses_foo.resource_defs == {}
    assert materialize([bound]).output_for_node("uses_foo") == 7
    # The bound resources are the location's, as resource_defs= makes them.
    assert "foo" in Definitions(assets=[bound]).resources


def test_with_resources_refuses_an_asset_whose_resource_is_not_provided() -> None:
    with pytest.raises(UnknownResourceError, match=r"'uses_foo'.*'foo'"):
        with_resources([uses_foo], {})


def test_with_resources_refuses_a_key_the_asset_binds_to_another_resource() -> None:
    @asset(resource_defs={"foo": ResourceDefinition.hardcoded_resource(1)})
    def bound_already(context) -> int:  # type: ignore[no-untyped-def]
        return context.resources.foo  # type: ignore[no-any-return]

    with pytest.raises(DefinitionError, match=r"'bound_already'.*foo"):
        with_resources([bound_already], {"foo": ResourceDefinition.hardcoded_resource(2)})


def test_resource_config_for_a_resource_not_given_is_refused() -> None:
    with pytest.raises(UnknownResourceError, match="'bar'"):
        with_resources([uses_foo], {"foo": number_resource}, {"bar": {"config": {}}})


# -- map_asset_specs -----------------------------------------------------------------------


@asset
def upstream() -> int:
    return 1


@asset(group_name="g")
def downstream(upstream: int) -> int:
    return upstream + 1


def test_map_asset_specs_maps_specs_and_definitions_alike() -> None:
    def owned(spec: AssetSpec) -> AssetSpec:
        return spec.replace_attributes(owners=["team@example.com"])

    out = map_asset_specs(owned, [upstream, AssetSpec("external"), downstream])
    assert isinstance(out[1], AssetSpec)
    assert out[1].owners == ("team@example.com",)
    for item in (out[0], out[2]):
        assert isinstance(item, AssetsDefinition)
        assert [s.owners for s in item.specs] == [("team@example.com",)]
    assert upstream.spec.owners == ()
    # The mapped definitions still run, with their dependency.
    assert materialize(out[::2]).output_for_node("downstream") == 2


def test_map_asset_specs_changes_the_group_of_each_asset_of_a_multi_asset() -> None:
    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def both() -> None:
        return None

    [mapped] = map_asset_specs(lambda s: s.replace_attributes(group_name="grp"), [both])
    assert isinstance(mapped, AssetsDefinition)
    assert {s.group_name for s in mapped.specs} == {"grp"}


def test_map_asset_specs_may_add_a_dependency_no_parameter_loads() -> None:
    [mapped] = map_asset_specs(lambda s: s.merge_attributes(deps=["extra"]), [downstream])
    assert isinstance(mapped, AssetsDefinition)
    assert set(mapped.spec.deps) == {AssetKey("upstream"), AssetKey("extra")}


def test_map_asset_specs_refuses_a_changed_key() -> None:
    with pytest.raises(DefinitionError, match="'upstream' was changed to 'other'"):
        map_asset_specs(lambda s: s.replace_attributes(key="other"), [upstream])


def test_map_asset_specs_refuses_to_drop_a_dependency_a_parameter_loads() -> None:
    with pytest.raises(DefinitionError, match=r"'downstream'.*'upstream'.*parameter 'upstream'"):
        map_asset_specs(lambda s: s.replace_attributes(deps=[]), [downstream])
