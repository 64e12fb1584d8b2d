from codeloc import asset

CEREALS = [
    {"name": "Corn Flakes", "manufacturer": "Kellogg", "sugar_grams": 2},
    {"name": "Frosted Flakes", "manufacturer": "Kellogg", "sugar_grams": 11},
    {"name": "Shredded Wheat", "manufacturer": "Nabisco", "sugar_grams": 0},
    {"name": "Honey Smacks", "manufacturer": "Kellogg", "sugar_grams": 15},
]


@asset
def cereals() -> list[dict]:
    """Every cereal we know of."""
    return CEREALS


@asset
def sugary_cereals(cereals: list[dict]) -> list[dict]:
    return [c for c in cereals if c["sugar_grams"] > 10]
