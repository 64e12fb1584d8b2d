"""A location of table assets: a column schema as definition metadata, and a materialization
that records a schema, rows and column lineage."""

from codeloc import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableRecord,
    TableSchema,
    asset,
)

ORDERS_SCHEMA = TableSchema(
    columns=[
        TableColumn(
            "order_id",
            "int",
            description="The order's id.",
            constraints=TableColumnConstraints(nullable=False, unique=True),
        ),
        TableColumn("amount", "float", constraints=TableColumnConstraints(other=["amount >= 0"])),
        TableColumn("note"),
    ]
)


@asset
def raw_orders() -> None:
    return None


@asset(deps=[raw_orders], metadata={"dagster/column_schema": ORDERS_SCHEMA})
def orders(context: AssetExecutionContext) -> MaterializeResult:
    context.add_output_metadata(
        {
            "dagster/column_lineage": TableColumnLineage(
                {"order_id": [TableColumnDep(raw_orders.key, "id")]}
            )
        }
    )
    return MaterializeResult(
        metadata={
            "dagster/column_schema": ORDERS_SCHEMA,
            "preview": MetadataValue.table(
                [
                    TableRecord({"order_id": 1, "amount": 9.5, "paid": True, "note": None}),
                    TableRecord({"order_id": 2, "amount": 0.25, "paid": False, "note": "gift"}),
                ]
            ),
        }
    )
