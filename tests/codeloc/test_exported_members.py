"""The public names of ``codeloc``: every name the source document uses, and nothing by accident."""

import inspect
from typing import Any

import pytest

import codeloc

# The names the source document (and the SDK issue) uses, with ``from codeloc import …``.
SOURCE_DOCUMENT_NAMES = {
    "asset",
    "multi_asset",
    "AssetOut",
    "AssetIn",
    "AssetKey",
    "AssetsDefinition",
    "AssetSpec",
    "Definitions",
    "Config",
    "RunConfig",
    "ConfigurableResource",
    "AssetExecutionContext",
    "build_asset_context",
    "MaterializeResult",
    "Output",
    "DataVersion",
    "MetadataValue",
    "RetryPolicy",
    "RetryRequested",
    "Backoff",
    "Jitter",
    "materialize",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "define_asset_job",
    "AssetSelection",
    "graph_asset",
    "op",
    "graph",
}

EXPORTED = [
    "Any",
    "Array",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetJob",
    "AssetKey",
    "AssetMaterialization",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "Backoff",
    "Bool",
    "BoolSource",
    "Config",
    "ConfigInvalid",
    "ConfigMapping",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableResource",
    "CycleError",
    "DataVersion",
    "DefinitionError",
    "Definitions",
    "DuplicateKeyError",
    "Enum",
    "EnumValue",
    "EnvVar",
    "ExecuteInProcessResult",
    "ExecuteResult",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "Float",
    "GraphDefinition",
    "GraphOut",
    "GroupConflictError",
    "IOManager",
    "IOManagerDefinition",
    "In",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "Int",
    "IntSource",
    "Jitter",
    "JobDefinition",
    "MaterializeResult",
    "MetadataValue",
    "Noneable",
    "OpDefinition",
    "OpExecutionContext",
    "Out",
    "Output",
    "OutputContext",
    "Permissive",
    "ResourceDefinition",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "RunConfig",
    "RunFailedError",
    "RunInterrupted",
    "ScheduleDefinition",
    "SelectionError",
    "Selector",
    "SensorDefinition",
    "Shape",
    "String",
    "StringSource",
    "TableColumn",
    "TableColumnConstraints",
    "TableColumnDep",
    "TableColumnLineage",
    "TableConstraints",
    "TableRecord",
    "TableSchema",
    "TesseraError",
    "UnknownResourceError",
    "__version__",
    "asset",
    "build_asset_context",
    "build_init_resource_context",
    "build_input_context",
    "build_op_context",
    "build_output_context",
    "build_resources",
    "define_asset_job",
    "file_relative_path",
    "fs_io_manager",
    "graph",
    "graph_asset",
    "graph_multi_asset",
    "io_manager",
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
    "load_definitions_from_current_module",
    "load_definitions_from_module",
    "load_definitions_from_modules",
    "load_definitions_from_package_module",
    "load_definitions_from_package_name",
    "map_asset_specs",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "multi_asset",
    "op",
    "resource",
    "sensor",
    "with_resources",
]


def test_all_is_pinned() -> None:
    assert codeloc.__all__ == EXPORTED


# The reference's names for Python's own types in classic config: the same objects.
CONFIG_ALIASES = {"Any": Any, "Bool": bool, "Float": float, "Int": int, "String": str}


def test_every_exported_name_resolves_to_a_public_object() -> None:
    for name in codeloc.__all__:
        value = getattr(codeloc, name)
        if name == "__version__":
            assert isinstance(value, str)
            continue
        if name in CONFIG_ALIASES:
            assert value is CONFIG_ALIASES[name], name
            continue
        module = inspect.getmodule(value)
        assert module is not None, name
        assert module.__name__.startswith("codeloc"), (name, module.__name__)


def test_source_document_names_are_exported() -> None:
    assert set(codeloc.__all__) >= SOURCE_DOCUMENT_NAMES


def test_config_classes_are_pydantic_models_imported_on_demand() -> None:
    from pydantic import BaseModel

    from codeloc import Config, ConfigurableResource

    assert issubclass(Config, BaseModel)
    assert issubclass(ConfigurableResource, BaseModel)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        codeloc.NoSuchThing  # noqa: B018


def test_every_exception_derives_from_the_one_root() -> None:
    errors = [
        codeloc.ConfigInvalid,
        codeloc.CycleError,
        codeloc.DefinitionError,
        codeloc.DuplicateKeyError,
        codeloc.GroupConflictError,
        codeloc.RunFailedError,
        codeloc.RunInterrupted,
        codeloc.SelectionError,
        codeloc.UnknownResourceError,
    ]
    for error in errors:
        assert issubclass(error, codeloc.TesseraError), error
    for error in (
        codeloc.CycleError,
        codeloc.DuplicateKeyError,
        codeloc.GroupConflictError,
        codeloc.UnknownResourceError,
    ):
        assert issubclass(error, codeloc.DefinitionError), error
