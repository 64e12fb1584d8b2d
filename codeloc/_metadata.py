"""Typed metadata values attached to assets and to materializations.

Plain Python values are normalized to typed ones: ``5`` becomes ``MetadataValue.int(5)``,
``"x"`` ``MetadataValue.text("x")``, and so on, so that the UI can plot numbers and the wire
format stays typed. A materialization's metadata is normalized when it is recorded, and a
value of no known type is refused (``normalize_metadata``). A definition's metadata is kept
as given, as in the reference, and normalized when the snapshot is built; there a value of
no known type is shown as ``"[TypeName] (unserializable)"`` (``definition_metadata``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from codeloc._key import AssetKey
from codeloc._table import (
    TableColumnLineage,
    TableRecord,
    TableSchema,
    lineage_from_json,
    lineage_to_json,
    schema_from_json,
    schema_to_json,
    table_from_json,
    table_schema_of,
    table_to_json,
)

__all__ = ["MetadataValue", "definition_metadata", "normalize_metadata"]


@dataclass(frozen=True, slots=True)
class MetadataValue:
    """A typed metadata value; build one with a static constructor: ``MetadataValue.int(3)``.

    ``kind`` is one of ``KINDS``. ``value`` is a JSON value: a ``str`` for text, markdown,
    URLs, paths, notebooks, run ids, pools and assets (the key as ``"a/b"``); seconds since
    the epoch for a timestamp; ``{"module", "name"}`` for a Python artifact;
    ``{"job_name", "location_name", "repository_name"}`` for a job; for table metadata the
    JSON form of ``codeloc._table`` (``.schema``, ``.records`` and ``.column_lineage`` give
    the typed values back).
    """

    kind: str
    value: Any

    KINDS: ClassVar[frozenset[str]] = frozenset(
        {
            "text",
            "int",
            "float",
            "bool",
            "json",
            "md",
            "url",
            "path",
            "null",
            "asset",
            "notebook",
            "timestamp",
            "run",
            "job",
            "python_artifact",
            "pool",
            "table",
            "table_schema",
            "column_lineage",
        }
    )

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown metadata kind {self.kind!r}")

    @staticmethod
    def text(value: str) -> MetadataValue:
        return MetadataValue("text", str(value))

    @staticmethod
    def int(value: int) -> MetadataValue:
        return MetadataValue("int", int(value))

    @staticmethod
    def float(value: float) -> MetadataValue:
        return MetadataValue("float", float(value))

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        return MetadataValue("bool", bool(value))

    @staticmethod
    def json(value: Any) -> MetadataValue:
        json.dumps(value)  # refuse what cannot travel, at the point where it is created
        return MetadataValue("json", value)

    @staticmethod
    def md(value: str) -> MetadataValue:
        return MetadataValue("md", str(value))

    @staticmethod
    def url(value: str) -> MetadataValue:
        return MetadataValue("url", str(value))

    @staticmethod
    def path(value: Any) -> MetadataValue:
        return MetadataValue("path", str(value))

    @staticmethod
    def null() -> MetadataValue:
        return MetadataValue("null", None)

    @staticmethod
    def asset(value: Any) -> MetadataValue:
        return MetadataValue("asset", AssetKey.from_coercible(value).to_user_string())

    @staticmethod
    def notebook(path: str | os.PathLike[str]) -> MetadataValue:
        """The path of a Jupyter notebook."""
        return MetadataValue("notebook", os.fspath(path))

    @staticmethod
    def timestamp(value: builtins.float | dt.datetime) -> MetadataValue:
        """A point in time: seconds since the epoch, or a ``datetime`` with a time zone."""
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError(
                    "Datetime values provided to MetadataValue.timestamp must have timezones, "
                    f"but {value.isoformat()} does not"
                )
            return MetadataValue("timestamp", value.timestamp())
        return MetadataValue("timestamp", float(value))

    @staticmethod
    def dagster_run(run_id: str) -> MetadataValue:
        """A link to a run, by its id."""
        return MetadataValue("run", str(run_id))

    @staticmethod
    def job(
        job_name: str, location_name: str, *, repository_name: str | None = None
    ) -> MetadataValue:
        """A link to a job of a code location."""
        return MetadataValue(
            "job",
            {
                "job_name": job_name,
                "location_name": location_name,
                "repository_name": repository_name,
            },
        )

    @staticmethod
    def python_artifact(python_artifact: Callable[..., Any]) -> MetadataValue:
        """A Python function or class, by its module and name."""
        return MetadataValue(
            "python_artifact",
            {"module": python_artifact.__module__, "name": python_artifact.__name__},
        )

    @staticmethod
    def pool(pool: str) -> MetadataValue:
        """The name of a concurrency pool."""
        return MetadataValue("pool", str(pool))

    @staticmethod
    def table(records: Sequence[TableRecord], schema: TableSchema | None = None) -> MetadataValue:
        """Rows of a table; without a ``schema`` one is inferred from the first row."""
        records = list(records)
        return MetadataValue("table", table_to_json(records, table_schema_of(records, schema)))

    @staticmethod
    def table_schema(schema: TableSchema) -> MetadataValue:
        """The schema of a table: its columns and their constraints."""
        if not isinstance(schema, TableSchema):
            raise TypeError(f"MetadataValue.table_schema takes a TableSchema, not {schema!r}")
        return MetadataValue("table_schema", schema_to_json(schema))

    @staticmethod
    def column_lineage(lineage: TableColumnLineage) -> MetadataValue:
        """The columns of other assets that each column of a table is computed from."""
        if not isinstance(lineage, TableColumnLineage):
            raise TypeError(
                f"MetadataValue.column_lineage takes a TableColumnLineage, not {lineage!r}"
            )
        return MetadataValue("column_lineage", lineage_to_json(lineage))

    @property
    def schema(self) -> TableSchema:
        """The ``TableSchema`` of a ``table`` or ``table_schema`` value."""
        if self.kind == "table_schema":
            return schema_from_json(self.value)
        if self.kind == "table":
            return table_from_json(self.value)[1]
        raise AttributeError(f"a {self.kind} metadata value has no schema")

    @property
    def records(self) -> list[TableRecord]:
        """The rows of a ``table`` value."""
        if self.kind != "table":
            raise AttributeError(f"a {self.kind} metadata value has no records")
        return table_from_json(self.value)[0]

    @property
    def lineage(self) -> TableColumnLineage:
        """The ``TableColumnLineage`` of a ``column_lineage`` value."""
        if self.kind != "column_lineage":
            raise AttributeError(f"a {self.kind} metadata value has no column lineage")
        return lineage_from_json(self.value)

    @staticmethod
    def coerce(value: Any) -> MetadataValue:
        """Turn a raw Python value into a typed one (a ``MetadataValue`` is kept as is)."""
        if isinstance(value, MetadataValue):
            return value
        if value is None:
            return MetadataValue("null", None)
        # bool before int: bool is a subclass of int
        if isinstance(value, bool):
            return MetadataValue("bool", value)
        if isinstance(value, int):
            return MetadataValue("int", value)
        if isinstance(value, float):
            return MetadataValue("float", value)
        if isinstance(value, str):
            return MetadataValue("text", value)
        if isinstance(value, AssetKey):  # before tuple: a key may be one
            return MetadataValue("asset", value.to_user_string())
        if isinstance(value, list | dict | tuple):
            return MetadataValue.json(value)
        if isinstance(value, os.PathLike):
            return MetadataValue("path", os.fspath(value))
        if isinstance(value, TableSchema):
            return MetadataValue.table_schema(value)
        if isinstance(value, TableColumnLineage):
            return MetadataValue.column_lineage(value)
        raise TypeError(
            f"metadata value {value!r} of type {type(value).__name__} is not supported; "
            "use a str, int, float, bool, list, dict, TableSchema, TableColumnLineage "
            "or a MetadataValue"
        )


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    """Normalize a metadata mapping; an empty or missing one gives an empty dict."""
    if not metadata:
        return {}
    return {str(k): MetadataValue.coerce(v) for k, v in metadata.items()}


def definition_metadata(metadata: Mapping[str, Any]) -> dict[str, MetadataValue]:
    """A definition's metadata, typed for the snapshot.

    As in the reference, a value of no known type (or a ``dict`` that is not JSON) does not
    fail the definition: it is shown as ``"[TypeName] (unserializable)"``, and the code
    still reads the value itself from ``spec.metadata``.
    """
    if not metadata:
        return {}
    out: dict[str, MetadataValue] = {}
    for name, value in metadata.items():
        try:
            out[str(name)] = MetadataValue.coerce(value)
        except (TypeError, ValueError):
            out[str(name)] = MetadataValue("text", f"[{type(value).__name__}] (unserializable)")
    return out
