"""Finding assets in user code: modules, packages and files, with groups and key prefixes."""

import textwrap
from pathlib import Path

import pytest

from codeloc import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DefinitionError,
    Definitions,
    GroupConflictError,
    load_assets_from_modules,
    load_assets_from_package_module,
    materialize,
)
from codeloc._loading import definitions_from_module, load_definitions


def keys_of(assets: list) -> set[AssetKey]:
    return {a.key for a in assets}


def test_a_package_is_walked_into_its_submodules(user_code: Path) -> None:
    import sdk_my_package

    assets = load_assets_from_package_module(sdk_my_package)

    assert keys_of(assets) == {
        AssetKey("cereals"),
        AssetKey("sugary_cereals"),
        AssetKey("shopping_list"),
    }
    # without a group or a prefix, the definitions are the module's own objects
    from sdk_my_package.cereal.cereals import cereals

    assert any(a is cereals for a in assets)


@pytest.mark.parametrize("prefix", ["shop", ["shop", "v1"]])
def test_group_and_key_prefix_apply_to_every_loaded_asset(
    user_code: Path, prefix: str | list[str]
) -> None:
    from sdk_my_package import cereal

    assets = load_assets_from_package_module(cereal, group_name="cereal_assets", key_prefix=prefix)
    segments = [prefix] if isinstance(prefix, str) else prefix

    assert keys_of(assets) == {
        AssetKey([*segments, "cereals"]),
        AssetKey([*segments, "sugary_cereals"]),
        AssetKey([*segments, "shopping_list"]),
    }
    assert {a.spec.group for a in assets} == {"cereal_assets"}
    # dependencies among the loaded assets follow them under the prefix
    by_name = {a.key.name: a for a in assets}
    assert by_name["shopping_list"].spec.deps == (AssetKey([*segments, "sugary_cereals"]),)
    assert Definitions(assets=assets).graph.external_keys == frozenset()
    result = materialize(assets)
    assert result.asset_value([*segments, "shopping_list"]) == ["Frosted Flakes", "Honey Smacks"]


def test_a_prefix_leaves_dependencies_outside_the_loaded_assets_alone(user_code: Path) -> None:
    from sdk_my_package.cereal.shopping import lists

    (shopping_list,) = load_assets_from_modules([lists], key_prefix="p")

    assert shopping_list.key == AssetKey(["p", "shopping_list"])
    assert shopping_list.spec.deps == (AssetKey("sugary_cereals"),)


def test_an_asset_with_a_group_cannot_be_given_another(user_code: Path) -> None:
    import sdk_grouped_package

    with pytest.raises(GroupConflictError) as info:
        load_assets_from_package_module(sdk_grouped_package, group_name="marketing_v2")
    message = str(info.value)
    assert message.startswith("Group name already exists on assets")
    assert "'campaign_budget'" in message
    assert "'marketing'" in message

    # loading without a group keeps the one the asset has
    assets = {a.key.name: a for a in load_assets_from_package_module(sdk_grouped_package)}
    assert assets["campaign_budget"].spec.group == "marketing"
    assert assets["campaigns"].spec.group == "default"


def test_modules_with_lists_of_assets_load_each_asset_once(user_code: Path) -> None:
    import sdk_module_with_assets as module

    assets = load_assets_from_modules([module, module])

    assert sorted(a.key.name for a in assets) == ["asset_1", "asset_2", "asset_3", "asset_4"]
    assert all(isinstance(a, AssetsDefinition) for a in assets)


def test_a_module_with_definitions_is_that_location(user_code: Path) -> None:
    import sdk_cli_definitions

    defs = definitions_from_module(sdk_cli_definitions)

    assert defs is sdk_cli_definitions.defs
    # an asset outside the Definitions object is not part of the location
    assert set(defs.graph.all_keys) == {AssetKey("greeting")}


def test_loading_by_package_and_by_file(user_code: Path, tmp_path: Path) -> None:
    by_package = load_definitions(package="sdk_my_package")
    assert len(by_package.graph) == 3

    source = tmp_path / "sdk_file_location.py"
    source.write_text(
        textwrap.dedent(
            """
            from codeloc import AssetSpec, asset

            lake = AssetSpec("lake")

            @asset(deps=[lake])
            def from_file():
                return 1
            """
        )
    )
    by_file = load_definitions(file=str(source))
    assert set(by_file.graph.all_keys) == {AssetKey("from_file")}
    assert by_file.graph.declared_external == {AssetKey("lake"): AssetSpec("lake")}


def test_loading_errors_name_the_module(user_code: Path, tmp_path: Path) -> None:
    (tmp_path / "sdk_empty_module.py").write_text("VALUE = 1\n")
    (tmp_path / "sdk_two_locations.py").write_text(
        "from codeloc import Definitions\none = Definitions()\ntwo = Definitions()\n"
    )

    with pytest.raises(DefinitionError, match=r"'sdk_empty_module' defines no assets"):
        load_definitions(module="sdk_empty_module", working_directory=str(tmp_path))
    with pytest.raises(DefinitionError, match=r"'sdk_two_locations' has 2 Definitions objects"):
        load_definitions(module="sdk_two_locations", working_directory=str(tmp_path))
    with pytest.raises(DefinitionError, match=r"no such file: nowhere\.py"):
        load_definitions(file="nowhere.py")
    with pytest.raises(DefinitionError, match=r"give a module \(-m\), a file \(-f\)"):
        load_definitions()
