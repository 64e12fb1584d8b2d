"""What the steps of one run share, and how a run is prepared before any of them starts.

Every executor starts from a ``RunContext`` made here: ``materialize()`` and the run worker
(in the fork server, before forking) prepare the whole run; a Celery worker prepares the run
again for each step it is sent. Preparing validates the config of every step, applies the
run config's resource overrides and picks the IO managers, so that a bad config or a missing
resource is refused before anything runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition
from codeloc._errors import TesseraError, UnknownResourceError
from codeloc._graph import AssetGraph
from codeloc._key import AssetKey
from codeloc._resource_def import ResourceDefinition
from codeloc._run_config import RunConfig, run_config_dict
from codeloc._runs import Event
from codeloc.engine._io import IOManager, default_io_manager
from codeloc.engine._plan import ExecutionPlan

__all__ = ["RunContext", "prepare_run", "resolve_resources", "step_config"]


@dataclass
class RunContext:
    """What every step of one run shares."""

    run_id: str
    run_config: Mapping[str, Any]
    resources: Mapping[str, Any]
    io_managers: Mapping[str, IOManager]
    emit: Callable[[Event], None]
    tags: Mapping[str, str] = field(default_factory=dict)
    stored_by: Mapping[AssetKey, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep

    def emitting_to(self, emit: Callable[[Event], None]) -> RunContext:
        """The same run, reporting its events to ``emit`` (a step in another process)."""
        return replace(self, emit=emit)


def prepare_run(
    plan: ExecutionPlan,
    graph: AssetGraph,
    run_config: RunConfig | Mapping[str, Any] | None,
    resources: Mapping[str, Any],
    run_id: str,
    emit: Callable[[Event], None],
    tags: Mapping[str, str],
    *,
    ephemeral: bool,
) -> tuple[RunContext, dict[str, IOManager]]:
    """Validate config and resources for ``plan`` and build the context its steps share.

    Raises ``ConfigInvalid`` or ``UnknownResourceError`` before anything runs.
    """
    config = run_config_dict(run_config)
    for step in plan.steps:
        definition = step.definition
        config_type = definition.config_type
        if config_type is not None:
            # Imported here: at the top it would bring pydantic into every run.
            from codeloc._config import validate_config

            validate_config(config_type, step_config(config, definition), step.key)
    resolved = resolve_resources(resources, config)
    io_managers = {k: v for k, v in resolved.items() if isinstance(v, IOManager)}
    if DEFAULT_IO_MANAGER_KEY not in io_managers:
        io_managers[DEFAULT_IO_MANAGER_KEY] = default_io_manager(ephemeral)
    for step in plan.steps:
        missing = step.definition.required_resource_keys - set(resolved) - set(io_managers)
        if missing:
            raise UnknownResourceError(
                f"asset '{step.key}' requires resource {sorted(missing)}, which is not provided"
            )
    stored_by = {
        key: io_key for d in graph.definitions for key, io_key in d.io_manager_keys.items()
    }
    run = RunContext(
        run_id=run_id,
        run_config=config,
        resources=resolved,
        io_managers=io_managers,
        emit=emit,
        tags=dict(tags),
        stored_by=stored_by,
    )
    return run, io_managers


def step_config(run_config: Mapping[str, Any], definition: AssetsDefinition) -> dict[str, Any]:
    """The ``config`` block of ``definition`` in run config (by node name or asset name)."""
    ops = run_config.get("ops") or {}
    entry = ops.get(definition.node_name)
    if entry is None and len(definition.specs) == 1:
        entry = ops.get(definition.specs[0].key.name)
    if not entry:
        return {}
    config = entry.get("config", {}) if isinstance(entry, Mapping) else {}
    return dict(config or {})


def resolve_resources(
    resources: Mapping[str, Any], run_config: Mapping[str, Any]
) -> dict[str, Any]:
    """Resources with their run-config overrides applied (``{"resources": {k: {"config": …}}}``)."""
    overrides = run_config.get("resources") or {}
    if not overrides:
        return dict(resources)
    # A configurable resource exists only where its module was imported: no need to import it.
    config_module = sys.modules.get("codeloc._config")
    resource_base = getattr(config_module, "ConfigurableResource", ())
    out = dict(resources)
    for key, entry in overrides.items():
        config = entry.get("config", entry) if isinstance(entry, Mapping) else entry
        current = out.get(key)
        if isinstance(current, ResourceDefinition):
            out[key] = current.configured(config)
        elif isinstance(current, resource_base) and isinstance(config, Mapping):
            from codeloc._config import configured_by_run_config  # loaded: current is one

            out[key] = configured_by_run_config(current, config, key)
        elif current is None:
            raise TesseraError(f"run config configures resource '{key}', which does not exist")
    return out
