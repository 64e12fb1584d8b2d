"""Table metadata (schemas, rows, column lineage), as the reference defines it.

Each expectation was checked against the reference (Dagster 1.13) with the same user code:
``TableColumn`` defaults to a nullable ``"string"`` column, record values are scalars, a table
without a schema infers one from its first row, a column's lineage is sorted and unique, and
a ``TableSchema`` or ``TableColumnLineage`` given as metadata reads back as given and is typed
as ``table_schema`` / ``column_lineage`` where it is recorded.
"""

from __future__ import annotations

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
    asset,
    materialize,
)
from codeloc._snapshot import snapshot_of
from codeloc._wire import WireError, metadata_from_json, metadata_to_json

SCHEMA = TableSchema(
    columns=[
        TableColumn(
            "id",
            "int",
            description="The order id.",
            constraints=TableColumnConstraints(nullable=False, unique=True),
        ),
        TableColumn("name"),
    ],
    constraints=TableConstraints(other=["id > 0"]),
)
LINEAGE = TableColumnLineage(
    {"id": [TableColumnDep("src_b", "id"), TableColumnDep(["src", "a"], "order_id")]}
)


def test_a_column_is_a_nullable_string_unless_told() -> None:
    column = TableColumn("name")
    assert (column.name, column.type, column.description, column.tags) == (
        "name",
        "string",
        None,
        {},
    )
    assert column.constraints == TableColumnConstraints(nullable=True, unique=False, other=[])
    assert TableColumnConstraints().other == []
    assert TableSchema([column]).constraints == TableConstraints(other=[])
    assert TableSchema([column]) == TableSchema(columns=[TableColumn("name", "string")])


def test_from_name_type_dict() -> None:
    schema = TableSchema.from_name_type_dict({"id": "int", "name": "string"})
    assert [(c.name, c.type) for c in schema.columns] == [("id", "int"), ("name", "string")]


@pytest.mark.parametrize(
    "build",
    [
        lambda: TableRecord({"a": [1]}),
        lambda: TableRecord({"a": {"b": 1}}),
        lambda: TableColumn(1),  # type: ignore[arg-type]
        lambda: TableColumn("a", type=3),  # type: ignore[arg-type]
        lambda: TableColumn("a", description=3),  # type: ignore[arg-type]
        lambda: TableColumnConstraints(nullable="no"),  # type: ignore[arg-type]
        lambda: TableConstraints(other=[1]),  # type: ignore[list-item]
        lambda: TableSchema(columns=["a"]),  # type: ignore[list-item]
        lambda: TableColumnLineage({"a": (TableColumnDep("x", "c"),)}),  # type: ignore[dict-item]
    ],
)
def test_values_of_the_wrong_type_are_refused(build: object) -> None:
    with pytest.raises(TypeError):
        build()  # type: ignore[operator]


def test_record_values_are_scalars() -> None:
    record = TableRecord({"s": "x", "i": 1, "f": 1.5, "b": True, "n": None})
    assert record.data == {"s": "x", "i": 1, "f": 1.5, "b": True, "n": None}
    with pytest.raises(TypeError, match=r"'a'.*list"):
        TableRecord({"a": [1]})


def test_lineage_is_sorted_and_unique() -> None:
    assert [(d.asset_key, d.column_name) for d in LINEAGE.deps_by_column["id"]] == [
        (AssetKey(["src", "a"]), "order_id"),
        (AssetKey("src_b"), "id"),
    ]
    with pytest.raises(ValueError, match="`a` must be unique"):
        TableColumnLineage({"a": [TableColumnDep("x", "c"), TableColumnDep("x", "c")]})


def test_a_table_infers_its_schema_from_the_first_row() -> None:
    table = MetadataValue.table([TableRecord({"i": 1, "f": 1.0, "b": True, "s": "x", "n": None})])
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("i", "int"),
        ("f", "float"),
        ("b", "bool"),
        ("s", "string"),
        ("n", "string"),
    ]
    assert table.records == [TableRecord({"i": 1, "f": 1.0, "b": True, "s": "x", "n": None})]
    assert MetadataValue.table([TableRecord({"i": 1})], SCHEMA).schema == SCHEMA


