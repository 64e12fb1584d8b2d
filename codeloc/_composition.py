"""Graphs: ops wired together (``@graph``), and the assets computed by one (``@graph_asset``,
``@graph_multi_asset``, ``AssetsDefinition.from_graph``).

Calling ops inside a ``@graph`` body does not run them: the body runs once, when it is
decorated, with placeholders, and records which op (or inner graph) feeds which. A graph
whose ops do not all lead to its outputs is refused then, naming the op. When the asset
materializes, the recorded ops run in the order they were called, inside its one step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from codeloc._assets import AssetsDefinition
from codeloc._config_schema import ConfigSchema
from codeloc._errors import ConfigInvalid, DefinitionError
from codeloc._key import CoercibleToAssetKey, CoercibleToAssetKeyPrefix
from codeloc._node_assets import NodeExecution, build_node_assets
from codeloc._ops import NO_VALUE, OpDefinition, Out, composing
from codeloc._results import Output
from codeloc._retry import RetryPolicy
from codeloc._spec import AssetIn, AssetOut

__all__ = [
    "ConfigMapping",
    "GraphDefinition",
    "GraphOut",
    "graph",
    "graph_asset",
    "graph_multi_asset",
]


@dataclass(frozen=True, slots=True)
class ConfigMapping:
    """How a graph is configured: ``config_fn`` maps the graph's own config (checked against
    ``config_schema``, classic config as ``@op(config_schema=)`` takes it, defaults filled
    in) to the config of its ops, shaped ``{op_name: {"config": {...}}}``."""

    config_fn: Callable[[Any], Mapping[str, Any]]
    config_schema: Any = None


@dataclass(frozen=True, slots=True)
class GraphOut:
    """An output of a ``@graph`` with several (``@graph(out={"a": GraphOut(), ...})``)."""

    description: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class _Call:
    """One call of an op or inner graph in a graph body."""

    node: OpDefinition | GraphDefinition
    name: str
    inputs: Mapping[str, _Handle]


@dataclass(frozen=True, slots=True, eq=False)
class _Handle:
    """A placeholder for an output of a call, or (``call`` ``None``) for a graph input."""

    call: _Call | None
    output: str


class _Outputs(tuple):  # type: ignore[type-arg]
    """The outputs of a call with several: unpacked in order, or read by name."""

    names: tuple[str, ...]

    def __new__(cls, handles: Sequence[_Handle]) -> _Outputs:
        made = super().__new__(cls, handles)
        made.names = tuple(h.output for h in handles)
        return made

    def __getattr__(self, name: str) -> _Handle:
        try:
            handle: _Handle = self[self.names.index(name)]
        except ValueError:
            raise AttributeError(
                f"no output named '{name}' (the outputs are {list(self.names)})"
            ) from None
        return handle


@dataclass
class _Recording:
    graph_name: str
    calls: list[_Call] = field(default_factory=list)
    used_names: dict[str, int] = field(default_factory=dict)

    def record(self, node: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        count = self.used_names.get(node.name, 0) + 1
        self.used_names[node.name] = count
        call_name = node.name if count == 1 else f"{node.name}_{count}"
        names = node.input_names
        where = f"graph '{self.graph_name}': {node.kind} '{call_name}'"
        if len(args) > len(names):
            raise DefinitionError(f"{where} takes {len(names)} inputs, got {len(args)}")
        given = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names:
                raise DefinitionError(f"{where} has no input '{name}' (its inputs are {names})")
            given[name] = value
        for name, value in given.items():
            if isinstance(value, _Outputs):
                raise DefinitionError(
                    f"{where}: input '{name}' got every output of a call with several "
                    f"{list(value.names)}; pass one of them"
                )
            if not isinstance(value, _Handle):
                raise DefinitionError(
                    f"{where}: input '{name}' got {value!r}; inside a graph, an input takes "
                    "the output of another op call or an input of the graph (set a constant "
                    "with In(default_value=) or config)"
                )
        for name in names:
            if name not in given and not node.has_default(name):
                raise DefinitionError(
                    f"{where}: input '{name}' is connected to nothing; pass it the output of an "
                    "op call or an input of the graph, or give it In(default_value=)"
                )
        call = _Call(node, call_name, given)
        self.calls.append(call)
        outputs = [_Handle(call, name) for name in node.output_names]
        if len(outputs) == 1:
            return outputs[0]
        return _Outputs(outputs) if outputs else None


class GraphDefinition:
    """Ops (and inner graphs) wired together by a composition function.

    ``AssetsDefinition.from_graph(graph_def)`` turns one into assets, one per output.
    Called inside another graph's body, a graph is one call, like an op.
    """

    kind = "graph"

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str,
        *,
        description: str | None = None,
        out: Mapping[str, GraphOut] | None = None,
        config: ConfigMapping | Mapping[str, Any] | None = None,
        output_order: Sequence[str] | None = None,
    ) -> None:
        self.fn = fn
        self.name = name
        doc = inspect.getdoc(fn)
        self.description = description if description is not None else doc
        self.config = config
        self._mapping_schema = (
            ConfigSchema(config.config_schema, f"graph '{name}'")
            if isinstance(config, ConfigMapping) and config.config_schema is not None
            else None
        )
        params = inspect.signature(fn).parameters.values()
        self.input_names: list[str] = [
            p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if "context" in self.input_names:
            raise DefinitionError(
                f"graph '{name}' takes a context parameter; a graph's body only wires ops "
                "together: give the context to the ops that need it"
            )
        recording = _Recording(name)
        token = composing.set(recording)
        try:
            returned = fn(**{n: _Handle(None, n) for n in self.input_names})
        finally:
            composing.reset(token)
        self.calls: tuple[_Call, ...] = tuple(recording.calls)
        order = list(out) if out else list(output_order or ())
        self.outputs: dict[str, _Handle] = _graph_outputs(name, returned, order)
        self.out_descriptions = {n: o.description for n, o in (out or {}).items()}
        self.required_resource_keys: frozenset[str] = frozenset(
            k for call in self.calls for k in call.node.required_resource_keys
        )
        self._check_wiring()
        if config is not None and not isinstance(config, ConfigMapping):
            try:
                self.check_inner_config(config, f"graph '{name}'")
            except ConfigInvalid as exc:
                raise DefinitionError(
                    f"graph '{name}': config= does not fit its ops: {exc}"
                ) from None

    @property
    def output_names(self) -> list[str]:
        return list(self.outputs)

    def out_of(self, name: str) -> Out | None:
        handle = self.outputs[name]
        declared = handle.call.node.out_of(handle.output) if handle.call else None
        description = self.out_descriptions.get(name)
        if description and declared is not None:
            from dataclasses import replace

            return replace(declared, description=description)
        return declared or (Out(description=description) if description else None)

    def has_default(self, name: str) -> bool:
        return False

    def may_skip(self, name: str) -> bool:
        """Whether output ``name`` may be left out: some op on its way has an optional output."""
        seen: set[int] = set()
        stack = [self.outputs[name]]
        while stack:
            handle = stack.pop()
            call = handle.call
            if call is None:
                continue
            if call.node.may_skip(handle.output):
                return True
            if id(call) not in seen:
                seen.add(id(call))
                stack.extend(call.inputs.values())
        return False

    def _check_wiring(self) -> None:
        """Refuse an input that feeds nothing and a call whose outputs lead nowhere."""
        fed: set[int] = set()
        used_inputs: set[str] = set()
        for handle in [*(h for c in self.calls for h in c.inputs.values()), *self.outputs.values()]:
            if handle.call is None:
                used_inputs.add(handle.output)
            else:
                fed.add(id(handle.call))
        for name in self.input_names:
            if name not in used_inputs:
                raise DefinitionError(
                    f"graph '{self.name}' has input '{name}' that feeds no op: remove it or "
                    "pass it to an op call"
                )
        for call in self.calls:
            if id(call) not in fed:
                raise DefinitionError(
                    f"graph '{self.name}': {call.node.kind} '{call.name}' is dangling: its "
                    "output feeds no other op and is not an output of the graph, so no asset "
                    "needs it; use its output, return it, or remove the call"
                )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        recorder = composing.get()
        if recorder is None:
            raise DefinitionError(
                f"graph '{self.name}' can only be called inside another graph; make it an "
                "asset with AssetsDefinition.from_graph() and materialize that"
            )
        return recorder.record(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<graph {self.name}>"

    # -- config --------------------------------------------------------------------------------

    def inner_config(self, entry: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        """The config of the graph's calls, by call name, from the graph's entry of run config.

        With a ``ConfigMapping``, ``entry["config"]`` is mapped; with a fixed ``config=``,
        that is used whatever the run config says (as in the reference); otherwise the
        calls' config is ``entry["ops"]``.
        """
        config = self.config
        if isinstance(config, ConfigMapping):
            given = entry.get("config")
            if self._mapping_schema is not None:
                given = self._mapping_schema.validate(given, where, where)
            return config.config_fn(given) or {}
        if config is not None:
            return config
        inner = entry.get("ops") or {}
        return inner if isinstance(inner, Mapping) else {}

    def check_inner_config(self, inner: Mapping[str, Any], where: str, path: str = "") -> None:
        """Check the config of every call; ``path`` is this graph's place (``inner.``)."""
        calls = {c.name: c for c in self.calls}
        for name in inner:
            if name not in calls:
                raise ConfigInvalid(
                    f"config for {where} is invalid: graph '{self.name}' has no op '{name}' "
                    f"(its ops are {sorted(calls)})",
                    asset=where,
                    field=f"ops.{path}{name}",
                )
        for call in self.calls:
            entry = inner.get(call.name) or {}
            if not isinstance(entry, Mapping):
                raise ConfigInvalid(
                    f"config for {where} is invalid: the entry of '{path}{call.name}' must be "
                    f"a mapping, got {entry!r}",
                    asset=where,
                    field=f"ops.{path}{call.name}",
                )
            if isinstance(call.node, GraphDefinition):
                sub = call.node.inner_config(entry, where)
                call.node.check_inner_config(sub, where, f"{path}{call.name}.")
            else:
                op_where = f"{where}, op '{path}{call.name}'"
                call.node.validated_config(entry.get("config"), op_where)

    def check_config(self, entry: Mapping[str, Any], where: str) -> None:
        self.check_inner_config(self.inner_config(entry, where), where)

    # -- running -------------------------------------------------------------------------------

    def execute(
        self,
        context: Any,
        inputs: Mapping[str, Any],
        inner: Mapping[str, Any],
        wanted: Iterable[str],
        path: str = "",
    ) -> dict[str, Any]:
        """Run the calls that lead to the ``wanted`` outputs; the outputs produced, by name.

        A call whose input was not produced (an optional output left out) is skipped, and
        so is what depends on it.
        """
        # The calls needed, each with the outputs of it that are read.
        needed: dict[int, set[str]] = {}
        stack = [self.outputs[n] for n in wanted]
        while stack:
            handle = stack.pop()
            call = handle.call
            if call is None:
                continue
            if id(call) not in needed:
                stack.extend(call.inputs.values())
            needed.setdefault(id(call), set()).add(handle.output)
        values: dict[tuple[int, str], Any] = {}
        for call in self.calls:
            if id(call) not in needed:
                continue
            call_path = f"{path}{call.name}"
            given: dict[str, Any] = {}
            for name, handle in call.inputs.items():
                value = _value_of(handle, inputs, values)
                if value is NO_VALUE:
                    break
                given[name] = value.value if isinstance(value, Output) else value
            else:
                entry = inner.get(call.name) or {}
                node = call.node
                if isinstance(node, GraphDefinition):
                    produced = node.execute(
                        context,
                        given,
                        node.inner_config(entry, call_path),
                        [n for n in node.output_names if n in needed[id(call)]],
                        f"{call_path}.",
                    )
                else:
                    produced = node.invoke(context, given, entry.get("config"), call_path)
                for name, value in produced.items():
                    values[(id(call), name)] = value
                continue
            context.log.debug(f"op '{call_path}' skipped: its input '{name}' was not produced")
        out: dict[str, Any] = {}
        for name in wanted:
            value = _value_of(self.outputs[name], inputs, values)
            if value is not NO_VALUE:
                out[name] = value
        return out

    def to_assets_definition(self, **options: Any) -> AssetsDefinition:
        """``AssetsDefinition.from_graph``: inputs are upstream assets, outputs assets."""

        def execute(
            context: Any, inputs: Mapping[str, Any], entry: Mapping[str, Any], wanted: Any
        ) -> dict[str, Any]:
            inner = self.inner_config(entry, f"asset '{context.assets_def.node_name}'")
            return self.execute(context, inputs, inner, wanted)

        execution = NodeExecution(
            execute, self.check_config, self.config_json_schema, self.ops_config_json_schema
        )
        if "node_name" not in options and options.get("name") is None:
            # As in the reference, run config names the graph: {"ops": {graph_name: ...}}.
            # (``@graph_asset`` names it after the asset's key, as the reference does too.)
            options["node_name"] = self.name
        return build_node_assets(self, execution, **options)

    def config_json_schema(self) -> dict[str, Any] | None:
        """The schema of the graph's own config (a ``ConfigMapping``'s), or ``None``: the
        config of its ops sits under ``ops`` (``ops_config_json_schema``)."""
        return None if self._mapping_schema is None else self._mapping_schema.json_schema()

    def ops_config_json_schema(self) -> dict[str, Any] | None:
        """The schema of the config of the graph's calls, its entry's ``ops`` (nested graphs
        nest), as strict as ``check_inner_config``; ``None`` when the graph's own
        ``config=`` sets its ops' config instead."""
        if self.config is not None:
            return None
        defs: dict[str, Any] = {}
        schema = self._calls_schema(defs)
        if defs:
            schema["$defs"] = defs  # the definitions a Config class's schema refers to
        return schema

    def _calls_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        properties = {call.name: _entry_schema(call.node, defs) for call in self.calls}
        return _object(properties, additional=False)


