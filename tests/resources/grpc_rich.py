"""A location that uses every field a snapshot carries; the round-trip tests compare them all."""

from codeloc import (
    AssetOut,
    AssetSpec,
    Backoff,
    Config,
    ConfigurableResource,
    Definitions,
    Field,
    Jitter,
    MetadataValue,
    Output,
    RetryPolicy,
    ScheduleDefinition,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
    asset,
    define_asset_job,
    graph_asset,
    multi_asset,
    op,
    resource,
    sensor,
)


class Warehouse(ConfigurableResource):
    dsn: str = "sqlite://"


class TopConfig(Config):
    limit: int = 3
    ratio: float = 0.25
    names: tuple[str, ...] = ()


vendor_feed = AssetSpec(
    ["vendor", "feed"],
    description="landed by another team",
    group_name="external",
    metadata={"sla_hours": 6},
    owners=["team:vendors"],
    tags={"tier": "bronze"},
)


@asset(
    key_prefix=["raw"],
    group_name="ingest",
    deps=[vendor_feed],
    code_version="v2",
    description="Orders, as landed.",
    metadata={
        "text": "plain",
        "count": 42,
        "ratio": 0.5,
        "flag": True,
        "nested": {"a": [1, 2.5, None, "x"], "b": {"c": False}},
        "doc": MetadataValue.md("# Orders"),
        "link": MetadataValue.url("https://example.com/orders"),
        "file": MetadataValue.path("/data/orders.parquet"),
        "nothing": None,
        "upstream": MetadataValue.asset(["vendor", "feed"]),
        "big": MetadataValue.int(2**62),
        "notebook": MetadataValue.notebook("notebooks/orders.ipynb"),
        "landed_at": MetadataValue.timestamp(1_700_000_000.25),
        "first_run": MetadataValue.dagster_run("0f1e2d3c"),
        "loader": MetadataValue.python_artifact(Definitions),
        "reload_job": MetadataValue.job("nightly", "sales", repository_name="__repository__"),
        "other_job": MetadataValue.job("everything", "sales"),
        "pool": MetadataValue.pool("warehouse"),
        "dagster/column_schema": TableSchema(
            columns=[
                TableColumn(
                    "id",
                    "int",
                    description="The order id.",
                    constraints=TableColumnConstraints(nullable=False, unique=True, other=[">0"]),
                    tags={"pk": "yes", "domain": "sales", "a": "first?"},
                ),
                TableColumn("amount", "float"),
            ],
            constraints=TableConstraints(other=["amount >= 0"]),
        ),
        "sample": MetadataValue.table(
            [
                TableRecord({"id": 1, "amount": 2.5, "paid": True, "note": None, "who": "a"}),
                TableRecord({"id": 2**62, "amount": -1.0, "paid": False, "note": "x", "who": ""}),
            ]
        ),
        "dagster/column_lineage": TableColumnLineage(
            {"id": [TableColumnDep(["vendor", "feed"], "order_id"), TableColumnDep("b", "id")]}
        ),
    },
    kinds={"python", "snowflake"},
    owners=["alice@example.com", "team:data"],
    tags={"domain": "sales", "pii": "no"},
    retry_policy=RetryPolicy(
        max_retries=3, delay=0.5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
)
def orders(warehouse: Warehouse) -> list[int]:
    return [1, 2, 3]


@asset(group_name="marts", retry_policy=RetryPolicy(max_retries=1))
def top_orders(config: TopConfig, orders: list[int]) -> list[int]:
    return sorted(orders)[-config.limit :]


@multi_asset(
    outs={
        "daily": AssetOut(key=["marts", "daily"], group_name="marts", code_version="1"),
        "weekly": AssetOut(key=["marts", "weekly"], group_name="marts", description="weekly"),
    },
    deps=[top_orders],
)
def rollups():
    yield Output(1, output_name="daily")
    yield Output(2, output_name="weekly")


@op(config_schema={"k": Field(int, default_value=2), "note": Field(str, is_required=False)})
def scale(context) -> int:
    return context.op_config["k"]


@graph_asset(group_name="graphs")
def scaled():
    """A graph asset: its ops' config is in the snapshot."""
    return scale()


nightly = define_asset_job(
    "nightly", selection="group:marts", description="the marts", tags={"team": "bi"}
)
everything = define_asset_job("everything")


@sensor(job=nightly, minimum_interval_seconds=45)
def new_orders(context):
    return None


@sensor(minimum_interval_seconds=300, name="watchdog")
def watchdog(context):
    return None


@resource(config_schema={"bucket": str, "retries": int}, description="An object store.")
def object_store(context):
    return context.resource_config


defs = Definitions(
    assets=[vendor_feed, orders, top_orders, rollups, scaled],
    jobs=[everything],
    schedules=[
        ScheduleDefinition(
            job=nightly, cron_schedule="0 3 * * *", execution_timezone="Europe/Paris"
        ),
        ScheduleDefinition(job=everything, cron_schedule="@weekly", name="weekly_all"),
    ],
    sensors=[new_orders, watchdog],
    resources={"warehouse": Warehouse(), "store": object_store},
)
