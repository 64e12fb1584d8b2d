"""The first of two code locations: it materializes ``code_location_1_asset``."""

import json
import os

from codeloc import Definitions, asset

DATA_DIR = os.environ.get("TESSERA_EXAMPLE_DATA", "data")


@asset
def code_location_1_asset():
    os.makedirs(DATA_DIR, exist_ok=True)
    with open(f"{DATA_DIR}/code_location_1_asset.json", "w+") as f:
        json.dump(5, f)


defs = Definitions(assets=[code_location_1_asset])
