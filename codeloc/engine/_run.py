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
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition
from codeloc._errors import TesseraError, UnknownResourceError
from codeloc._graph import AssetGraph
from codeloc._io_manager import check_default_io_manager, check_io_manager_keys
from codeloc._key import AssetKey
from codeloc._node_assets import check_node_config
from codeloc._resource_def import ResourceDefinition, check_resource_dependencies
from codeloc._retry import RetryPolicy
from codeloc._run_config import RunConfig, run_config_dict
from codeloc._runs import Event
from codeloc.engine._io import IOManager, default_io_manager
from codeloc.engine._plan import ExecutionPlan

__all__ = [
    "RunContext",
    "prepare_run",
    "resolve_resources",
    "step_config",
    "validate_step_config",
]


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
    #: the policy of the steps whose definition has none (a job's ``op_retry_policy``)
    retry_policy: RetryPolicy | None = None
    #: the graph the run's assets are part of (their upstream's definitions, for IO contexts)
    graph: AssetGraph | None = None
    #: the config each resource was set up with, by key (filled in as resources set up)
    resource_configs: Mapping[str, Any] = field(default_factory=dict)
    #: where ``materialize()`` keeps the values stored in its own process, for
    #: ``asset_value`` (shared by the copies of this context); ``None`` elsewhere
    captured: dict[AssetKey, Any] | None = None

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
    retry_policy: RetryPolicy | None = None,
) -> tuple[RunContext, dict[str, IOManager]]:
    """Validate config and resources for ``plan`` and build the context its steps share.

    Raises ``ConfigInvalid`` or ``UnknownResourceError`` before anything runs.
    """
    config = run_config_dict(run_config)
    for step in plan.steps:
        validate_step_config(step.definition, config, step.key)
        check_node_config(step.definition, config)
    used = {DEFAULT_IO_MANAGER_KEY}.union(
        *(s.definition.required_resource_keys for s in plan.steps)
    )
    resolved = resolve_resources(resources, config, used)
    # The default IO manager is a resource of the run like any other (context.resources).
    if DEFAULT_IO_MANAGER_KEY not in resolved:
        resolved[DEFAULT_IO_MANAGER_KEY] = default_io_manager(ephemeral)
    check_default_io_manager(resolved)
    check_resource_dependencies(resolved)
    # The IO managers that exist before the run sets up its resources; one that a function
    # or a factory builds joins them as the run sets it up (see ``resources_set_up``).
    io_managers = {k: v for k, v in resolved.items() if isinstance(v, IOManager)}
    for step in plan.steps:
        if step.definition.required_resource_keys:
            check_io_manager_keys(step.definition, resolved)
        missing = step.definition.required_resource_keys - set(resolved)
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
        retry_policy=retry_policy,
        graph=graph,
    )
    return run, io_managers


def validate_step_config(
    definition: AssetsDefinition, run_config: Mapping[str, Any], name: str | None = None
) -> None:
    """Raise ``ConfigInvalid`` (naming ``name``, by default the node) when the config of
    ``definition`` in ``run_config`` does not fit its schema."""
    config_type = definition.config_type
    if config_type is not None:
        # Imported here: at the top it would bring pydantic into every run.
        from codeloc._config import validate_config

        validate_config(
            config_type, step_config(run_config, definition), name or definition.node_name
        )
    schema = definition.signature.config_schema
    if schema is not None:
        schema.validate(step_config(run_config, definition), name or definition.node_name)


def step_config(run_config: Mapping[str, Any], definition: AssetsDefinition) -> Any:
    """The ``config`` block of ``definition`` in run config (by node name or asset name): a
    dict, or the value itself under a scalar classic schema (``config_schema=int``)."""
    ops = run_config.get("ops") or {}
    entry = ops.get(definition.node_name)
    if entry is None and len(definition.specs) == 1:
        entry = ops.get(definition.specs[0].key.name)
    if not entry:
        return {}
    config = entry.get("config", {}) if isinstance(entry, Mapping) else {}
    if config is None:
        return {}
    return dict(config) if isinstance(config, Mapping) else config


def resolve_resources(
    resources: Mapping[str, Any],
    run_config: Mapping[str, Any],
    used: Collection[str] | None = None,
) -> dict[str, Any]:
    """Resources with their run-config overrides applied (``{"resources": {k: {"config": …}}}``).

    A resource configured at launch (``configure_at_launch()``) is built from its run config
    here, so that a missing or invalid field raises ``ConfigInvalid`` before any step; one
    that the run does not use (not in ``used``, when given) is left out instead.
    """
    overrides = run_config.get("resources") or {}
    # A configurable resource exists only where its module was imported: no need to import it.
    config_module = sys.modules.get("codeloc._config")
    if not overrides and config_module is None:
        return dict(resources)
    resource_base = getattr(config_module, "ConfigurableResource", ())
    partial_base = getattr(config_module, "PartialResource", ())
    out = dict(resources)
    for key, entry in overrides.items():
        config = entry.get("config", entry) if isinstance(entry, Mapping) else entry
        current = out.get(key)
        if isinstance(current, ResourceDefinition):
            out[key] = current.configured(config)
        elif isinstance(current, partial_base):
            out[key] = current.resolve(key, config if isinstance(config, Mapping) else None)
        elif isinstance(current, resource_base) and isinstance(config, Mapping):
            from codeloc._config import configured_by_run_config  # loaded: current is one

            out[key] = configured_by_run_config(current, config, key)
        elif current is None:
            raise TesseraError(f"run config configures resource '{key}', which does not exist")
    for key, value in resources.items():
        if isinstance(value, partial_base) and out[key] is value:
            if used is None or key in used:
                out[key] = value.resolve(key, None)  # raises if a required field is missing
            else:
                del out[key]
    return out
