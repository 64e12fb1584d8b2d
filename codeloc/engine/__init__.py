"""The engine: plan → steps → events, with in-process, multiprocess and Celery executors."""

from codeloc._context import AssetExecutionContext, build_asset_context
from codeloc._runs import AssetMaterialization, Event, EventType, RunStatus
from codeloc.engine._executor import execute_plan, run_plan
from codeloc.engine._io import (
    FilesystemIOManager,
    InMemoryIOManager,
    IOManager,
    fs_io_manager,
    mem_io_manager,
)
from codeloc.engine._materialize import (
    ExecuteInProcessResult,
    ExecuteResult,
    execute_selection,
    load_stored_value,
    materialize,
    materialize_to_memory,
)
from codeloc.engine._plan import ExecutionPlan, Step, build_plan
from codeloc.engine._resources import build_resources
from codeloc.engine._run import prepare_run, validate_step_config
from codeloc.engine._scheduler import RunOutcome

__all__ = [
    "AssetExecutionContext",
    "AssetMaterialization",
    "Event",
    "EventType",
    "ExecuteInProcessResult",
    "ExecuteResult",
    "ExecutionPlan",
    "FilesystemIOManager",
    "IOManager",
    "InMemoryIOManager",
    "RunOutcome",
    "RunStatus",
    "Step",
    "build_asset_context",
    "build_plan",
    "build_resources",
    "execute_plan",
    "execute_selection",
    "fs_io_manager",
    "load_stored_value",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "prepare_run",
    "run_plan",
    "validate_step_config",
]
