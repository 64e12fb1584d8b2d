"""Execution plans: which steps a run executes, and in what order."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from codeloc._assets import AssetsDefinition
from codeloc._errors import CycleError, DefinitionError
from codeloc._graph import AssetGraph, kahn_order
from codeloc._key import AssetKey

__all__ = ["ExecutionPlan", "Step", "build_plan"]


@dataclass(frozen=True, slots=True)
class Step:
    """One call of one compute function, materializing ``keys``."""

    key: str
    definition: AssetsDefinition
    keys: tuple[AssetKey, ...]
    upstream_steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """The steps of a run in an order where every step follows its upstream steps."""

    steps: tuple[Step, ...]
    step_by_key: dict[str, Step]
    step_of_asset: dict[AssetKey, str]

    @property
    def asset_keys(self) -> list[AssetKey]:
        return [k for step in self.steps for k in step.keys]

    def downstream_of(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s.key: [] for s in self.steps}
        for step in self.steps:
            for up in step.upstream_steps:
                out[up].append(step.key)
        return out


def build_plan(
    graph: AssetGraph,
    selected: Collection[AssetKey],
    *,
    allow_external_inputs: bool = True,
) -> ExecutionPlan:
    """Plan the materialization of ``selected`` keys of ``graph``.

    Upstream values of assets outside the selection are loaded from storage. Selecting only
    some keys of a multi-asset that cannot subset is a ``DefinitionError``. With
    ``allow_external_inputs=False`` (in-process ``materialize()``), a function parameter
    whose asset is defined nowhere in the graph is a ``DefinitionError`` raised now, before
    anything runs.
    """
    selected_set = frozenset(selected)
    by_definition: dict[int, list[AssetKey]] = {}
    definitions: dict[int, AssetsDefinition] = {}
    for key in graph.topological_order:
        if key not in selected_set:
            continue
        definition = graph.definition_by_key[key]
        if not definition.is_executable:
            raise DefinitionError(
                f"asset '{key.to_user_string()}' is defined elsewhere and cannot be "
                "materialized here"
            )
        by_definition.setdefault(id(definition), []).append(key)
        definitions[id(definition)] = definition
    unknown = selected_set - set(graph.spec_by_key)
    if unknown:
        names = ", ".join(sorted(k.to_user_string() for k in unknown))
        raise DefinitionError(f"cannot materialize unknown assets: {names}")

    graph.check_subsets(selected_set, "the run")
    step_of_asset: dict[AssetKey, str] = {}
    for def_id in by_definition:
        for key in by_definition[def_id]:
            step_of_asset[key] = definitions[def_id].node_name

    if not allow_external_inputs:
        for definition in definitions.values():
            for inp in definition.inputs:
                if inp.key not in graph.spec_by_key and inp.key not in graph.declared_external:
                    raise DefinitionError(
                        f"asset '{definition.node_name}': parameter '{inp.param}' matches no "
                        f"asset (there is no asset '{inp.key.to_user_string()}' among the "
                        "assets given); pass its definition too, or map the parameter to an "
                        "existing key with ins={...: AssetIn(key=...)}"
                    )

    steps: dict[str, Step] = {}
    for def_id, keys in by_definition.items():
        definition = definitions[def_id]
        upstream: dict[str, None] = {}
        for key in keys:
            for parent in graph.parents(key):
                step = step_of_asset.get(parent)
                if step is not None and step != definition.node_name:
                    upstream[step] = None
        steps[definition.node_name] = Step(
            definition.node_name, definition, tuple(keys), tuple(upstream)
        )
    ordered = _order(steps)
    return ExecutionPlan(tuple(ordered), {s.key: s for s in ordered}, step_of_asset)


def _order(steps: dict[str, Step]) -> list[Step]:
    order, stuck = kahn_order(steps, lambda key: steps[key].upstream_steps)
    if stuck:
        raise CycleError(
            f"the steps {stuck} depend on each other through their assets; split the "
            "multi-asset so that its outputs do not sit on both sides of another asset"
        )
    return [steps[key] for key in order]
