"""Table metadata: the schema of a table, rows of one, and where its columns come from.

Frozen values, built and checked as the reference builds them (``TableColumn("id")`` is a
nullable ``"string"`` column with no other constraint). ``MetadataValue.table_schema``,
``MetadataValue.table`` and ``MetadataValue.column_lineage`` carry them as JSON values, made
by the ``*_to_json`` functions here and read back by ``*_from_json``; for every value ``v``,
``x_from_json(x_to_json(v)) == v``. A ``*_from_json`` raises ``ValueError`` naming the field
that is wrong, so the server can answer bad input with a 4xx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codeloc._key import AssetKey, CoercibleToAssetKey

__all__ = [
    "RecordValue",
    "TableColumn",
    "TableColumnConstraints",
    "TableColumnDep",
    "TableColumnLineage",
    "TableConstraints",
    "TableRecord",
    "TableSchema",
    "infer_column_type",
    "lineage_from_json",
    "lineage_to_json",
    "schema_from_json",
    "schema_to_json",
    "table_from_json",
    "table_schema_of",
    "table_to_json",
]

RecordValue = str | int | float | bool | None
_RECORD_TYPES = (str, int, float, bool, type(None))


def _check(value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise TypeError(f"{what} must be a {names}, not {type(value).__name__} ({value!r})")


def _strings(values: Sequence[str] | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of str, not a str ({values!r})")
    out = list(values)
    for v in out:
        _check(v, str, f"each of {what}")
    return out


@dataclass(frozen=True, init=False)
class TableRecord:
    """One row of a table: column names to scalar values (``str``, ``int``, ``float``,
    ``bool`` or ``None``)."""

    data: Mapping[str, RecordValue]

    def __init__(self, data: Mapping[str, RecordValue]) -> None:
        _check(data, Mapping, "TableRecord data")
        for name, value in data.items():
            _check(name, str, "a TableRecord column name")
            if not isinstance(value, _RECORD_TYPES):
                raise TypeError(
                    f"TableRecord value for {name!r} must be a str, int, float, bool or None, "
                    f"not {type(value).__name__} ({value!r})"
                )
        object.__setattr__(self, "data", dict(data))


@dataclass(frozen=True, init=False)
class TableConstraints:
    """Table-level constraints, each described by a string (``"foo > bar"``)."""

    other: list[str]

    def __init__(self, other: Sequence[str]) -> None:
        object.__setattr__(self, "other", _strings(other, "TableConstraints.other"))


@dataclass(frozen=True, init=False)
class TableColumnConstraints:
    """A column's constraints: ``nullable`` (default ``True``), ``unique`` (default
    ``False``) and ``other``, strings describing any other constraint."""

    nullable: bool
    unique: bool
    other: list[str]

    def __init__(
        self, nullable: bool = True, unique: bool = False, other: Sequence[str] | None = None
    ) -> None:
        _check(nullable, bool, "TableColumnConstraints.nullable")
        _check(unique, bool, "TableColumnConstraints.unique")
        object.__setattr__(self, "nullable", nullable)
        object.__setattr__(self, "unique", unique)
        object.__setattr__(self, "other", _strings(other, "TableColumnConstraints.other"))


@dataclass(frozen=True, init=False)
class TableColumn:
    """A column of a table: only ``name`` is required; ``type`` is any string, ``"string"``
    by default; with no ``constraints`` the column is nullable and unconstrained."""

    name: str
    type: str
    description: str | None
    constraints: TableColumnConstraints
    tags: Mapping[str, str]

    def __init__(
        self,
        name: str,
        type: str = "string",
        description: str | None = None,
        constraints: TableColumnConstraints | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        _check(name, str, "TableColumn.name")
        _check(type, str, f"the type of column {name!r}")
        if description is not None:
            _check(description, str, f"the description of column {name!r}")
        if constraints is None:
            constraints = TableColumnConstraints()
        _check(constraints, TableColumnConstraints, f"the constraints of column {name!r}")
        tags = dict(tags or {})
        for k, v in tags.items():
            _check(k, str, f"a tag key of column {name!r}")
            _check(v, str, f"the value of tag {k!r} of column {name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "constraints", constraints)
        object.__setattr__(self, "tags", tags)


@dataclass(frozen=True, init=False)
class TableSchema:
    """The schema of a table: its columns and, optionally, table-level constraints."""

    columns: list[TableColumn]
    constraints: TableConstraints

    def __init__(
        self, columns: Sequence[TableColumn], constraints: TableConstraints | None = None
    ) -> None:
        cols = list(columns)
        for c in cols:
            _check(c, TableColumn, "each of TableSchema.columns")
        if constraints is None:
            constraints = TableConstraints([])
        _check(constraints, TableConstraints, "TableSchema.constraints")
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "constraints", constraints)

    @staticmethod
    def from_name_type_dict(name_type_dict: Mapping[str, str]) -> TableSchema:
        """A schema of the named columns, each of the given type."""
        return TableSchema([TableColumn(name, type_) for name, type_ in name_type_dict.items()])


@dataclass(frozen=True, init=False)
class TableColumnDep:
    """A column of another asset that a column depends on."""

    asset_key: AssetKey
    column_name: str

    def __init__(self, asset_key: CoercibleToAssetKey, column_name: str) -> None:
        object.__setattr__(self, "asset_key", AssetKey.from_coercible(asset_key))
        object.__setattr__(self, "column_name", column_name)


@dataclass(frozen=True, init=False)
class TableColumnLineage:
    """For each column of a table, the columns of other assets it is computed from.

    Each column's deps are sorted by asset key and column name, and must be unique.
    """

    deps_by_column: Mapping[str, list[TableColumnDep]]

    def __init__(self, deps_by_column: Mapping[str, Sequence[TableColumnDep]]) -> None:
        _check(deps_by_column, Mapping, "TableColumnLineage.deps_by_column")
        out: dict[str, list[TableColumnDep]] = {}
        for column, deps in deps_by_column.items():
            _check(column, str, "a column of TableColumnLineage.deps_by_column")
            _check(deps, list, f"the deps of column {column!r}")
            for dep in deps:
                _check(dep, TableColumnDep, f"each dep of column {column!r}")
            if len({(d.asset_key, d.column_name) for d in deps}) != len(deps):
                raise ValueError(
                    f"The deps for column `{column}` must be unique by asset key and column name."
                )
            out[column] = sorted(deps, key=lambda d: (d.asset_key.path, d.column_name))
        object.__setattr__(self, "deps_by_column", out)


def infer_column_type(value: object) -> str:
    """The column type the reference infers for a record value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string"


