"""Ops: the functions a graph wires together, with their inputs (``In``), outputs (``Out``)
and config; ``AssetsDefinition.from_op`` makes assets of one (``codeloc._node_assets``).

Called inside a ``@graph`` or ``@graph_asset`` body, an op does not run: it records a call
(``codeloc._composition``). Called anywhere else, it is the plain function. An op's config
comes from run config (``{"ops": {asset: {"ops": {op: {"config": …}}}}}`` in a graph asset),
and is checked against its ``config_schema`` (classic config, ``codeloc._config_schema``) or
its ``Config``-typed parameter before the run starts.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import sys
import time
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from codeloc._assets import AssetsDefinition
from codeloc._config_schema import ConfigSchema
from codeloc._context import AssetExecutionContext, build_asset_context
from codeloc._errors import ConfigInvalid, DefinitionError, RunInterrupted, TesseraError
from codeloc._node_assets import NodeExecution, build_node_assets
from codeloc._resource_def import is_resource_param
from codeloc._results import Output
from codeloc._retry import Failure, RetryPolicy, RetryRequested

if TYPE_CHECKING:
    from codeloc._config import Config

__all__ = [
    "NO_VALUE",
    "In",
    "OpDefinition",
    "OpExecutionContext",
    "Out",
    "Recorder",
    "build_op_context",
    "composing",
    "op",
]


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Any = _NoValue()
"""``In(default_value=)`` not given, or an output an op did not produce."""


class Recorder(Protocol):
    """What records op calls while a graph body runs (``codeloc._composition``)."""

    def record(self, node: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any: ...


composing: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "composing", default=None
)
"""Set while a graph body runs: op calls are recorded, not executed."""


@dataclass(frozen=True, slots=True)
class In:
    """An input of an op: its type (checked with ``isinstance`` when it is a class), a
    description, a default value used when nothing feeds it, and metadata."""

    dagster_type: Any = None
    description: str | None = None
    default_value: Any = NO_VALUE
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Out:
    """An output of an op: its type (checked with ``isinstance`` when it is a class), a
    description, whether it must be produced, the IO manager of the asset it becomes (in
    ``AssetsDefinition.from_op``), metadata and a code version."""

    dagster_type: Any = None
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    code_version: str | None = None


_D = TypeVar("_D", In, Out)


class OpDefinition:
    """A function used as a step inside a graph. Called directly, it just runs.

    Attributes:
        name: the op's name, and the name of its call in a graph (a second call of the same
            op in one graph is named ``name_2``, unless given another with ``alias``).
        ins: one ``In`` per input, in the order of the function's parameters.
        outs: one ``Out`` per output (``"result"`` when the op has one).
        config_schema: the classic config schema (fields with ``Field`` defaults, types,
            ``[T]`` lists; see ``codeloc._config_schema``), or ``None``: any config is taken.
        required_resource_keys: the resources the op reaches through ``context.resources``
            or a resource-typed parameter.
    """

    kind = "op"

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str,
        *,
        ins: Mapping[str, In] | None = None,
        outs: Mapping[str, Out] | None = None,
        config_schema: Any = None,
        required_resource_keys: Iterable[str] | None = None,
        retry_policy: RetryPolicy | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.name = name
        self.config_schema = config_schema
        self._schema = (
            None if config_schema is None else ConfigSchema(config_schema, f"op '{name}'")
        )
        self.retry_policy = retry_policy
        self.description = description if description is not None else _doc(fn)
        self.tags = dict(tags or {})
        self.context_param: str | None = None
        self.config_param: str | None = None
        self.config_type: type[Config] | None = None
        self.resource_params: dict[str, str] = {}
        given_ins = dict(ins or {})
        self.ins: dict[str, In] = {}
        hints = _annotations(fn)
        config_base, resource_base = _config_bases()
        for index, param in enumerate(inspect.signature(fn).parameters.values()):
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            ann = hints.get(param.name)
            if param.name == "context" or (index == 0 and _is_context(ann)):
                self.context_param = param.name
            elif config_base and isinstance(ann, type) and issubclass(ann, config_base):
                self.config_param, self.config_type = param.name, ann
            elif (
                resource_base and isinstance(ann, type) and issubclass(ann, resource_base)
            ) or is_resource_param(ann):
                self.resource_params[param.name] = param.name
            else:
                declared = given_ins.pop(param.name, None) or In()
                if declared.dagster_type is None and ann is not None:
                    declared = _with(declared, dagster_type=ann)
                if declared.default_value is NO_VALUE and param.default is not param.empty:
                    declared = _with(declared, default_value=param.default)
                self.ins[param.name] = declared
        if given_ins:
            raise DefinitionError(
                f"op '{name}': ins= names {sorted(given_ins)}, which match no parameter of the "
                f"function (its inputs are {list(self.ins)})"
            )
        if config_schema is not None and self.config_param is not None:
            raise DefinitionError(
                f"op '{name}': give config_schema= or a Config-typed parameter, not both"
            )
        ret = hints.get("return")
        typed = ret is not None and not inspect.isgeneratorfunction(fn)
        if outs is None:
            outs = {"result": Out(dagster_type=ret if typed else None)}
        elif typed and len(outs) == 1:
            # One output: its type is the return annotation unless Out says otherwise.
            ((out_name, declared_out),) = outs.items()
            if declared_out.dagster_type is None:
                outs = {out_name: _with(declared_out, dagster_type=ret)}
        self.outs: dict[str, Out] = dict(outs)
        self.required_resource_keys = frozenset(
            {*(required_resource_keys or ()), *self.resource_params.values()}
        )

    @property
    def input_names(self) -> list[str]:
        return list(self.ins)

    @property
    def output_names(self) -> list[str]:
        return list(self.outs)

    def out_of(self, name: str) -> Out | None:
        return self.outs.get(name)

    def may_skip(self, name: str) -> bool:
        """Whether output ``name`` may be left out (``Out(is_required=False)``)."""
        return not self.outs[name].is_required

    def has_default(self, name: str) -> bool:
        return self.ins[name].default_value is not NO_VALUE

    def alias(self, name: str) -> OpDefinition:
        """The same op under another name: its call in a graph is named ``name``."""
        aliased = copy.copy(self)
        aliased.name = name
        return aliased

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside a graph body, record a call; anywhere else, call the function, as a unit
        test does: a context it is given (``build_op_context(op_config=...)``) has its
        config checked against the op's schema first, and its defaults filled in, as in
        the reference."""
        recorder = composing.get()
        if recorder is not None:
            return recorder.record(self, args, kwargs)
        if self.context_param:
            by_name = self.context_param in kwargs
            context = kwargs[self.context_param] if by_name else (args[0] if args else None)
            if context is None:
                raise TesseraError(
                    f"op '{self.name}' takes a context, but none was given: call it with "
                    "build_op_context() first"
                )
            if isinstance(context, AssetExecutionContext):
                config = context.op_config
                validated = self.validated_config(config, f"op '{self.name}'")
                checked = self._with_config(context, config, validated)
                if by_name:
                    kwargs = {**kwargs, self.context_param: checked}
                else:
                    args = (checked, *args[1:])
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    # -- config --------------------------------------------------------------------------------

    def validated_config(self, config: Any, where: str) -> Any:
        """``config`` checked against the op's schema; ``ConfigInvalid`` names the field."""
        if self.config_type is not None:
            # Imported here: pydantic is loaded only by code that uses Config.
            from codeloc._config import validate_config

            try:
                return validate_config(self.config_type, config, self.name)
            except ConfigInvalid as exc:
                # validate_config names an asset; say where the op sits instead.
                detail = str(exc).partition(" is invalid: ")[2]
                raise ConfigInvalid(
                    f"config for {where} is invalid: {detail}", asset=where, field=exc.field
                ) from None
        if self._schema is None:
            # As in the reference, an op without a schema takes any config, unchecked.
            return config if config is not None else {}
        return self._schema.validate(config, where, where)

    def _with_config(self, context: Any, config: Any, validated: Any) -> Any:
        """A copy of ``context`` whose ``op_config`` is the ``validated`` config (defaults
        filled in); the context given is left as it was."""
        op_context = copy.copy(context)
        # Under a Config class, op_config stays the raw mapping; the parameter gets the class.
        op_context.op_config = (config or {}) if self.config_type is not None else validated
        return op_context

    # -- running -------------------------------------------------------------------------------

    def invoke(
        self, context: Any, inputs: Mapping[str, Any], config: Any, path: str
    ) -> dict[str, Any]:
        """Run the op (retried by its policy); its outputs by name, each a value or an
        ``Output``. ``path`` names the call in messages (``inner.scale``)."""
        attempt = 1
        while True:
            started = time.perf_counter()
            context.log.debug(f"op '{path}' started")
            try:
                produced = self._attempt(context, inputs, config, path)
            except RunInterrupted:
                raise
            except Exception as exc:
                if isinstance(exc, RetryRequested):
                    allowed = exc.max_retries
                elif isinstance(exc, Failure) and not exc.allow_retries:
                    allowed = 0  # the step fails with it, unretried by any policy
                else:
                    allowed = self.retry_policy.max_retries if self.retry_policy else 0
                cause = exc.__cause__ if isinstance(exc, RetryRequested) else exc
                summary = f"{type(cause).__name__}: {cause}" if cause else str(exc)
                if attempt > allowed:
                    if isinstance(exc, RetryRequested):
                        raise TesseraError(
                            f"op '{path}' exceeded max_retries of {allowed} ({summary})"
                        ) from cause
                    raise
                delay = self._delay(exc, attempt)
                context.log.warning(
                    f"op '{path}' failed ({summary}); retry {attempt} of {allowed} in {delay:.3g}s"
                )
                if delay:
                    time.sleep(delay)
                attempt += 1
                continue
            elapsed = (time.perf_counter() - started) * 1e3
            context.log.debug(f"op '{path}' finished in {elapsed:.3g}ms")
            return produced

    def _delay(self, exc: Exception, attempt: int) -> float:
        if isinstance(exc, RetryRequested):
            return exc.seconds_to_wait or 0.0
        assert self.retry_policy is not None
        return self.retry_policy.calculate_delay(attempt)

    def _attempt(
        self, context: Any, inputs: Mapping[str, Any], config: Any, path: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, declared in self.ins.items():
            if name in inputs:
                value = inputs[name]
                _check_type(declared.dagster_type, value, f"op '{path}' input '{name}'")
                kwargs[name] = value
            elif declared.default_value is not NO_VALUE:
                kwargs[name] = declared.default_value
        validated = self.validated_config(config, f"op '{path}'")
        if self.context_param:
            kwargs[self.context_param] = self._with_config(context, config, validated)
        if self.config_param:
            kwargs[self.config_param] = validated
        resources = getattr(context, "resources", None)
        for param, key in self.resource_params.items():
            kwargs[param] = getattr(resources, key)
        return self._outputs(self.fn(**kwargs), path)

    def _outputs(self, result: Any, path: str) -> dict[str, Any]:
        """Match what the function returned (or yielded) to the op's outputs."""
        names = self.output_names
        produced: dict[str, Any] = {}
        if inspect.isgenerator(result):
            for item in result:
                if not isinstance(item, Output):
                    raise TesseraError(
                        f"op '{path}' yielded {type(item).__name__}; yield Output(...) instead"
                    )
                name = names[0] if len(names) == 1 and item.output_name == "result" else None
                name = name or item.output_name
                if name not in self.outs:
                    raise TesseraError(
                        f"op '{path}' yielded an Output named '{item.output_name}', but its "
                        f"outputs are {names}"
                    )
                produced[name] = item
        elif len(names) == 1:
            produced[names[0]] = result
        elif len(names) > 1 and result is not None:
            if not isinstance(result, tuple | list) or len(result) != len(names):
                raise TesseraError(
                    f"op '{path}' has outputs {names}: return a tuple of {len(names)} "
                    f"values, or yield Output(value, output_name=...), not {result!r}"
                )
            produced = dict(zip(names, result, strict=True))
        for name, value in produced.items():
            plain = value.value if isinstance(value, Output) else value
            _check_type(self.outs[name].dagster_type, plain, f"op '{path}' output '{name}'")
        missing = [n for n, o in self.outs.items() if o.is_required and n not in produced]
        if missing:
            raise TesseraError(f"op '{path}' did not produce its required output '{missing[0]}'")
        return produced

    # -- as an asset ---------------------------------------------------------------------------

    def to_assets_definition(self, **options: Any) -> AssetsDefinition:
        """``AssetsDefinition.from_op``: the op's inputs are upstream assets, its outputs assets."""

        def execute(
            context: Any, inputs: Mapping[str, Any], entry: Mapping[str, Any], wanted: Any
        ) -> dict[str, Any]:
            return self.invoke(context, inputs, entry.get("config"), self.name)

        def check(entry: Mapping[str, Any], where: str) -> None:
            self.validated_config(entry.get("config"), where)

        return build_node_assets(
            self,
            NodeExecution(execute, check, self.config_json_schema),
            node_name=self.name,
            **options,
        )

    def config_json_schema(self) -> dict[str, Any] | None:
        """The op's config schema as JSON Schema (for the snapshot), or ``None``."""
        if self.config_type is not None:
            return self.config_type.model_json_schema()
        return None if self._schema is None else self._schema.json_schema()


@overload
def op(fn: Callable[..., Any], /) -> OpDefinition: ...
@overload
def op(
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
) -> Callable[[Callable[..., Any]], OpDefinition]: ...


def op(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
) -> OpDefinition | Callable[[Callable[..., Any]], OpDefinition]:
    """Declare a function as an op, to be wired into a ``@graph`` or ``@graph_asset``.

    ``out`` is one ``Out``, or a mapping of output name to ``Out`` for an op with several
    outputs (it then returns a tuple in that order, or yields ``Output(value,
    output_name=...)``). ``config_schema`` is classic config, as ``@asset(config_schema=)``
    takes it: field names to types or ``Field(type, default_value=, is_required=)``,
    checked strictly; the op reads it, defaults filled in, as ``context.op_config``.
    """

    def build(func: Callable[..., Any]) -> OpDefinition:
        outs = {"result": out} if isinstance(out, Out) else out
        if code_version is not None and outs is None:
            outs = {"result": Out(code_version=code_version)}
        return OpDefinition(
            func,
            name or func.__name__,
            ins=ins,
            outs=outs,
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            retry_policy=retry_policy,
            description=description,
            tags=tags,
        )

    return build(fn) if fn is not None else build


OpExecutionContext = AssetExecutionContext
"""What an op that takes a ``context`` receives: the step's context, with the op's own
``op_config``. The same class as ``AssetExecutionContext``, named as the reference names it."""


def build_op_context(
    resources: Mapping[str, Any] | None = None,
    op_config: Any = None,
    config: Any = None,
    run_tags: Mapping[str, str] | None = None,
) -> AssetExecutionContext:
    """A context for calling an op directly in a unit test: ``my_op(build_op_context(...))``.

    ``config`` is another name for ``op_config``, as in the reference.
    """
    return build_asset_context(
        resources=resources,
        asset_config=op_config if op_config is not None else config,
        run_tags=run_tags,
    )


# -- helpers -------------------------------------------------------------------------------------


def _with(declared: _D, **changes: Any) -> _D:
    return replace(declared, **changes)


def _check_type(expected: Any, value: Any, where: str) -> None:
    """Refuse ``value`` when ``expected`` is a class (or a union of classes) it is not of.

    Other annotations (``Any``, type variables, protocols) are not checked.
    """
    kinds = _classes(expected)
    if kinds and not isinstance(value, kinds):
        wanted = " | ".join(k.__name__ for k in kinds)
        raise TesseraError(f"{where} must be {wanted}, got {type(value).__name__} {_short(value)}")


def _classes(expected: Any) -> tuple[type, ...]:
    if expected is None or expected is Any or expected is inspect.Parameter.empty:
        return ()
    if isinstance(expected, type):
        if expected in (Output, object) or getattr(expected, "_is_protocol", False):
            return ()
        return (expected,)
    origin = typing.get_origin(expected)
    if origin is typing.Union or origin is types.UnionType:
        found: list[type] = []
        for arg in typing.get_args(expected):
            if arg is type(None):
                found.append(type(None))
                continue
            inner = _classes(arg)
            if not inner:
                return ()
            found.extend(inner)
        return tuple(found)
    if isinstance(origin, type) and origin.__module__ == "builtins":
        return (origin,)  # list[int] is checked as a list
    return ()


def _short(value: Any) -> str:
    text = repr(value)
    return f"({text[:60]}…)" if len(text) > 60 else f"({text})"


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    raw = dict(getattr(fn, "__annotations__", None) or {})
    globalns = getattr(fn, "__globals__", {})
    for pname, value in raw.items():
        if isinstance(value, str):
            try:
                raw[pname] = eval(value, globalns)
            except Exception:
                raw[pname] = None
    return raw


def _config_bases() -> tuple[type[Config] | None, type | None]:
    # A Config or resource annotation exists only if pydantic was imported through
    # codeloc._config; when it was not, there is nothing to look for.
    module = sys.modules.get("codeloc._config")
    return getattr(module, "Config", None), getattr(module, "ConfigurableResource", None)


def _is_context(ann: Any) -> bool:
    return getattr(ann, "__name__", "") in {"AssetExecutionContext", "OpExecutionContext"}


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = getattr(fn, "__doc__", None)
    return inspect.cleandoc(doc) if doc else None
