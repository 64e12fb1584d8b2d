"""``AssetsDefinition`` and the decorators that build one: ``@asset`` and ``@multi_asset``.

A decorator inspects the function once (``codeloc._signature`` classifies its parameters:
context, config, resources, upstream values) and returns a frozen definition that is still
callable as the function, so that unit tests invoke it directly.
``AssetsDefinition.from_graph`` makes one from a graph of ops (``codeloc._ops``), which
imports this module, never the other way round.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, overload

from codeloc._context import AssetExecutionContext, build_asset_context
from codeloc._errors import DefinitionError, GroupConflictError, UnknownResourceError
from codeloc._io_manager import DEFAULT_IO_MANAGER_KEY as DEFAULT_IO_MANAGER_KEY  # re-exported
from codeloc._key import AssetKey, CoercibleToAssetKey, CoercibleToAssetKeyPrefix, prefix_segments
from codeloc._retry import RetryPolicy
from codeloc._signature import (
    NO_PARAMETERS,
    InputSpec,
    Signature,
    inspect_function,
    with_required_resources,
)
from codeloc._spec import (
    AssetIn,
    AssetOut,
    AssetSpec,
    check_computed_keys,
    dep_keys,
    with_compute_kind,
)

if TYPE_CHECKING:
    from codeloc._config import Config

__all__ = [
    "BY_OUTPUT_NAME_ARGS",
    "AssetsDefinition",
    "Composition",
    "NodeDefinition",
    "asset",
    "flatten_assets",
    "merge_resource_defs",
    "multi_asset",
    "with_group",
]

_NO_RESOURCES: frozenset[str] = frozenset()


class NodeDefinition(Protocol):
    """How an op- or graph-backed definition checks the config of its ops before a run
    (``codeloc._node_assets``): ``entry`` is its entry of run config's ``ops``. Its
    ``config_json_schema`` describes ``entry["config"]`` for the snapshot, and
    ``ops_config_json_schema`` ``entry["ops"]`` (``None``: no schema the server can check)."""

    def check_config(self, entry: Mapping[str, Any], where: str) -> None: ...

    def config_json_schema(self) -> Mapping[str, Any] | None: ...

    def ops_config_json_schema(self) -> Mapping[str, Any] | None: ...


class Composition(Protocol):
    """What ``AssetsDefinition.from_graph`` / ``from_op`` need of a graph or an op: a
    ``GraphDefinition`` or an ``OpDefinition`` is one, and builds the definition itself."""

    def to_assets_definition(self, **options: Any) -> AssetsDefinition: ...


class AssetsDefinition:
    """One or more assets computed together by one function.

    Attributes:
        node_name: the name of the computation, used in run config (``{"ops": {node_name: …}}``).
        specs: one ``AssetSpec`` per asset produced, in output order.
        inputs: parameters that receive upstream values.
        can_subset: whether a run may materialize only some of the assets (a multi-asset
            with ``can_subset=False`` runs all of them or none).
        fn: the compute function, or ``None`` for an asset defined elsewhere (external).
    """

    __slots__ = (
        "__dict__",
        "_keys",
        "_required_resources",
        "can_subset",
        "fn",
        "input_keys",
        "inputs",
        "io_manager_keys",
        "node_def",
        "node_name",
        "output_names",
        "outputs_are_none",
        "resource_defs",
        "retry_policy",
        "signature",
        "specs",
    )

    def __init__(
        self,
        *,
        node_name: str,
        specs: Sequence[AssetSpec],
        fn: Callable[..., Any] | None,
        signature: Signature | None = None,
        inputs: Sequence[InputSpec] = (),
        output_names: Sequence[str] | None = None,
        io_manager_keys: Mapping[AssetKey, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        can_subset: bool = False,
        resource_defs: Mapping[str, Any] | None = None,
        node_def: NodeDefinition | None = None,
        outputs_are_none: bool = False,
    ) -> None:
        self.node_name = node_name
        # For an op- or graph-backed definition: how the config of its ops is checked.
        self.node_def = node_def
        # True for ``@multi_asset(specs=...)``: its outputs carry no value, and a function
        # that returns ``None`` has materialized every asset of its step.
        self.outputs_are_none = outputs_are_none
        # Resources bound to this definition, merged with the other resources of a run.
        self.resource_defs: dict[str, Any] = dict(resource_defs or {})
        self.specs: tuple[AssetSpec, ...] = tuple(specs)
        self.fn = fn
        self.signature = signature or NO_PARAMETERS
        self.inputs: tuple[InputSpec, ...] = tuple(inputs)
        self.input_keys: frozenset[AssetKey] = frozenset(i.key for i in self.inputs)
        self.output_names: tuple[str, ...] = tuple(output_names or ("result",) * len(self.specs))
        self.io_manager_keys: dict[AssetKey, str] = dict(io_manager_keys or {})
        self.retry_policy = retry_policy
        self.can_subset = can_subset
        self._keys = frozenset(s.key for s in self.specs)
        if fn is not None:
            check_computed_keys(self.specs, self.input_keys)
        sig = self.signature
        input_managers = [i.input_manager_key for i in self.inputs if i.input_manager_key]
        if sig.resource_params or sig.extra_resource_keys or self.io_manager_keys or input_managers:
            required = set(sig.resource_params.values()) | sig.extra_resource_keys
            required.update(k for k in self.io_manager_keys.values() if k != DEFAULT_IO_MANAGER_KEY)
            required.update(k for k in input_managers if k != DEFAULT_IO_MANAGER_KEY)
            self._required_resources = frozenset(required)
        else:
            self._required_resources = _NO_RESOURCES
        if fn is not None:
            # Keep what functools.wraps would: tests and tools read these off the definition.
            self.__dict__.update(
                __name__=getattr(fn, "__name__", node_name),
                __doc__=fn.__doc__,
                __module__=getattr(fn, "__module__", None),
                __wrapped__=fn,
            )

    # -- what the definition produces ------------------------------------------------------

    @property
    def keys(self) -> frozenset[AssetKey]:
        return self._keys

    @property
    def key(self) -> AssetKey:
        """The key of a single-asset definition."""
        if len(self.specs) != 1:
            raise DefinitionError(
                f"'{self.node_name}' produces {len(self.specs)} assets; use .keys instead of .key"
            )
        return self.specs[0].key

    @property
    def spec(self) -> AssetSpec:
        if len(self.specs) != 1:
            raise DefinitionError(f"'{self.node_name}' produces several assets; use .specs")
        return self.specs[0]

    @property
    def is_executable(self) -> bool:
        return self.fn is not None

    @property
    def config_type(self) -> type[Config] | None:
        return self.signature.config_type

    @property
    def required_resource_keys(self) -> frozenset[str]:
        return self._required_resources

    @property
    def group_names_by_key(self) -> dict[AssetKey, str]:
        return {s.key: s.group for s in self.specs}

    @property
    def keys_by_output_name(self) -> dict[str, AssetKey]:
        """The key each output materializes (``"result"`` for a single asset)."""
        return {name: spec.key for name, spec in zip(self.output_names, self.specs, strict=True)}

    @property
    def keys_by_input_name(self) -> dict[str, AssetKey]:
        """The upstream key of each input: the parameters, then the ``deps=`` (named by their
        key's segments joined with ``__``), as the reference names them."""
        found = {i.param: i.key for i in self.inputs}
        taken = set(found.values())
        for spec in self.specs:
            for dep in spec.deps:
                if dep not in taken and dep not in self._keys:
                    taken.add(dep)
                    found.setdefault("__".join(dep.path), dep)
        return found

    @property
    def dependency_keys(self) -> frozenset[AssetKey]:
        """Every upstream key of any asset produced here, a sibling included (see
        ``asset_deps``), as in the reference."""
        return frozenset(dep for spec in self.specs for dep in spec.deps)

    @property
    def asset_deps(self) -> dict[AssetKey, frozenset[AssetKey]]:
        """The upstream keys of each asset produced here (``internal_asset_deps=`` narrows
        them for a multi-asset)."""
        return {spec.key: frozenset(spec.deps) for spec in self.specs}

    @property
    def specs_by_key(self) -> dict[AssetKey, AssetSpec]:
        """Each asset's spec, its group filled in (``"default"`` where none was given), as
        the reference reads a defined asset back."""
        return {s.key: with_group(s) for s in self.specs}

    @property
    def metadata_by_key(self) -> dict[AssetKey, Mapping[str, Any]]:
        """Each asset's definition metadata, as given (raw values stay raw)."""
        return {s.key: s.metadata for s in self.specs}

    @property
    def tags_by_key(self) -> dict[AssetKey, Mapping[str, str]]:
        """Each asset's tags, kind tags (``dagster/kind/<kind>``) included."""
        return {s.key: s.tags for s in self.specs}

    @property
    def owners_by_key(self) -> dict[AssetKey, tuple[str, ...]]:
        return {s.key: s.owners for s in self.specs}

    @property
    def descriptions_by_key(self) -> dict[AssetKey, str | None]:
        return {s.key: s.description for s in self.specs}

    @property
    def code_versions_by_key(self) -> dict[AssetKey, str | None]:
        return {s.key: s.code_version for s in self.specs}

    def spec_for(self, key: AssetKey) -> AssetSpec:
        for spec in self.specs:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def io_manager_key_for(self, key: AssetKey) -> str:
        return self.io_manager_keys.get(key, DEFAULT_IO_MANAGER_KEY)

    @staticmethod
    def from_graph(
        graph_def: Composition,
        *,
        keys_by_input_name: Mapping[str, CoercibleToAssetKey] | None = None,
        keys_by_output_name: Mapping[str, CoercibleToAssetKey] | None = None,
        key_prefix: CoercibleToAssetKeyPrefix = None,
        name: str | None = None,
        ins: Mapping[str, AssetIn] | None = None,
        deps: Iterable[Any] | None = None,
        group_name: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        can_subset: bool = False,
        group_names_by_output_name: Mapping[str, str | None] | None = None,
        descriptions_by_output_name: Mapping[str, str] | None = None,
        metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
        tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
        owners_by_output_name: Mapping[str, Sequence[str]] | None = None,
        code_versions_by_output_name: Mapping[str, str | None] | None = None,
    ) -> AssetsDefinition:
        """Assets computed by a ``@graph``, one per output of the graph.

        Each input of the graph is an upstream asset: ``keys_by_input_name`` (or ``ins``)
        says which, by default the one named like the input. Each output is an asset:
        ``keys_by_output_name`` says which, by default the graph's name (under
        ``key_prefix``) for a graph of one output, the output's name for several. The
        ``*_by_output_name`` mappings set one property of the asset of each output.
        """
        return graph_def.to_assets_definition(
            keys_by_input_name=keys_by_input_name,
            keys_by_output_name=keys_by_output_name,
            key_prefix=key_prefix,
            name=name,
            ins=ins,
            deps=deps,
            group_name=group_name,
            description=description,
            metadata=metadata,
            code_version=code_version,
            owners=owners,
            tags=tags,
            retry_policy=retry_policy,
            resource_defs=resource_defs,
            can_subset=can_subset,
            by_output_name=_by_output_name(
                group_names_by_output_name,
                descriptions_by_output_name,
                metadata_by_output_name,
                tags_by_output_name,
                owners_by_output_name,
                code_versions_by_output_name,
            ),
        )

    @staticmethod
    def from_op(
        op_def: Composition,
        *,
        keys_by_input_name: Mapping[str, CoercibleToAssetKey] | None = None,
        keys_by_output_name: Mapping[str, CoercibleToAssetKey] | None = None,
        key_prefix: CoercibleToAssetKeyPrefix = None,
        group_name: str | None = None,
        retry_policy: RetryPolicy | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        can_subset: bool = False,
        group_names_by_output_name: Mapping[str, str | None] | None = None,
        descriptions_by_output_name: Mapping[str, str] | None = None,
        metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
        tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
        owners_by_output_name: Mapping[str, Sequence[str]] | None = None,
        code_versions_by_output_name: Mapping[str, str | None] | None = None,
    ) -> AssetsDefinition:
        """Assets computed by one ``@op``: its inputs are upstream assets, its outputs assets
        (keyword arguments as for ``from_graph``). Its config is the ``config`` of its entry
        in run config, ``{"ops": {op_name: {"config": ...}}}``."""
        return op_def.to_assets_definition(
            keys_by_input_name=keys_by_input_name,
            keys_by_output_name=keys_by_output_name,
            key_prefix=key_prefix,
            group_name=group_name,
            retry_policy=retry_policy,
            resource_defs=resource_defs,
            can_subset=can_subset,
            by_output_name=_by_output_name(
                group_names_by_output_name,
                descriptions_by_output_name,
                metadata_by_output_name,
                tags_by_output_name,
                owners_by_output_name,
                code_versions_by_output_name,
            ),
        )

    # -- transformations, used by loaders and Definitions ------------------------------------

    def with_attributes(
        self,
        *,
        group_name: str | None = None,
        key_prefix: CoercibleToAssetKeyPrefix = None,
        upstream_renames: Mapping[AssetKey, AssetKey] | None = None,
    ) -> AssetsDefinition:
        """A copy with a group applied and/or a prefix added to every key it produces.

        A group is only applied to assets that have none; one that has raises
        ``GroupConflictError`` naming it. ``upstream_renames`` maps upstream keys that are
        renamed along with this definition (assets loaded and prefixed together) to their
        new keys, so that dependencies among them still hold.
        """
        prefix = prefix_segments(key_prefix)
        moved = dict(upstream_renames or {})
        specs = []
        for spec in self.specs:
            changes: dict[str, Any] = {}
            if group_name is not None:
                if spec.group_name is not None and spec.group_name != group_name:
                    raise GroupConflictError(
                        f"Group name already exists on assets: asset "
                        f"'{spec.key.to_user_string()}' is in group '{spec.group_name}' and "
                        f"cannot also be put in group '{group_name}'"
                    )
                changes["group_name"] = group_name
            if prefix:
                changes["key"] = spec.key.with_prefix(prefix)
            if any(d in moved for d in spec.deps):
                changes["deps"] = tuple(moved.get(d, d) for d in spec.deps)
                if spec.partition_mappings:
                    changes["partition_mappings"] = {
                        moved.get(k, k): m for k, m in spec.partition_mappings.items()
                    }
            specs.append(spec.replace(**changes) if changes else spec)
        renamed = {old.key: new.key for old, new in zip(self.specs, specs, strict=True)}
        return self._rebuilt(
            node_name="__".join((*prefix, self.node_name)) if prefix else self.node_name,
            specs=specs,
            inputs=[i._replace(key=moved.get(i.key, i.key)) for i in self.inputs],
            io_manager_keys={renamed[k]: v for k, v in self.io_manager_keys.items()},
        )

    def _rebuilt(self, **changes: Any) -> AssetsDefinition:
        """A copy with some constructor arguments replaced (``specs=``, ``resource_defs=``…);
        every other one as this definition has it."""
        arguments: dict[str, Any] = {
            "node_name": self.node_name,
            "specs": self.specs,
            "fn": self.fn,
            "signature": self.signature,
            "inputs": self.inputs,
            "output_names": self.output_names,
            "io_manager_keys": self.io_manager_keys,
            "retry_policy": self.retry_policy,
            "can_subset": self.can_subset,
            "resource_defs": self.resource_defs,
            "node_def": self.node_def,
            "outputs_are_none": self.outputs_are_none,
        }
        return AssetsDefinition(**{**arguments, **changes})

    # -- direct invocation -------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the compute function directly, as a unit test does.

        A missing ``context`` is built with ``build_asset_context()``, and a missing config
        whose fields all have defaults is built from them.
        """
        if self.fn is None:
            raise DefinitionError(f"'{self.node_name}' is defined elsewhere and cannot be called")
        sig = self.signature
        if sig.context_param and sig.context_param not in kwargs and not args:
            kwargs[sig.context_param] = build_asset_context()
        # A context handed in is bound to this definition, so that context.assets_def,
        # asset_key and asset_key_for_input/output answer for it.
        if sig.context_param and isinstance(kwargs.get(sig.context_param), AssetExecutionContext):
            kwargs[sig.context_param] = self._invocation_context(kwargs[sig.context_param])
        elif args and isinstance(args[0], AssetExecutionContext):
            args = (self._invocation_context(args[0]), *args[1:])
        bound = inspect.signature(self.fn).bind_partial(*args, **kwargs).arguments
        if sig.config_param and sig.config_type and sig.config_param not in bound:
            kwargs[sig.config_param] = sig.config_type()
        if sig.resource_params or sig.extra_resource_keys:
            context = bound.get(sig.context_param) if sig.context_param else None
            kwargs.update(self._invocation_resources(bound, context))
        return self.fn(*args, **kwargs)

    def _invocation_context(self, context: AssetExecutionContext) -> AssetExecutionContext:
        """``context`` bound to this definition, its ``op_config`` checked against the classic
        schema (defaults filled in) as a run would check it; raises ``ConfigInvalid``."""
        bound = context._bound_to(self)
        schema = self.signature.config_schema
        if schema is None:
            return bound
        checked = copy.copy(bound)
        checked.op_config = schema.validate(bound.op_config, self.node_name)
        return checked

    def _invocation_resources(self, bound: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """The resource parameters not passed, from ``context.resources`` or ``resource_defs``.

        Raises ``UnknownResourceError`` naming the first required resource given neither
        way: the function would otherwise fail later with a ``TypeError`` or an
        ``AttributeError`` that does not say what is missing.
        """
        sig = self.signature
        resources = getattr(context, "resources", None)
        # The resources bound to the asset serve a call as they serve a run.
        given = {**self.resource_defs, **(vars(resources) if resources is not None else {})}
        filled: dict[str, Any] = {}
        for param, key in sig.resource_params.items():
            if param in bound:
                continue
            if key not in given:
                raise UnknownResourceError(
                    f"asset '{self.node_name}' requires resource '{key}', which was not given: "
                    f"pass {param}=... or build_asset_context(resources={{'{key}': ...}})"
                )
            filled[param] = given[key]
        missing = sorted(sig.extra_resource_keys - set(given))
        if missing:
            raise UnknownResourceError(
                f"asset '{self.node_name}' requires resource '{missing[0]}', which was not "
                f"given: pass build_asset_context(resources={{'{missing[0]}': ...}})"
            )
        return filled

    def __repr__(self) -> str:
        keys = ", ".join(sorted(k.to_user_string() for k in self._keys))
        return f"<AssetsDefinition {self.node_name} [{keys}]>"


# -- the decorators ------------------------------------------------------------------------


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    code_version: str | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    io_manager_key: str | None = None,
    io_manager_def: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    compute_kind: str | None = None,
    kinds: Iterable[str] | None = None,
    config_schema: Any = None,
    output_required: bool = True,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    code_version: str | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    io_manager_key: str | None = None,
    io_manager_def: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    compute_kind: str | None = None,
    kinds: Iterable[str] | None = None,
    config_schema: Any = None,
    output_required: bool = True,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define an asset computed by the decorated function.

    The key is the function name (or ``name``), under ``key_prefix``; or ``key``. Parameters
    named after upstream assets (or mapped with ``ins``) receive their values; ``deps`` adds
    upstream assets whose values are not passed. A ``context`` parameter receives an
    ``AssetExecutionContext``, a ``Config``-typed one the run config, and a
    ``ConfigurableResource``-typed one the resource of that name. ``resource_defs`` binds
    resources to the asset; a run merges them with its other resources (see
    ``merge_resource_defs``). ``config_schema`` declares classic config instead of a
    ``Config`` parameter (see ``codeloc._config_schema``), read with ``context.op_config``.
    ``io_manager_key`` names the IO manager that stores the value;
    ``io_manager_def`` binds one to the asset, under the key ``<key segments>__io_manager``.
    With ``output_required=False`` the function may yield no ``Output``: the asset is then
    not materialized, and the steps below it in the run are skipped (``STEP_SKIPPED``)
    without failing it.
    """

    def build(func: Callable[..., Any]) -> AssetsDefinition:
        if key is not None and (name is not None or key_prefix is not None):
            raise DefinitionError(
                f"asset '{func.__name__}': give either key= or name=/key_prefix=, not both"
            )
        asset_name = name or func.__name__
        asset_key = (
            AssetKey.from_coercible(key)
            if key is not None
            else AssetKey((*prefix_segments(key_prefix), asset_name))
        )
        if compute_kind and kinds:
            raise DefinitionError(
                f"asset '{asset_key.to_user_string()}': Cannot specify compute_kind and kinds "
                "on the @asset decorator."
            )
        sig, inputs = inspect_function(func, asset_key.to_user_string(), ins or {})
        sig = with_required_resources(sig, required_resource_keys)
        if config_schema is not None:
            sig = _with_config_schema(sig, config_schema, f"asset '{asset_key.to_user_string()}'")
        manager_key, bound = io_manager_key, resource_defs
        if io_manager_def is not None:
            if io_manager_key is not None:
                raise DefinitionError(
                    f"asset '{asset_key.to_user_string()}': give either io_manager_key= or "
                    "io_manager_def=, not both"
                )
            # The reference's key: the path as a Python identifier, then "io_manager".
            manager_key = "__".join((*asset_key.path, DEFAULT_IO_MANAGER_KEY)).replace("-", "_")
            bound = {**(resource_defs or {}), manager_key: io_manager_def}
        spec = AssetSpec(
            asset_key,
            deps=[*(i.key for i in inputs), *(deps or ())],
            description=description if description is not None else _doc(func),
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            owners=owners,
            tags=tags,
            kinds=kinds,
            skippable=not output_required,
        )
        if compute_kind:
            spec = with_compute_kind(spec, compute_kind)
        return AssetsDefinition(
            node_name="__".join(asset_key.parts),
            specs=[spec],
            fn=func,
            signature=sig,
            inputs=inputs,
            io_manager_keys={asset_key: manager_key} if manager_key else None,
            retry_policy=retry_policy,
            resource_defs=bound,
        )

    if fn is not None:
        return build(fn)
    return build


def multi_asset(
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    internal_asset_deps: Mapping[str, Iterable[CoercibleToAssetKey]] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    config_schema: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    can_subset: bool = False,
    required_resource_keys: Iterable[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    compute_kind: str | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define several assets computed by one function.

    With ``outs``, the function returns a tuple in the order of ``outs`` (or yields
    ``Output(value, output_name=...)``); with ``specs``, it returns or yields one
    ``MaterializeResult(asset_key=...)`` per asset, or returns ``None`` to materialize them
    all. Each asset depends on every input and ``deps=`` entry, unless
    ``internal_asset_deps`` (output name -> upstream keys, among the inputs, the ``deps=`` and
    the other outputs) says which. A multi-asset with ``can_subset=False`` materializes all
    its assets or none: selecting some of them is refused. One with ``can_subset=True`` is
    told the selection (``context.selected_output_names``) and must produce only that.
    ``config_schema`` is classic config (a dict of fields), read with ``context.op_config``
    from the run config's ``{"ops": {name: {"config": …}}}``, ``name`` being the node's.
    """
    if bool(outs) == bool(specs):
        raise DefinitionError("multi_asset needs exactly one of outs= or specs=")
    if specs and internal_asset_deps:
        raise DefinitionError(
            "multi_asset: internal_asset_deps= goes with outs=; with specs=, give each "
            "AssetSpec its own deps="
        )

    def build(func: Callable[..., Any]) -> AssetsDefinition:
        node = name or func.__name__
        sig, inputs = inspect_function(func, node, ins or {})
        if config_schema is not None:
            if not isinstance(config_schema, Mapping):
                # As the reference: a multi-asset's config is an object of fields.
                raise DefinitionError(
                    f"multi_asset '{node}': config_schema= takes a dict of fields "
                    f"(name -> type or Field), got {config_schema!r}"
                )
            sig = _with_config_schema(sig, config_schema, f"multi_asset '{node}'")
        extra_deps = list(deps or ())
        input_keys = [i.key for i in inputs]
        built: list[AssetSpec] = []
        output_names: list[str] = []
        io_keys: dict[AssetKey, str] = {}
        if outs:
            narrowed = _internal_deps(node, outs, input_keys, extra_deps, internal_asset_deps)
            for out_name, out in outs.items():
                key = out.resolve_key(out_name)
                spec = AssetSpec(
                    key,
                    deps=narrowed.get(out_name, [*input_keys, *extra_deps]),
                    description=out.description,
                    metadata=out.metadata,
                    group_name=out.group_name or group_name,
                    code_version=out.code_version,
                    owners=out.owners,
                    tags=out.tags,
                    kinds=out.kinds,
                    skippable=not out.is_required,
                )
                built.append(with_compute_kind(spec, compute_kind) if compute_kind else spec)
                output_names.append(out_name)
                if out.io_manager_key:
                    io_keys[key] = out.io_manager_key
        else:
            for spec in specs or ():
                if group_name and spec.group_name and spec.group_name != group_name:
                    raise GroupConflictError(
                        f"Group name already exists on assets: "
                        f"'{spec.key.to_user_string()}' has group '{spec.group_name}'"
                    )
                built.append(
                    spec.replace(
                        deps=[*spec.deps, *input_keys, *extra_deps],
                        group_name=spec.group_name or group_name,
                    )
                )
                output_names.append("__".join(spec.key.parts))
        return AssetsDefinition(
            node_name=node,
            specs=built,
            fn=func,
            signature=with_required_resources(sig, required_resource_keys),
            inputs=inputs,
            output_names=output_names,
            io_manager_keys=io_keys,
            retry_policy=retry_policy,
            can_subset=can_subset,
            resource_defs=resource_defs,
            outputs_are_none=bool(specs),
        )

    return build


def _internal_deps(
    node: str,
    outs: Mapping[str, AssetOut],
    input_keys: Sequence[AssetKey],
    extra_deps: Sequence[Any],
    internal: Mapping[str, Iterable[CoercibleToAssetKey]] | None,
) -> dict[str, list[AssetKey]]:
    """The upstream keys of each output named in ``internal``, checked against what the
    multi-asset has: its inputs, its ``deps=`` and its own outputs."""
    if not internal:
        return {}
    own = {out.resolve_key(out_name) for out_name, out in outs.items()}
    valid = {*input_keys, *(k for d in extra_deps for k in dep_keys(d)), *own}
    narrowed: dict[str, list[AssetKey]] = {}
    for out_name, upstream in internal.items():
        if out_name not in outs:
            raise DefinitionError(
                f"multi_asset '{node}': internal_asset_deps names the output '{out_name}', "
                f"which is not one of its outs {list(outs)}"
            )
        keys = [AssetKey.from_coercible(k) for k in upstream]
        unknown = [k.to_user_string() for k in keys if k not in valid]
        if unknown:
            choices = sorted(k.to_user_string() for k in valid)
            raise DefinitionError(
                f"multi_asset '{node}': internal_asset_deps of '{out_name}' names "
                f"{', '.join(repr(u) for u in unknown)}, which is neither an input, a deps= "
                f"entry nor an output of this multi-asset; valid keys: {choices}"
            )
        narrowed[out_name] = keys
    return narrowed


# -- helpers ------------------------------------------------------------------------------


def merge_resource_defs(
    definitions: Iterable[AssetsDefinition], resources: Mapping[str, Any]
) -> dict[str, Any]:
    """``resources`` with the ``resource_defs=`` of ``definitions`` added.

    As in the reference, one key is one resource object for the whole location: an asset
    binding a key that ``resources`` or another asset binds to a different object is
    refused, since which one a run would hand to each asset could not be told from the code.
    """
    merged = dict(resources)
    bound_by: dict[str, str] = {}
    for definition in definitions:
        for key, value in definition.resource_defs.items():
            current = merged.get(key, value)
            if current is not value:
                other = f"asset '{bound_by[key]}'" if key in bound_by else "the resources given"
                raise DefinitionError(
                    f"asset '{definition.node_name}' has resource_defs '{key}' conflicting "
                    f"with the resource '{key}' of {other}: one key must be the same resource "
                    f"object everywhere; remove one or use another key"
                )
            merged[key] = value
            bound_by.setdefault(key, definition.node_name)
    return merged


def flatten_assets(items: Iterable[Any]) -> tuple[list[AssetsDefinition], list[AssetSpec]]:
    """Split a possibly nested list of definitions and specs into the two kinds.

    Here rather than with ``Definitions`` so that the engine (``materialize()``) takes asset
    lists without importing the module that imports it back (jobs execute through it).
    """
    definitions: list[AssetsDefinition] = []
    specs: list[AssetSpec] = []
    stack: list[Any] = [items]
    while stack:
        item = stack.pop()
        if isinstance(item, AssetsDefinition):
            definitions.append(item)
        elif isinstance(item, AssetSpec):
            specs.append(item)
        elif not isinstance(item, AssetKey) and (  # a key is a tuple underneath, not a list
            (isinstance(item, Sequence | set | frozenset | tuple) and not isinstance(item, str))
            or (isinstance(item, Iterable) and not isinstance(item, str | bytes | Mapping))
        ):
            stack.extend(reversed(list(item)))
        else:
            raise DefinitionError(
                f"Definitions(assets=...) takes asset definitions and AssetSpecs, got {item!r}"
            )
    # The same definition given twice (two lists that share it) is one definition.
    return list({id(d): d for d in definitions}.values()), specs


def _with_config_schema(sig: Signature, schema: Any, owner: str) -> Signature:
    """``sig`` with the classic config ``schema``; a ``Config`` parameter as well is refused.
    ``owner`` names the definition in errors (``asset 'a'``)."""
    if sig.config_param is not None:
        raise DefinitionError(
            f"{owner}: give either config_schema= or a Config parameter "
            f"('{sig.config_param}'), not both"
        )
    # Imported here: only assets with classic config need it.
    from codeloc._config_schema import ConfigSchema

    return replace(sig, config_schema=ConfigSchema(schema, owner))


BY_OUTPUT_NAME_ARGS = {
    "group_name": "group_names_by_output_name",
    "description": "descriptions_by_output_name",
    "metadata": "metadata_by_output_name",
    "tags": "tags_by_output_name",
    "owners": "owners_by_output_name",
    "code_version": "code_versions_by_output_name",
}
"""The ``*_by_output_name`` arguments of ``from_graph`` / ``from_op`` by the spec field each
sets, in the order ``_by_output_name`` takes them."""


def _by_output_name(*given: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The ``*_by_output_name`` arguments of ``from_graph`` / ``from_op``, by spec field."""
    return {f: v for f, v in zip(BY_OUTPUT_NAME_ARGS, given, strict=True) if v}


def with_group(spec: AssetSpec) -> AssetSpec:
    """``spec`` with its group set: the group it was given, else ``"default"``."""
    return spec if spec.group_name is not None else spec.replace(group_name=spec.group)


def _doc(func: Callable[..., Any]) -> str | None:
    doc = func.__doc__
    return inspect.cleandoc(doc) if doc else None