def table_schema_of(records: Sequence[TableRecord], schema: TableSchema | None) -> TableSchema:
    """The schema of a table of ``records``: ``schema``, or one inferred from the first row.

    Raises ``ValueError`` when there are no records and no schema, or the records differ in
    their columns.
    """
    for r in records:
        _check(r, TableRecord, "each record of a table")
    if schema is not None:
        _check(schema, TableSchema, "the schema of a table")
    if not records:
        if schema is None:
            raise ValueError("schema must be provided if records is empty")
        return schema
    columns = set(records[0].data)
    if any(set(r.data) != columns for r in records[1:]):
        raise ValueError("All records must have the same fields")
    if schema is not None:
        return schema
    return TableSchema([TableColumn(k, infer_column_type(v)) for k, v in records[0].data.items()])


# -- JSON ---------------------------------------------------------------------------------------


def schema_to_json(schema: TableSchema) -> dict[str, Any]:
    return {
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "description": c.description,
                "constraints": {
                    "nullable": c.constraints.nullable,
                    "unique": c.constraints.unique,
                    "other": list(c.constraints.other),
                },
                "tags": dict(c.tags),
            }
            for c in schema.columns
        ],
        "constraints": {"other": list(schema.constraints.other)},
    }


def _get(data: Any, name: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, not {type(data).__name__}")
    value = data.get(name, default)
    if not isinstance(value, kind):
        raise ValueError(f"{where}.{name} has the wrong type ({type(value).__name__})")
    return value


def schema_from_json(data: Any, where: str = "schema") -> TableSchema:
    try:
        columns = []
        for i, c in enumerate(_get(data, "columns", list, where, None)):
            at = f"{where}.columns[{i}]"
            cons = _get(c, "constraints", dict, at, {})
            columns.append(
                TableColumn(
                    name=_get(c, "name", str, at, None),
                    type=_get(c, "type", str, at, "string"),
                    description=_get(c, "description", (str, type(None)), at, None),
                    constraints=TableColumnConstraints(
                        nullable=_get(cons, "nullable", bool, f"{at}.constraints", True),
                        unique=_get(cons, "unique", bool, f"{at}.constraints", False),
                        other=_get(cons, "other", list, f"{at}.constraints", []),
                    ),
                    tags=_get(c, "tags", dict, at, {}),
                )
            )
        table_cons = _get(data, "constraints", dict, where, {})
        other = _get(table_cons, "other", list, f"{where}.constraints", [])
        return TableSchema(columns, TableConstraints(other))
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def table_to_json(records: Sequence[TableRecord], schema: TableSchema) -> dict[str, Any]:
    return {"records": [dict(r.data) for r in records], "schema": schema_to_json(schema)}


def table_from_json(data: Any, where: str = "table") -> tuple[list[TableRecord], TableSchema]:
    rows = _get(data, "records", list, where, None)
    try:
        records = [TableRecord(r) for r in rows]
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{where}.records: {exc}") from exc
    schema = schema_from_json(_get(data, "schema", dict, where, None), f"{where}.schema")
    return records, table_schema_of(records, schema)


def lineage_to_json(lineage: TableColumnLineage) -> dict[str, Any]:
    return {
        "deps_by_column": {
            column: [
                {"asset_key": d.asset_key.to_user_string(), "column_name": d.column_name}
                for d in deps
            ]
            for column, deps in lineage.deps_by_column.items()
        }
    }


def lineage_from_json(data: Any, where: str = "column_lineage") -> TableColumnLineage:
    by_column = _get(data, "deps_by_column", dict, where, None)
    try:
        return TableColumnLineage(
            {
                column: [
                    TableColumnDep(
                        AssetKey.from_user_string(_get(d, "asset_key", str, at, None)),
                        _get(d, "column_name", str, at, None),
                    )
                    for d in _get(by_column, column, list, f"{where}.deps_by_column", None)
                ]
                for column in by_column
                for at in [f"{where}.deps_by_column.{column}"]
            }
        )
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc
