"""A small warehouse of cereal data: dependencies, config, metadata, code versions, retries."""

from codeloc import Definitions
from examples.cereals.assets import (
    cereal_report,
    cereals,
    nabisco_cereals,
    shopping_list,
    sugary_cereals,
    top_cereals,
)

defs = Definitions(
    assets=[cereals, sugary_cereals, nabisco_cereals, shopping_list, top_cereals, cereal_report]
)
