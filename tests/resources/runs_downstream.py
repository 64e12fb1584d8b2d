"""A downstream location that depends on runs_upstream's asset."""

from codeloc import AssetKey, Definitions, asset


@asset(deps=[AssetKey("upstream_fails")])
def downstream_of_failure() -> int:
    return 1


defs = Definitions(assets=[downstream_of_failure])
