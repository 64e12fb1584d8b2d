"""Assets computed by an op or a graph in one step: ``AssetsDefinition.from_op`` and
``from_graph`` (and ``@graph_asset``, ``@graph_multi_asset``) end here.

``build_node_assets`` reads the inputs and outputs of the node, keys them, and wraps the
node's execution in the compute function of one ``AssetsDefinition``; ``check_node_config``
checks the config of the node's ops in run config before a run starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from codeloc._assets import BY_OUTPUT_NAME_ARGS, AssetsDefinition
from codeloc._errors import ConfigInvalid, DefinitionError
from codeloc._key import AssetKey, CoercibleToAssetKey, CoercibleToAssetKeyPrefix, prefix_segments
from codeloc._results import Output
from codeloc._retry import RetryPolicy
from codeloc._signature import InputSpec, Signature
from codeloc._spec import AssetIn, AssetOut, AssetSpec

__all__ = ["NodeExecution", "build_node_assets", "check_node_config"]


class _Out(Protocol):
    """What an output of the node says of the asset it becomes (an ``Out``)."""

    @property
    def description(self) -> str | None: ...

    @property
    def metadata(self) -> Mapping[str, Any] | None: ...

    @property
    def io_manager_key(self) -> str | None: ...

    @property
    def code_version(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class NodeExecution:
    """How an op or graph runs as an asset, and how its config is checked before a run.

    ``execute(context, inputs, entry, wanted_outputs)`` returns the outputs produced (values
    or ``Output``s) by name; ``entry`` is the node's entry of run config's ``ops``.
    """

    execute: Callable[[Any, Mapping[str, Any], Mapping[str, Any], Sequence[str]], dict[str, Any]]
    check: Callable[[Mapping[str, Any], str], None]
    #: the schema of ``entry["config"]``, as JSON Schema, or ``None``
    json_schema: Callable[[], Mapping[str, Any] | None] = lambda: None
    #: the schema of ``entry["ops"]`` (the config of a graph's ops), or ``None``
    ops_json_schema: Callable[[], Mapping[str, Any] | None] = lambda: None

    def check_config(self, entry: Mapping[str, Any], where: str) -> None:
        self.check(entry, where)

    def config_json_schema(self) -> Mapping[str, Any] | None:
        return self.json_schema()

    def ops_config_json_schema(self) -> Mapping[str, Any] | None:
        return self.ops_json_schema()


class _Node(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def input_names(self) -> list[str]: ...

    @property
    def output_names(self) -> list[str]: ...

    @property
    def required_resource_keys(self) -> frozenset[str]: ...

    def out_of(self, name: str) -> _Out | None: ...

    def may_skip(self, name: str) -> bool: ...


def build_node_assets(
    node: _Node,
    execution: NodeExecution,
    *,
    node_name: str | None = None,
    keys_by_input_name: Mapping[str, CoercibleToAssetKey] | None = None,
    keys_by_output_name: Mapping[str, CoercibleToAssetKey] | None = None,
    key: CoercibleToAssetKey | None = None,
    name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
    ins: Mapping[str, AssetIn] | None = None,
    outs: Mapping[str, AssetOut] | None = None,
    deps: Iterable[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    code_version: str | None = None,
    retry_policy: RetryPolicy | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    can_subset: bool = False,
    by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
    owner: str | None = None,
) -> AssetsDefinition:
    """An ``AssetsDefinition`` computed by ``node`` (an op or a graph) in one step.

    Each input of the node is an upstream asset (``keys_by_input_name``, ``ins``, or the
    input's name); each output an asset (``keys_by_output_name``, ``outs``, or, for one
    output, ``key`` / ``key_prefix`` + ``name``, by default the node's name).
    ``by_output_name`` maps an ``AssetSpec`` field (``"description"``, ``"group_name"``,
    ``"metadata"``, ``"tags"``, ``"owners"``, ``"code_version"``) to its value by output
    name: the reference's ``descriptions_by_output_name`` and the like.
    """
    label = owner or f"'{node.name}'"
    input_names: list[str] = node.input_names
    output_names: list[str] = node.output_names
    if key is not None and (name is not None or key_prefix is not None):
        raise DefinitionError(f"{label}: give either key= or name=/key_prefix=, not both")
    for given, known, what in (
        (keys_by_input_name, input_names, "keys_by_input_name"),
        (ins, input_names, "ins"),
        (keys_by_output_name, output_names, "keys_by_output_name"),
        (outs, output_names, "outs"),
        *((v, output_names, BY_OUTPUT_NAME_ARGS[f]) for f, v in (by_output_name or {}).items()),
    ):
        unknown = sorted(set(given or ()) - set(known))
        if unknown:
            raise DefinitionError(
                f"{label}: {what} names {unknown}, which are not among its "
                f"{'inputs' if 'input' in what or what == 'ins' else 'outputs'} {known}"
            )
    if not output_names:
        raise DefinitionError(f"{label} has no output, so it materializes no asset")

    inputs = tuple(
        InputSpec(
            n,
            AssetKey.from_coercible(keys_by_input_name[n])
            if keys_by_input_name and n in keys_by_input_name
            else (ins[n].resolve_key(n) if ins and n in ins else AssetKey(n)),
        )
        for n in input_names
    )
    prefix = prefix_segments(key_prefix)
    # A spec reads each entry of ``deps``: a key, a spec, an ``AssetDep``, a definition.
    extra_deps = list(deps or ())
    all_tags = dict(tags or {})
    specs: list[AssetSpec] = []
    io_keys: dict[AssetKey, str] = {}
    for out_name in output_names:
        declared = node.out_of(out_name)
        asset_out = outs.get(out_name) if outs else None
        if keys_by_output_name and out_name in keys_by_output_name:
            out_key = AssetKey.from_coercible(keys_by_output_name[out_name])
            out_key = out_key.with_prefix(prefix) if prefix else out_key
        elif asset_out is not None:
            out_key = asset_out.resolve_key(out_name)
        elif len(output_names) == 1:
            out_key = (
                AssetKey.from_coercible(key)
                if key is not None
                else AssetKey((*prefix, name or node.name))
            )
        else:
            out_key = AssetKey((*prefix, out_name))
        single = len(output_names) == 1
        given = {k: v[out_name] for k, v in (by_output_name or {}).items() if v and out_name in v}
        specs.append(
            AssetSpec(
                out_key,
                deps=[*(i.key for i in inputs), *extra_deps],
                description=_first(
                    given.get("description"),
                    asset_out and asset_out.description,
                    description if single else None,
                    declared and declared.description,
                    node.description if single else None,
                ),
                metadata={
                    **((declared and declared.metadata) or {}),
                    **((asset_out and asset_out.metadata) or {}),
                    **((metadata or {}) if single else {}),
                    **(given.get("metadata") or {}),
                },
                group_name=_first(
                    given.get("group_name"), asset_out and asset_out.group_name, group_name
                ),
                code_version=_first(
                    given.get("code_version"),
                    asset_out and asset_out.code_version,
                    code_version,
                    declared and declared.code_version,
                ),
                owners=_first(given.get("owners"), asset_out and asset_out.owners, owners),
                tags={
                    **all_tags,
                    **((asset_out and asset_out.tags) or {}),
                    **(given.get("tags") or {}),
                },
                kinds=[*(kinds or ()), *((asset_out and asset_out.kinds) or ())],
                skippable=(asset_out is not None and not asset_out.is_required)
                or node.may_skip(out_name),
            )
        )
        io_key = (asset_out and asset_out.io_manager_key) or (declared and declared.io_manager_key)
        if io_key:
            io_keys[out_key] = io_key

    def compute(context: Any, **values: Any) -> Any:
        definition = context.assets_def
        entry = _node_entry(getattr(context, "run", None), definition)
        # The definition running may be a copy with other keys (a prefix): ask it, not specs.
        pairs = list(zip(definition.specs, definition.output_names, strict=True))
        selected = set(getattr(context, "selected_asset_keys", ()) or (s.key for s, _ in pairs))
        wanted = [out_name for spec, out_name in pairs if spec.key in selected]
        produced = execution.execute(context, values, entry, wanted)
        outputs: list[Any] = []
        for out_name in wanted:
            if out_name not in produced:
                continue
            item = produced[out_name]
            if isinstance(item, Output):
                item = Output(
                    item.value,
                    output_name=out_name,
                    metadata=item.metadata,
                    tags=item.tags,
                    data_version=item.data_version,
                )
            elif len(output_names) > 1:
                item = Output(item, output_name=out_name)
            outputs.append(item)
        if len(output_names) == 1 and outputs:
            return outputs[0]  # the value (or its Output), as an @asset returns it
        return _each(outputs)

    required = set(node.required_resource_keys)
    signature = Signature(
        "context", None, None, {}, tuple(i.param for i in inputs), frozenset(required)
    )
    return AssetsDefinition(
        node_name=node_name or "__".join(specs[0].key.path),
        specs=specs,
        fn=compute,
        signature=signature,
        inputs=inputs,
        output_names=output_names,
        io_manager_keys=io_keys,
        retry_policy=retry_policy,
        can_subset=can_subset,
        resource_defs=resource_defs,
        node_def=execution,
    )


def check_node_config(definition: AssetsDefinition, run_config: Mapping[str, Any]) -> None:
    """Check the config of the ops of an op- or graph-backed ``definition`` in ``run_config``."""
    if definition.node_def is not None:
        entry = _entry_in(run_config, definition)
        try:
            definition.node_def.check_config(entry, f"asset '{definition.node_name}'")
        except ConfigInvalid as exc:
            # The server's answer names the asset; the message names the op too.
            raise ConfigInvalid(str(exc), asset=definition.node_name, field=exc.field) from None


def _node_entry(run: Any, definition: Any) -> Mapping[str, Any]:
    return _entry_in(getattr(run, "run_config", None) or {}, definition)


def _entry_in(run_config: Mapping[str, Any], definition: Any) -> Mapping[str, Any]:
    ops = run_config.get("ops") or {}
    if not isinstance(ops, Mapping):
        return {}
    entry = ops.get(definition.node_name)
    if entry is None and len(definition.specs) == 1:
        entry = ops.get(definition.specs[0].key.name)
    return entry if isinstance(entry, Mapping) else {}


# -- helpers ----------------------------------------------------------------------------------


def _each(outputs: list[Any]) -> Iterator[Any]:
    # A generator, which the engine matches to outputs by name (and which may yield none).
    yield from outputs


def _first(*values: Any) -> Any:
    for value in values:
        if value:
            return value
    return None
