"""A step's calls of its IO managers: which manager stores or loads each value, the context
it is handed, and the error that names the asset when it fails.

An output is stored by the IO manager of its ``io_manager_key`` (``"io_manager"`` by
default); an input is loaded by its ``AssetIn(input_manager_key=)`` if it has one, else by
the manager that stores the upstream asset. The ``InputContext`` carries, as
``upstream_output``, the ``OutputContext`` the upstream value was stored with (its key,
output name, definition metadata and IO manager config), so that the manager finds it.
"""

from __future__ import annotations

from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition
from codeloc._errors import RunInterrupted, TesseraError
from codeloc._io_context import InputContext, OutputContext
from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._retry import RetryRequested
from codeloc._runs import Event, EventType
from codeloc._signature import InputSpec
from codeloc._spec import AssetSpec
from codeloc._step_logs import StepLogs
from codeloc.engine._plan import Step
from codeloc.engine._run import RunContext

__all__ = ["input_manager_key", "load_input", "step_io_manager_keys", "store_output"]


def input_manager_key(run: RunContext, inp: InputSpec) -> str:
    """The key of the IO manager that loads ``inp``."""
    return inp.input_manager_key or run.stored_by.get(inp.key, DEFAULT_IO_MANAGER_KEY)


def step_io_manager_keys(run: RunContext, step: Step) -> set[str]:
    """The keys of the IO managers ``step`` stores its outputs and loads its inputs with."""
    definition = step.definition
    keys = {definition.io_manager_key_for(key) for key in step.keys}
    keys.update(input_manager_key(run, inp) for inp in definition.inputs)
    return keys


def _output_context(
    run: RunContext,
    key: AssetKey,
    io_key: str,
    *,
    step_key: str | None,
    name: str,
    spec: AssetSpec | None,
    logs: StepLogs | None,
) -> OutputContext:
    return OutputContext(
        key,
        run.run_id,
        step_key,
        name=name,
        definition_metadata=spec.metadata if spec is not None else None,
        resources=run.resources,
        resource_config=run.resource_configs.get(io_key),
        logs=logs,
        asset_spec=spec,
    )


def upstream_output_context(run: RunContext, key: AssetKey, io_key: str) -> OutputContext:
    """The context the value of ``key`` was stored with, as its IO manager saw it."""
    graph = run.graph
    definition = graph.definition_by_key.get(key) if graph is not None else None
    if definition is None:  # an asset of another location, or one declared with AssetSpec
        spec = graph.declared_external.get(key) if graph is not None else None
        return _output_context(run, key, io_key, step_key=None, name="result", spec=spec, logs=None)
    name, spec = next(
        (n, s)
        for n, s in zip(definition.output_names, definition.specs, strict=True)
        if s.key == key
    )
    return _output_context(
        run, key, io_key, step_key=definition.node_name, name=name, spec=spec, logs=None
    )


def load_input(run: RunContext, step: Step, inp: InputSpec, logs: StepLogs) -> Any:
    """The value of ``inp``, loaded by its IO manager.

    Raises ``TesseraError`` naming the step, the input and the asset when ``load_input``
    raises (a cancel or a ``RetryRequested`` goes through as it is).
    """
    io_key = input_manager_key(run, inp)
    manager = run.io_managers[io_key]
    stored_with = run.stored_by.get(inp.key, DEFAULT_IO_MANAGER_KEY)
    context = InputContext._with_upstream_from(
        lambda: upstream_output_context(run, inp.key, stored_with),
        inp.key,
        run.run_id,
        step.key,
        name=inp.param,
        definition_metadata=inp.metadata,
        resources=run.resources,
        resource_config=run.resource_configs.get(io_key),
        logs=logs,
    )
    try:
        value = manager.load_input(context)
    except (RunInterrupted, RetryRequested):
        raise
    except Exception as exc:
        raise TesseraError(
            f"'{step.key}' could not load input '{inp.param}' (asset "
            f"'{inp.key.to_user_string()}') with IO manager '{io_key}': "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    metadata = context.consume_logged_metadata()
    if metadata:
        # The reference puts it on a LOADED_INPUT event; the nearest of Tessera's is this.
        logs.send(
            Event(
                EventType.ENGINE_EVENT,
                run.run_id,
                level="DEBUG",
                step_key=step.key,
                asset_key=inp.key,
                message=f"loaded input '{inp.param}' (asset '{inp.key.to_user_string()}') "
                f"with IO manager '{io_key}'",
                metadata=metadata,
            )
        )
    return value


def store_output(
    run: RunContext,
    step: Step,
    definition: AssetsDefinition,
    spec: AssetSpec,
    output_name: str,
    value: Any,
    logs: StepLogs,
) -> dict[str, MetadataValue]:
    """Store ``value`` as the asset of ``spec``; the metadata the IO manager added.

    Raises ``TesseraError`` naming the step and the asset when ``handle_output`` raises.
    """
    io_key = definition.io_manager_key_for(spec.key)
    context = _output_context(
        run, spec.key, io_key, step_key=step.key, name=output_name, spec=spec, logs=logs
    )
    try:
        run.io_managers[io_key].handle_output(context, value)
    except (RunInterrupted, RetryRequested):
        raise
    except Exception as exc:
        raise TesseraError(
            f"'{step.key}' could not store asset '{spec.key.to_user_string()}' (output "
            f"'{output_name}') with IO manager '{io_key}': {type(exc).__name__}: {exc}"
        ) from exc
    if run.captured is not None:
        run.captured[spec.key] = value
    return context.get_logged_metadata()
