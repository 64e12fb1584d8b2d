"""Assets of the cereals example, in the style of the source document."""

from codeloc import (
    AssetExecutionContext,
    Backoff,
    Config,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

CEREALS = [
    {"name": "Corn Flakes", "manufacturer": "Kellogg", "sugar_grams": 2, "rating": 45.9},
    {"name": "Frosted Flakes", "manufacturer": "Kellogg", "sugar_grams": 11, "rating": 31.4},
    {"name": "Shredded Wheat", "manufacturer": "Nabisco", "sugar_grams": 0, "rating": 68.2},
    {"name": "Honey Smacks", "manufacturer": "Kellogg", "sugar_grams": 15, "rating": 29.0},
    {"name": "Cheerios", "manufacturer": "General Mills", "sugar_grams": 1, "rating": 50.8},
    {"name": "Cream of Wheat", "manufacturer": "Nabisco", "sugar_grams": 0, "rating": 64.5},
    {"name": "Lucky Charms", "manufacturer": "General Mills", "sugar_grams": 12, "rating": 26.7},
]


@asset(group_name="cereals", code_version="1", owners=["team:data"])
def cereals(context: AssetExecutionContext) -> list[dict]:
    """Every cereal we know of."""
    context.log.info("loaded %d cereals", len(CEREALS))
    context.add_output_metadata({"rows": len(CEREALS)})
    return CEREALS


@asset(group_name="cereals", code_version="1")
def sugary_cereals(cereals: list[dict]) -> list[dict]:
    """Cereals with more than 10 g of sugar."""
    return [c for c in cereals if c["sugar_grams"] > 10]


@asset(group_name="cereals")
def nabisco_cereals(cereals: list[dict]) -> list[dict]:
    return [c for c in cereals if c["manufacturer"] == "Nabisco"]


@asset(
    group_name="shopping",
    retry_policy=RetryPolicy(max_retries=2, delay=0.05, backoff=Backoff.EXPONENTIAL),
)
def shopping_list(sugary_cereals: list[dict]) -> MaterializeResult:
    """What to buy: the sugary ones, sorted by name."""
    names = sorted(c["name"] for c in sugary_cereals)
    return MaterializeResult(metadata={"items": len(names), "list": MetadataValue.json(names)})


class TopCerealsConfig(Config):
    limit: int = 3
    min_rating: float = 0.0


@asset(group_name="cereals", tags={"tier": "gold"})
def top_cereals(config: TopCerealsConfig, cereals: list[dict]) -> list[str]:
    """The best-rated cereals; how many is configurable."""
    ranked = sorted(cereals, key=lambda c: -c["rating"])
    return [c["name"] for c in ranked if c["rating"] >= config.min_rating][: config.limit]


@asset(group_name="reports", deps=[shopping_list])
def cereal_report(context: AssetExecutionContext, top_cereals: list[str]) -> str:
    report = "Top: " + ", ".join(top_cereals)
    context.log.info(report)
    context.add_output_metadata({"length": len(report), "preview": MetadataValue.md(report)})
    return report
