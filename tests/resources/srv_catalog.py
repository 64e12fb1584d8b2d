"""A location whose assets have kinds, owners and resources, for the catalog's filters."""

import datetime as dt

from codeloc import ConfigurableResource, Definitions, MetadataValue, asset, resource


class Warehouse(ConfigurableResource):
    """A SQL warehouse."""

    dsn: str = "sqlite://"
    pool_size: int = 4


@resource(config_schema={"bucket": str}, description="An object store.")
def object_store(context):
    return context.resource_config


@asset(
    kinds={"python", "snowflake"},
    owners=["team:data", "alice@example.com"],
    metadata={
        "rows": 3,
        "landed": MetadataValue.timestamp(dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)),
        "reload": MetadataValue.job("nightly", "catalog"),
        "loader": MetadataValue.python_artifact(Definitions),
        "when": dt.date(2024, 5, 1),
    },
)
def orders(warehouse: Warehouse) -> int:
    return 1


@asset(kinds={"python"}, owners=["team:data"], required_resource_keys={"store"})
def files() -> int:
    return 2


@asset(owners=["bob@example.com"], group_name="reports")
def summary(orders: int, files: int) -> int:
    return orders + files


defs = Definitions(
    assets=[orders, files, summary],
    resources={"warehouse": Warehouse(), "store": object_store.configured({"bucket": "b"})},
)
