"""A second location that also materializes code_location_1_asset: a conflict."""

from codeloc import Definitions, asset


@asset
def code_location_1_asset() -> int:
    return 1


defs = Definitions(assets=[code_location_1_asset])
