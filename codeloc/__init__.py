"""Tessera's SDK: define assets in Python and materialize them.

Everything a user imports lives here: ``from codeloc import asset, Definitions, …``.
"""

from typing import TYPE_CHECKING, Any

from codeloc._assets import AssetsDefinition, asset, multi_asset
from codeloc._definitions import Definitions
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
from codeloc._jobs import AssetJob, ScheduleDefinition, SensorDefinition, define_asset_job, sensor
from codeloc._key import AssetKey
from codeloc._loading import load_assets_from_modules, load_assets_from_package_module
from codeloc._metadata import MetadataValue
from codeloc._ops import GraphDefinition, OpDefinition, graph, graph_asset, op
from codeloc._results import MaterializeResult, Output
from codeloc._retry import Backoff, Jitter, RetryPolicy
from codeloc._run_config import RunConfig
from codeloc._selection import AssetSelection
from codeloc._spec import AssetIn, AssetOut, AssetSpec
from codeloc._version import __version__
from codeloc.engine import (
    AssetExecutionContext,
    AssetMaterialization,
    ExecuteResult,
    FilesystemIOManager,
    InMemoryIOManager,
    IOManager,
    build_asset_context,
    materialize,
)

__all__ = [
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
    "Config",
    "ConfigInvalid",
    "ConfigurableResource",
    "CycleError",
    "DefinitionError",
    "Definitions",
    "DuplicateKeyError",
    "ExecuteResult",
    "FilesystemIOManager",
    "GraphDefinition",
    "GroupConflictError",
    "IOManager",
    "InMemoryIOManager",
    "Jitter",
    "MaterializeResult",
    "MetadataValue",
    "OpDefinition",
    "Output",
    "RetryPolicy",
    "RunConfig",
    "RunFailedError",
    "RunInterrupted",
    "ScheduleDefinition",
    "SelectionError",
    "SensorDefinition",
    "TesseraError",
    "UnknownResourceError",
    "__version__",
    "asset",
    "build_asset_context",
    "define_asset_job",
    "graph",
    "graph_asset",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "materialize",
    "multi_asset",
    "op",
    "sensor",
]

if TYPE_CHECKING:
    from codeloc._config import Config, ConfigurableResource


def __getattr__(name: str) -> Any:
    # pydantic takes a fifth of a second to import; only code that uses config pays for it.
    if name in ("Config", "ConfigurableResource"):
        from codeloc import _config

        return getattr(_config, name)
    raise AttributeError(f"module 'codeloc' has no attribute {name!r}")
