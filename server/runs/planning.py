"""From a launch request to runs: resolve the selection against the merged graph, validate
run config against each asset's schema, and split the work into one run per location in
dependency order. Nothing here touches the database or a location."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from codeloc._errors import SelectionError
from codeloc._graph import kahn_order, partial_multi_asset_message
from codeloc._key import AssetKey
from codeloc._selection import AssetSelection, parse_selection
from server.errors import ConfigInvalid, Conflict, InvalidSelection
from server.workspace.graph import MergedGraph

__all__ = [
    "PlannedRun",
    "check_multi_assets",
    "plan_runs",
    "resolve_selection",
    "validate_run_config",
]


@dataclass(frozen=True, slots=True)
class PlannedRun:
    location: str
    asset_keys: tuple[AssetKey, ...]
    #: locations whose runs (of the same request) must succeed first
    upstream_locations: tuple[str, ...]


def resolve_selection(
    graph: MergedGraph, selection: str | Sequence[str | Sequence[str]]
) -> set[AssetKey]:
    """The keys a request selects: an expression, or a list of keys (lists or ``a/b``).

    An expression's lineage may reach external assets (``+x`` where ``x`` reads a table no
    location makes); those are left out, as nobody here can materialize them. A key named
    explicitly stays, and planning says why it cannot run.
    """
    try:
        if isinstance(selection, str):
            expression = parse_selection(selection)
            keys = {k for k in expression.resolve(graph) if not graph.nodes[k].is_external}
            if not keys:
                raise InvalidSelection(f"the selection '{selection}' matches no asset")
            return keys
        if not selection:
            raise InvalidSelection("the selection is empty: name at least one asset")
        wanted = [
            AssetKey.from_coercible(item) if isinstance(item, str) else AssetKey(list(item))
            for item in selection
        ]
        return set(AssetSelection.keys(*wanted).resolve(graph))
    except SelectionError as exc:
        extra: dict[str, Any] = {}
        if exc.position is not None:
            extra["position"] = exc.position
        raise InvalidSelection(str(exc), **extra) from None
    except ValueError as exc:
        raise InvalidSelection(f"invalid asset key in selection: {exc}") from None


def check_multi_assets(graph: MergedGraph, keys: set[AssetKey]) -> None:
    """Refuse a selection of only some assets of a multi-asset that cannot subset.

    Raises:
        InvalidSelection: naming the multi-asset, the keys it needs (``required_keys``) and
            those missing, as the location would refuse the run anyway.
    """
    checked: set[str] = set()
    for key in sorted(keys):
        found = graph.multi_asset_of(key)
        if found is None or found[0] in checked:
            continue
        node_name, together = found
        checked.add(node_name)
        if all(k in keys for k in together):
            continue
        ordered = sorted(together)
        selected = [k for k in ordered if k in keys]
        raise InvalidSelection(
            partial_multi_asset_message("the selection", node_name, ordered, selected),
            multi_asset=node_name,
            required_keys=[list(k.path) for k in ordered],
            missing_keys=[list(k.path) for k in ordered if k not in keys],
        )


def plan_runs(graph: MergedGraph, keys: set[AssetKey]) -> list[PlannedRun]:
    """One run per location, ordered so that every run follows the runs it depends on.

    A selection of part of a multi-asset that cannot subset is refused (``InvalidSelection``).
    """
    by_location: dict[str, list[AssetKey]] = {}
    for key in sorted(keys):
        node = graph.nodes[key]
        name = key.to_user_string()
        if node.conflict_locations:
            both = " and ".join(f"'{n}'" for n in node.conflict_locations)
            raise Conflict(
                f"asset '{name}' is materialized by both {both}; remove it from one of them "
                "before launching it",
                locations=node.conflict_locations,
            )
        if node.is_external:
            raise InvalidSelection(f"asset '{name}' is external: no code location materializes it")
        if node.cycle:
            path = " -> ".join(k.to_user_string() for k in node.cycle)
            raise Conflict(f"asset '{name}' is on a dependency cycle across locations: {path}")
        location = node.location
        assert location is not None
        by_location.setdefault(location, []).append(key)
    check_multi_assets(graph, keys)

    # Location-level edges: a selected key whose selected ancestor lives elsewhere. The path
    # between them may leave the selection, so walk ancestors, not just parents.
    upstream: dict[str, set[str]] = {loc: set() for loc in by_location}
    for location, loc_keys in by_location.items():
        for ancestor in _selected_ancestors(graph, loc_keys, keys):
            other = graph.nodes[ancestor].location
            if other is not None and other != location:
                upstream[location].add(other)

    order = _order_locations(upstream)
    position = {key: i for i, key in enumerate(graph.topological_order)}
    return [
        PlannedRun(
            loc,
            tuple(sorted(by_location[loc], key=lambda k: position.get(k, 0))),
            tuple(sorted(upstream[loc])),
        )
        for loc in order
    ]


def _selected_ancestors(
    graph: MergedGraph, start: Sequence[AssetKey], selected: set[AssetKey]
) -> set[AssetKey]:
    found: set[AssetKey] = set()
    seen: set[AssetKey] = set(start)
    queue = deque(start)
    while queue:
        key = queue.popleft()
        for parent in graph.parents(key):
            if parent in seen:
                continue
            seen.add(parent)
            if parent in selected:
                found.add(parent)
            queue.append(parent)
    return found


def _order_locations(upstream: Mapping[str, set[str]]) -> list[str]:
    order, stuck = kahn_order(upstream, lambda loc: upstream[loc])
    if stuck:
        raise Conflict(
            f"the selection goes back and forth between locations {stuck}: each would have "
            "to run before the other; launch the parts separately"
        )
    return order


def validate_run_config(
    graph: MergedGraph, keys: set[AssetKey], run_config: Mapping[str, Any]
) -> None:
    """Validate each selected asset's config against its JSON Schema; 422 names the field."""
    unknown = set(run_config) - {"ops", "resources", "execution", "loggers"}
    if unknown:
        raise ConfigInvalid(
            f"run config has unknown top-level keys {sorted(unknown)}; expected 'ops' and "
            "'resources'",
            field=sorted(unknown)[0],
        )
    ops = run_config.get("ops") or {}
    if not isinstance(ops, Mapping):
        raise ConfigInvalid("run_config.ops must be an object", field="ops")
    node_names: dict[str, AssetKey] = {}
    for key in sorted(keys):
        snap = graph.nodes[key].node
        if snap is None:
            continue
        node_names[snap.node_name] = key
        node_names.setdefault(key.name, key)
    for op_name in ops:
        if op_name not in node_names:
            raise ConfigInvalid(
                f"run config has an entry for '{op_name}', which is not among the selected assets",
                field=f"ops.{op_name}",
            )
    for key in sorted(keys):
        snap = graph.nodes[key].node
        if snap is None or (snap.config_schema is None and snap.ops_config_schema is None):
            continue
        entry = ops.get(snap.node_name, ops.get(key.name, {})) or {}
        if not isinstance(entry, Mapping):
            raise ConfigInvalid(
                f"run config for '{snap.node_name}' must be an object",
                field=f"ops.{snap.node_name}",
            )
        if snap.config_schema is not None:
            _check_against(key, snap.config_schema, entry.get("config", {}), ())
        if snap.ops_config_schema is not None:
            # The config of a graph asset's ops: its field is named from the entry, as
            # ``ops.inner.ops.scale.config.k``.
            _check_against(key, snap.ops_config_schema, entry.get("ops", {}), ("ops",))


def _check_against(
    key: AssetKey, schema: Mapping[str, Any], value: Any, prefix: tuple[str, ...]
) -> None:
    validator = jsonschema.Draft202012Validator(dict(schema))
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        field = ".".join([*prefix, *_field_path(error)])
        raise ConfigInvalid(
            f"config for asset '{key.to_user_string()}' is invalid: "
            f"field '{field or '<root>'}': {error.message}",
            asset=key.to_user_string(),
            field=field,
        )


def _field_path(error: jsonschema.exceptions.ValidationError) -> list[str]:
    """Where in the config the error is; a missing or unexpected field is named too."""
    path = [str(p) for p in error.absolute_path]
    instance = error.instance
    if isinstance(instance, Mapping):
        # These errors sit on the object that lacks or has too much, not on the field itself.
        required = error.validator_value
        if error.validator == "required" and isinstance(required, list):
            path += [str(n) for n in required if n not in instance][:1]
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            path += sorted(str(n) for n in instance if n not in known)[:1]
    return path
