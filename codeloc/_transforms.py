"""Functions that return changed copies of asset definitions: ``with_resources`` and
``map_asset_specs``. The definitions given are left as they are."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from codeloc._assets import AssetsDefinition
from codeloc._errors import DefinitionError, UnknownResourceError
from codeloc._resource_def import ResourceDefinition
from codeloc._spec import AssetSpec

__all__ = ["map_asset_specs", "with_resources"]

T = TypeVar("T")


def with_resources(
    definitions: Iterable[T],
    resource_defs: Mapping[str, object],
    resource_config_by_key: Mapping[str, Any] | None = None,
) -> Sequence[T]:
    """Copies of ``definitions`` with ``resource_defs`` bound to them, as ``resource_defs=``
    on ``@asset`` binds them.

    ``resource_config_by_key`` configures the bound resources (``{key: {"config": {...}}}``,
    or the config itself), as ``.configured`` does. An asset that requires a resource
    neither it nor ``resource_defs`` provides raises ``UnknownResourceError`` naming both;
    one that already binds a key to a different object raises ``DefinitionError``. Each
    item must be an ``AssetsDefinition``.
    """
    resources = _configured(resource_defs, resource_config_by_key or {})
    out: list[T] = []
    for definition in definitions:
        if not isinstance(definition, AssetsDefinition):
            raise DefinitionError(
                f"with_resources binds resources to asset definitions, not to {definition!r}"
            )
        own = definition.resource_defs
        clashes = sorted(k for k, v in own.items() if k in resources and resources[k] is not v)
        if clashes:
            raise DefinitionError(
                f"asset '{definition.node_name}' already has resource_defs for {clashes}, "
                "different from the resources given; remove them from the asset or use other keys"
            )
        bound = {**definition.resource_defs, **resources}
        missing = sorted(definition.required_resource_keys - set(bound))
        if missing:
            raise UnknownResourceError(
                f"asset '{definition.node_name}' requires resource '{missing[0]}', which is not "
                f"provided; the resources given are {sorted(bound)}"
            )
        out.append(cast("T", definition._rebuilt(resource_defs=bound)))
    return out


def _configured(
    resource_defs: Mapping[str, object], config_by_key: Mapping[str, Any]
) -> dict[str, object]:
    resources = dict(resource_defs)
    for key, entry in config_by_key.items():
        resource = resources.get(key)
        if resource is None:
            raise UnknownResourceError(
                f"resource_config_by_key configures resource '{key}', which is not among the "
                f"resources given ({sorted(resources)})"
            )
        if not isinstance(resource, ResourceDefinition):
            raise DefinitionError(
                f"resource_config_by_key configures resource '{key}', which is "
                f"{type(resource).__name__}, not a ResourceDefinition: configure it in Python"
            )
        config = entry.get("config", entry) if isinstance(entry, Mapping) else entry
        resources[key] = resource.configured(config)
    return resources


def map_asset_specs(
    func: Callable[[AssetSpec], AssetSpec],
    iterable: Iterable[AssetsDefinition | AssetSpec],
) -> Sequence[AssetsDefinition | AssetSpec]:
    """``func`` applied to each ``AssetSpec``, and to each spec of each ``AssetsDefinition``,
    as new objects in the same order (other items are passed through as they are).

    For a definition, ``func`` must keep each key (a changed key raises ``DefinitionError``
    naming both) and each dependency that a parameter of the function loads; the other
    dependencies may be changed, added or removed.
    """
    out: list[AssetsDefinition | AssetSpec] = []
    for item in iterable:
        if isinstance(item, AssetSpec):
            out.append(func(item))
        elif isinstance(item, AssetsDefinition):
            out.append(item._rebuilt(specs=[_mapped(func, item, spec) for spec in item.specs]))
        else:
            out.append(item)
    return out


def _mapped(
    func: Callable[[AssetSpec], AssetSpec], definition: AssetsDefinition, spec: AssetSpec
) -> AssetSpec:
    new = func(spec)
    if not isinstance(new, AssetSpec):
        raise DefinitionError(
            f"map_asset_specs: the function returned {type(new).__name__} for asset "
            f"'{spec.key.to_user_string()}', not an AssetSpec"
        )
    if new.key != spec.key:
        raise DefinitionError(
            f"map_asset_specs: asset key '{spec.key.to_user_string()}' was changed to "
            f"'{new.key.to_user_string()}'; the function must not change keys"
        )
    loaded = [d for d in spec.deps if d in definition.input_keys and d not in new.deps]
    if loaded:
        param = next(i.param for i in definition.inputs if i.key == loaded[0])
        raise DefinitionError(
            f"map_asset_specs: asset '{spec.key.to_user_string()}' would lose its dependency "
            f"on '{loaded[0].to_user_string()}', which parameter '{param}' loads; only "
            "dependencies no parameter loads can be changed or removed"
        )
    return new
