"""A team's own code location: a package of its own, installed into its own image.

``tessera codeloc -m my_team`` serves the ``defs`` below. ``scaled_total`` depends on
``code_location_2_asset`` of the cross-location example by its key alone, so once this
location joins the workspace the server draws that edge across containers.
"""

import json
import os

from codeloc import AssetExecutionContext, AssetKey, Config, Definitions, asset

DATA_DIR = os.environ.get("TESSERA_EXAMPLE_DATA", "data")


class ScaleConfig(Config):
    factor: int = 2


@asset(group_name="my_team", deps=[AssetKey("code_location_2_asset")], code_version="1")
def scaled_total(context: AssetExecutionContext, config: ScaleConfig) -> int:
    """The cross-location example's total, times a factor."""
    with open(f"{DATA_DIR}/code_location_2_asset.json") as f:
        total = json.load(f)
    context.log.info("scaling %s by %s", total, config.factor)
    return int(total) * config.factor


@asset(group_name="my_team", code_version="1")
def team_report(scaled_total: int) -> str:
    """A line for the team's dashboard."""
    return f"scaled total: {scaled_total}"


defs = Definitions(assets=[scaled_total, team_report])