def _entry_schema(node: OpDefinition | GraphDefinition, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of one call's entry in a graph's ``ops``: an op's ``config``, or an inner
    graph's ``config`` (a ``ConfigMapping``) or ``ops``. Other keys are left to the ops."""
    if isinstance(node, OpDefinition):
        return _object({"config": _hoisted(node.config_json_schema() or {}, defs)})
    if isinstance(node.config, ConfigMapping):
        return _object({"config": node.config_json_schema() or {}})
    if node.config is not None:
        return {"type": "object"}  # fixed config: what run config says is not read
    return _object({"ops": node._calls_schema(defs)})


def _object(properties: dict[str, Any], additional: bool = True) -> dict[str, Any]:
    """An object of ``properties``. A property is required when its schema requires a field,
    or is of a scalar or a list (``config_schema=int``), which no config cannot fit."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if not additional:
        schema["additionalProperties"] = False
    required = [
        name
        for name, prop in properties.items()
        if prop.get("required") or prop.get("type") not in (None, "object")
    ]
    if required:
        schema["required"] = required
    return schema


def _hoisted(schema: Mapping[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` moved into ``defs``, the root's: a ``Config`` class's
    schema refers to them as ``#/$defs/Name``. Two different definitions of one name cannot
    both sit there; the op's config is then left to the location to check."""
    own = dict(schema)
    for name, definition in (own.pop("$defs", None) or {}).items():
        if defs.setdefault(name, definition) != definition:
            return {}
    return own


def _value_of(
    handle: _Handle, inputs: Mapping[str, Any], values: Mapping[tuple[int, str], Any]
) -> Any:
    if handle.call is None:
        return inputs.get(handle.output, NO_VALUE)
    return values.get((id(handle.call), handle.output), NO_VALUE)


def _graph_outputs(name: str, returned: Any, order: Sequence[str]) -> dict[str, _Handle]:
    """The graph's outputs from what its body returned: one handle, a dict, or a tuple."""
    if isinstance(returned, _Handle):
        out_name = order[0] if len(order) == 1 else "result"
        if len(order) > 1:
            raise DefinitionError(
                f"graph '{name}' returned one output, but it declares outputs {list(order)}: "
                "return a dict of them"
            )
        return {out_name: returned}
    if isinstance(returned, Mapping):
        outputs = dict(returned)
    elif isinstance(returned, tuple) and order and len(returned) == len(order):
        outputs = dict(zip(order, returned, strict=True))
    elif returned is None:
        raise DefinitionError(
            f"graph '{name}' returns nothing: return the output of the op call that "
            "computes the asset (or a dict of outputs)"
        )
    else:
        raise DefinitionError(
            f"graph '{name}' must return the result of an op call (or a dict of them), "
            f"got {returned!r}"
        )
    for out_name, handle in outputs.items():
        if not isinstance(handle, _Handle):
            raise DefinitionError(
                f"graph '{name}': output '{out_name}' must be the result of an op call, "
                f"got {handle!r}"
            )
    if order:
        unknown = sorted(set(outputs) - set(order))
        if unknown:
            raise DefinitionError(
                f"graph '{name}' returned output '{unknown[0]}', which is not among its "
                f"outputs {list(order)}"
            )
        missing = [n for n in order if n not in outputs]
        if missing:
            raise DefinitionError(
                f"graph '{name}' does not return its output '{missing[0]}': return a value "
                "from an op call for it, or remove it"
            )
        return {n: outputs[n] for n in order}
    return outputs


def graph(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    out: Mapping[str, GraphOut] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
) -> Any:
    """Declare a composition of ops. Its parameters are its inputs; it returns the output
    of an op call, or a dict of them (``out=`` names them)."""

    def build(func: Callable[..., Any]) -> GraphDefinition:
        return GraphDefinition(
            func, name or func.__name__, description=description, out=out, config=config
        )

    return build(fn) if fn is not None else build


def graph_asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    kinds: Iterable[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    resource_defs: Mapping[str, Any] | None = None,
) -> Any:
    """Define an asset whose value is computed by a graph of ops.

    The parameters of the function are upstream assets (``ins`` maps them to other keys).
    ``config`` is a ``ConfigMapping`` (the asset then takes the mapping's config) or the
    fixed config of its ops, ``{op_name: {"config": {...}}}``; without it, each op takes its
    config from ``{"ops": {asset: {"ops": {op_name: {"config": ...}}}}}``.
    """

    def build(func: Callable[..., Any]) -> AssetsDefinition:
        graph_def = GraphDefinition(func, func.__name__, config=config)
        return graph_def.to_assets_definition(
            name=name,
            key=key,
            key_prefix=key_prefix,
            ins=ins,
            deps=deps,
            group_name=group_name,
            description=description,
            metadata=metadata,
            code_version=code_version,
            owners=owners,
            tags=tags,
            kinds=kinds,
            retry_policy=retry_policy,
            resource_defs=resource_defs,
            node_name=None,  # the key's segments joined by "__"
            owner=f"graph asset '{func.__name__}'",
        )

    return build(fn) if fn is not None else build


def graph_multi_asset(
    *,
    outs: Mapping[str, AssetOut],
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    config: ConfigMapping | Mapping[str, Any] | None = None,
    group_name: str | None = None,
    can_subset: bool = False,
    retry_policy: RetryPolicy | None = None,
    resource_defs: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define several assets computed by one graph of ops: the function returns a dict of
    op outputs by output name (or a tuple in the order of ``outs``). With ``can_subset``,
    materializing some of them runs only the ops those need."""

    def build(func: Callable[..., Any]) -> AssetsDefinition:
        node = name or func.__name__
        graph_def = GraphDefinition(func, node, config=config, output_order=list(outs))
        return graph_def.to_assets_definition(
            node_name=node,
            outs=outs,
            ins=ins,
            deps=deps,
            group_name=group_name,
            can_subset=can_subset,
            retry_policy=retry_policy,
            resource_defs=resource_defs,
            owner=f"graph multi-asset '{node}'",
        )

    return build