def test_a_table_needs_rows_of_one_shape_or_a_schema() -> None:
    with pytest.raises(ValueError, match="schema must be provided"):
        MetadataValue.table([])
    assert MetadataValue.table([], SCHEMA).records == []
    with pytest.raises(ValueError, match="same fields"):
        MetadataValue.table([TableRecord({"a": 1}), TableRecord({"b": 1})])
    with pytest.raises(TypeError):
        MetadataValue.table([TableRecord({"a": 1})], schema="x")  # type: ignore[arg-type]


def test_schema_and_lineage_values() -> None:
    assert MetadataValue.table_schema(SCHEMA).kind == "table_schema"
    assert MetadataValue.table_schema(SCHEMA).schema == SCHEMA
    assert MetadataValue.column_lineage(LINEAGE).lineage == LINEAGE
    assert MetadataValue.coerce(SCHEMA) == MetadataValue.table_schema(SCHEMA)
    assert MetadataValue.coerce(LINEAGE) == MetadataValue.column_lineage(LINEAGE)
    with pytest.raises(AttributeError):
        _ = MetadataValue.int(1).schema


def test_definition_metadata_reads_back_as_given_and_is_typed_in_the_snapshot() -> None:
    @asset(metadata={"dagster/column_schema": SCHEMA, "dagster/column_lineage": LINEAGE})
    def orders() -> None: ...

    metadata = orders.metadata_by_key[AssetKey("orders")]
    assert metadata["dagster/column_schema"] is SCHEMA
    assert metadata["dagster/column_lineage"] is LINEAGE
    (node,) = snapshot_of(Definitions(assets=[orders])).assets
    assert node.metadata["dagster/column_schema"] == MetadataValue.table_schema(SCHEMA)
    assert node.metadata["dagster/column_lineage"] == MetadataValue.column_lineage(LINEAGE)


def test_materialization_metadata_from_results_and_the_context() -> None:
    rows = MetadataValue.table([TableRecord({"id": 1, "name": "a"})])

    @asset
    def from_result(context: AssetExecutionContext) -> MaterializeResult:
        context.add_output_metadata({"dagster/column_lineage": LINEAGE})
        return MaterializeResult(metadata={"dagster/column_schema": SCHEMA, "rows": rows})

    @asset
    def from_output() -> Output[int]:
        return Output(1, metadata={"dagster/column_schema": SCHEMA})

    result = materialize([from_result, from_output])
    (mat,) = result.asset_materializations_for_node("from_result")
    assert mat.metadata["dagster/column_schema"].schema == SCHEMA
    assert mat.metadata["dagster/column_lineage"].lineage == LINEAGE
    assert mat.metadata["rows"].records == [TableRecord({"id": 1, "name": "a"})]
    (mat,) = result.asset_materializations_for_node("from_output")
    assert mat.metadata["dagster/column_schema"] == MetadataValue.table_schema(SCHEMA)


def test_table_values_cross_the_wire_and_bad_ones_are_refused() -> None:
    metadata = {
        "schema": MetadataValue.table_schema(SCHEMA),
        "rows": MetadataValue.table([TableRecord({"id": 1, "name": None})], SCHEMA),
        "lineage": MetadataValue.column_lineage(LINEAGE),
    }
    assert metadata_from_json(metadata_to_json(metadata)) == metadata
    bad = [
        {"kind": "table_schema", "value": {"columns": [{"type": "int"}]}},
        {"kind": "table_schema", "value": [1]},
        {"kind": "table", "value": {"records": [{"a": [1]}], "schema": {"columns": []}}},
        {"kind": "column_lineage", "value": {"deps_by_column": {"a": [{"asset_key": 3}]}}},
    ]
    for entry in bad:
        with pytest.raises(WireError, match="is not a valid"):
            metadata_from_json({"m": entry})
