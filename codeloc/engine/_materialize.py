"""``materialize()``: run assets in this process, with no server, and return what happened."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from codeloc._assets import DEFAULT_IO_MANAGER_KEY, AssetsDefinition, merge_resource_defs
from codeloc._definitions import flatten_assets
from codeloc._errors import RunFailedError
from codeloc._graph import AssetGraph
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._run_config import RunConfig
from codeloc._runs import Event, EventType, ExecutorName
from codeloc._selection import AssetSelection, parse_selection
from codeloc.engine._executor import run_plan
from codeloc.engine._io import InputContext
from codeloc.engine._io_contexts import upstream_output_context
from codeloc.engine._plan import ExecutionPlan, build_plan
from codeloc.engine._resources import resources_set_up
from codeloc.engine._run import RunContext, prepare_run
from codeloc.engine._scheduler import RunOutcome

__all__ = ["ExecuteResult", "materialize"]


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
    selected = _resolve_selection(graph, selection)
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
        merge_resource_defs(definitions, resources or {}),
        run_id,
        collect,
        tags or {},
        ephemeral=True,
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
    if isinstance(selection, str):
        return parse_selection(selection).resolve(graph)
    if isinstance(selection, AssetSelection):
        return selection.resolve(graph)
    keys: set[AssetKey] = set()
    for item in selection:
        if isinstance(item, AssetsDefinition):
            keys.update(item.keys)
        else:
            keys.add(AssetKey.from_coercible(item))
    return AssetSelection.keys(*keys).resolve(graph)
