"""``materialize()``: run assets in this process, with no server, and return what happened."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, flatten_assets, merge_resource_defs
from codeloc._errors import DefinitionError, ResourceSetupError, RunFailedError
from codeloc._graph import AssetGraph
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._retry import RetryPolicy
from codeloc._run_config import RunConfig
from codeloc._runs import Event, EventType, ExecutorName
from codeloc._selection import AssetSelection
from codeloc.engine._executor import run_plan
from codeloc.engine._io import InMemoryIOManager, InputContext, default_io_manager
from codeloc.engine._io_contexts import upstream_output_context
from codeloc.engine._plan import ExecutionPlan, build_plan
from codeloc.engine._resources import resources_set_up
from codeloc.engine._run import RunContext, prepare_run, resolve_resources
from codeloc.engine._scheduler import RunOutcome

__all__ = [
    "ExecuteInProcessResult",
    "ExecuteResult",
    "execute_selection",
    "load_stored_value",
    "materialize",
    "materialize_to_memory",
]


class ExecuteResult:
    """The outcome of ``materialize()``: events, values and whether it succeeded."""

    def __init__(
        self,
        run_id: str,
        outcome: RunOutcome,
        events: list[Event],
        plan: ExecutionPlan,
        run: RunContext,
    ) -> None:
        self.run_id = run_id
        self.success = outcome.success
        self.outcome = outcome
        self.all_events = events
        self._plan = plan
        self._run = run

    def asset_value(self, key: CoercibleToAssetKey) -> Any:
        """The value of an asset materialized by this run.

        As in the reference, the value the asset returned, kept when it was stored in this
        process; one stored in another (the multiprocess executor) is read back by the IO
        manager that stored it, set up again for the read.
        """
        asset_key = AssetKey.from_coercible(key)
        captured = self._run.captured
        if captured is not None and asset_key in captured:
            return captured[asset_key]
        io_key = self._run.stored_by.get(asset_key, DEFAULT_IO_MANAGER_KEY)
        with resources_set_up(self._run, (), io_manager_keys=[io_key]) as run:
            upstream = upstream_output_context(run, asset_key, io_key)
            context = InputContext(
                asset_key,
                run.run_id,
                name=upstream.name,
                upstream_output=upstream,
                resources=run.resources,
                resource_config=run.resource_configs.get(io_key),
            )
            return run.io_managers[io_key].load_input(context)

    def output_for_node(self, node_name: str, output_name: str = "result") -> Any:
        """The value of output ``output_name`` of the step ``node_name``."""
        step = self._plan.step_by_key.get(node_name)
        if step is None:
            raise KeyError(
                f"no step '{node_name}' in this run; steps: {list(self._plan.step_by_key)}"
            )
        definition = step.definition
        for name, spec in zip(definition.output_names, definition.specs, strict=True):
            if name == output_name or len(definition.specs) == 1:
                return self.asset_value(spec.key)
        raise KeyError(f"step '{node_name}' has no output '{output_name}'")

    def get_asset_materialization_events(self) -> list[Event]:
        return [e for e in self.all_events if e.type is EventType.ASSET_MATERIALIZATION]

    def asset_materializations_for_node(self, node_name: str) -> list[Any]:
        return [
            e.materialization
            for e in self.get_asset_materialization_events()
            if e.step_key == node_name
        ]

    def get_step_failure_events(self) -> list[Event]:
        return [e for e in self.all_events if e.type is EventType.STEP_FAILURE]

    def events_of_type(self, event_type: EventType | str) -> list[Event]:
        wanted = EventType(event_type)
        return [e for e in self.all_events if e.type is wanted]

    def __repr__(self) -> str:
        state = "success" if self.success else "failure"
        return f"<ExecuteResult {self.run_id} {state}, {len(self.all_events)} events>"


ExecuteInProcessResult = ExecuteResult
"""The reference's name for the result of ``materialize()`` and ``execute_in_process()``:
the same class, so that annotations written with either name hold."""

#: The run id an IO manager sees when a value is read outside any run.
LOAD_RUN_ID = "load_asset_value"


def load_stored_value(
    key: AssetKey, io_manager_key: str, resources: Mapping[str, Any], graph: AssetGraph
) -> Any:
    """The value of ``key`` as the IO manager under ``io_manager_key`` of ``resources`` loads
    it: ``Definitions.load_asset_value``. Without that resource, the default IO manager of a
    deployed location (``TESSERA_STORAGE``) reads it. The manager is set up for the read and
    torn down after, as a run would."""
    # A resource configured at launch is built here from its fields given in the code.
    resolved = resolve_resources(resources, {}, {io_manager_key})
    if io_manager_key not in resolved and io_manager_key == DEFAULT_IO_MANAGER_KEY:
        resolved[io_manager_key] = default_io_manager(ephemeral=False)
    if io_manager_key not in resolved:
        raise DefinitionError(
            f"asset '{key.to_user_string()}' is stored by the resource '{io_manager_key}', "
            "which is not given"
        )
    run = RunContext(LOAD_RUN_ID, {}, resolved, {}, emit=lambda _: None, graph=graph)
    try:
        with resources_set_up(run, (), io_manager_keys=[io_manager_key]) as live:
            upstream = upstream_output_context(live, key, io_manager_key)
            context = InputContext(
                key,
                LOAD_RUN_ID,
                LOAD_RUN_ID,
                name=upstream.name,
                upstream_output=upstream,
                resources=live.resources,
                resource_config=live.resource_configs.get(io_manager_key),
            )
            return live.io_managers[io_manager_key].load_input(context)
    except ResourceSetupError as exc:
        raise DefinitionError(f"asset '{key.to_user_string()}': {exc}") from exc


def materialize(
    assets: Iterable[Any],
    run_config: RunConfig | Mapping[str, Any] | None = None,
    *,
    resources: Mapping[str, Any] | None = None,
    selection: AssetSelection | str | Iterable[Any] | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
    executor: ExecutorName = "in_process",
    max_concurrent: int | None = None,
    on_event: Callable[[Event], None] | None = None,
    instance: Any = None,
) -> ExecuteResult:
    """Materialize ``assets`` (or the ``selection`` among them) in this process.

    Values are stored by the ``io_manager`` resource, by default pickled under a temporary
    directory (or ``TESSERA_STORAGE`` when it is set). Run config is validated before any
    step runs. With ``raise_on_error``, a failed step raises ``RunFailedError`` after the run
    has finished; otherwise look at ``result.success``.
    """
    definitions, specs = flatten_assets(assets)
    graph = AssetGraph(definitions, specs)
    return execute_selection(
        graph,
        _resolve_selection(graph, selection),
        run_config,
        merge_resource_defs(definitions, resources or {}),
        raise_on_error=raise_on_error,
        tags=tags,
        run_id=run_id,
        executor=executor,
        max_concurrent=max_concurrent,
        on_event=on_event,
    )


def materialize_to_memory(
    assets: Iterable[Any],
    run_config: RunConfig | Mapping[str, Any] | None = None,
    *,
    resources: Mapping[str, Any] | None = None,
    selection: AssetSelection | str | Iterable[Any] | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    instance: Any = None,
) -> ExecuteResult:
    """``materialize()`` with every value kept in memory, whatever IO managers are defined.

    Each IO manager key the assets use gets its own ``InMemoryIOManager``; a resource given
    for one of those keys (in ``resources`` or an asset's ``resource_defs``) is refused, as
    in the reference, since it would be silently replaced.
    """
    definitions, specs = flatten_assets(assets)
    io_keys = {d.io_manager_key_for(key) for d in definitions for key in d.keys}
    given = set(resources or {}).union(*(d.resource_defs for d in definitions))
    clash = sorted(io_keys & given)
    if clash:
        raise DefinitionError(
            f"materialize_to_memory was given a resource for the IO manager key '{clash[0]}': "
            "it keeps every value in memory and would replace it; leave the IO manager "
            "resources out, or call materialize()"
        )
    in_memory: dict[str, Any] = {key: InMemoryIOManager() for key in io_keys}
    return materialize(
        [*definitions, *specs],
        run_config,
        resources={**(resources or {}), **in_memory},
        selection=selection,
        raise_on_error=raise_on_error,
        tags=tags,
    )


def execute_selection(
    graph: AssetGraph,
    selected: Collection[AssetKey],
    run_config: RunConfig | Mapping[str, Any] | None,
    resources: Mapping[str, Any],
    *,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
    executor: ExecutorName = "in_process",
    max_concurrent: int | None = None,
    on_event: Callable[[Event], None] | None = None,
    retry_policy: RetryPolicy | None = None,
) -> ExecuteResult:
    """Materialize ``selected`` keys of ``graph`` in this process: what ``materialize()`` and
    a job's ``execute_in_process()`` both do once they know their graph and selection.

    ``retry_policy`` is the policy of the steps whose definition has none.
    """
    plan = build_plan(graph, selected, allow_external_inputs=False)
    run_id = run_id or str(uuid.uuid4())
    events: list[Event] = []

    def collect(event: Event) -> None:
        numbered = event.with_seq(len(events) + 1)
        events.append(numbered)
        if on_event is not None:
            on_event(numbered)

    run, _ = prepare_run(
        plan,
        graph,
        run_config,
        resources,
        run_id,
        collect,
        tags or {},
        ephemeral=True,
        retry_policy=retry_policy,
    )
    run.captured = {}
    outcome = run_plan(plan, run, executor=executor, max_concurrent=max_concurrent)
    result = ExecuteResult(run_id, outcome, events, plan, run)
    if raise_on_error and not outcome.success:
        failures = [e for e in events if e.type is EventType.STEP_FAILURE]
        detail = outcome.error or (failures[0].error if failures else "steps were skipped")
        raise RunFailedError(f"run {run_id} failed: {', '.join(outcome.failed)}\n{detail}")
    return result


def _resolve_selection(
    graph: AssetGraph, selection: AssetSelection | str | Iterable[Any] | None
) -> frozenset[AssetKey]:
    if selection is None:
        return frozenset(graph.spec_by_key)
    return AssetSelection.from_coercible(selection).resolve(graph)
