"""``tessera dev -m sdk_module_with_assets``: module-level assets and lists of them."""

from codeloc import asset


@asset
def asset_1() -> int:
    return 1


@asset
def asset_2(asset_1: int) -> int:
    return asset_1 + 1


@asset
def asset_3() -> int:
    return 3


@asset
def asset_4(asset_3: int) -> int:
    return asset_3 + 1


more_assets = [asset_3, asset_4]
not_assets = [1, 2, 3]
