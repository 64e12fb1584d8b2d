"""Tessera's SDK: define assets in Python and materialize them.

Everything a user imports lives here: ``from codeloc import asset, Definitions, …``.
"""

import importlib
from typing import TYPE_CHECKING, Any

from codeloc._assets import AssetsDefinition, asset, multi_asset
from codeloc._composition import (
    ConfigMapping,
    GraphDefinition,
    GraphOut,
    graph,
    graph_asset,
    graph_multi_asset,
)
from codeloc._config_schema import Field
from codeloc._config_types import (
    Array,
    Bool,
    BoolSource,
    Enum,
    EnumValue,
    Float,
    Int,
    IntSource,
    Noneable,
    Permissive,
    Selector,
    Shape,
    String,
    StringSource,
)
from codeloc._context import AssetExecutionContext, build_asset_context
from codeloc._definitions import Definitions
from codeloc._env_var import EnvVar
from codeloc._errors import (
    ConfigInvalid,
    CycleError,
    DefinitionError,
    DuplicateKeyError,
    GroupConflictError,
    RunFailedError,
    RunInterrupted,
    SelectionError,
    TesseraError,
    UnknownResourceError,
)
from codeloc._io_context import (
    InputContext,
    OutputContext,
    build_input_context,
    build_output_context,
)
from codeloc._io_manager import IOManager, IOManagerDefinition, io_manager
from codeloc._jobs import (
    AssetJob,
    JobDefinition,
    ScheduleDefinition,
    SensorDefinition,
    define_asset_job,
    sensor,
)
from codeloc._key import AssetKey
from codeloc._loading import (
    load_assets_from_current_module,
    load_assets_from_modules,
    load_assets_from_package_module,
    load_assets_from_package_name,
    load_definitions_from_current_module,
    load_definitions_from_module,
    load_definitions_from_modules,
    load_definitions_from_package_module,
    load_definitions_from_package_name,
)
from codeloc._metadata import MetadataValue
from codeloc._ops import In, OpDefinition, OpExecutionContext, Out, build_op_context, op
from codeloc._paths import file_relative_path
from codeloc._resource_def import (
    InitResourceContext,
    ResourceDefinition,
    ResourceParam,
    build_init_resource_context,
    resource,
)
from codeloc._results import DataVersion, MaterializeResult, Output
from codeloc._retry import Backoff, Failure, Jitter, RetryPolicy, RetryRequested
from codeloc._run_config import RunConfig
from codeloc._runs import AssetMaterialization
from codeloc._selection import AssetSelection
from codeloc._spec import AssetDep, AssetIn, AssetOut, AssetSpec
from codeloc._table import (
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableRecord,
    TableSchema,
)
from codeloc._transforms import map_asset_specs, with_resources
from codeloc._version import __version__

__all__ = [
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

if TYPE_CHECKING:
    from codeloc._config import (
        Config,
        ConfigurableIOManager,
        ConfigurableIOManagerFactory,
        ConfigurableResource,
    )
    from codeloc.engine import (
        ExecuteInProcessResult,
        ExecuteResult,
        FilesystemIOManager,
        InMemoryIOManager,
        build_resources,
        fs_io_manager,
        materialize,
        materialize_to_memory,
        mem_io_manager,
    )

# Names whose modules load on first use. pydantic takes a fifth of a second to import: only
# code that uses config pays for it. The engine is left out of ``import codeloc`` so that
# the central server, which uses the pure parts of the SDK (keys, selections, run events),
# never loads the machinery that executes assets.
_LAZY = {
    "Config": "codeloc._config",
    "ConfigurableIOManager": "codeloc._config",
    "ConfigurableIOManagerFactory": "codeloc._config",
    "ConfigurableResource": "codeloc._config",
    "ExecuteInProcessResult": "codeloc.engine",
    "ExecuteResult": "codeloc.engine",
    "FilesystemIOManager": "codeloc.engine",
    "InMemoryIOManager": "codeloc.engine",
    "build_resources": "codeloc.engine",
    "fs_io_manager": "codeloc.engine",
    "materialize": "codeloc.engine",
    "materialize_to_memory": "codeloc.engine",
    "mem_io_manager": "codeloc.engine",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codeloc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here again
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
