"""The second code location: ``code_location_2_asset`` depends on an asset of the first,
by its key alone; the server's merged graph draws the edge across locations."""

import json
import os

from codeloc import AssetKey, Definitions, asset

DATA_DIR = os.environ.get("TESSERA_EXAMPLE_DATA", "data")


@asset(deps=[AssetKey("code_location_1_asset")])
def code_location_2_asset():
    with open(f"{DATA_DIR}/code_location_1_asset.json") as f:
        x = json.load(f)

    with open(f"{DATA_DIR}/code_location_2_asset.json", "w+") as f:
        json.dump(x + 6, f)


defs = Definitions(assets=[code_location_2_asset])
