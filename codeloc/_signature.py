"""What a compute function asks for: its parameters, read once when it is decorated.

``inspect_function`` sorts the parameters of an ``@asset``, ``@multi_asset`` or
``@graph_asset`` function into a context, a config, resources and upstream values, and
returns a ``Signature`` (what to pass at run time) and the ``InputSpec``s (which upstream
asset feeds which parameter). Nothing here knows about definitions; the decorators do.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from codeloc._errors import DefinitionError
from codeloc._key import AssetKey
from codeloc._resource_def import is_resource_param
from codeloc._spec import AssetIn

if TYPE_CHECKING:
    from codeloc._config import Config
    from codeloc._config_schema import ConfigSchema

__all__ = ["NO_PARAMETERS", "InputSpec", "Signature", "inspect_function", "with_required_resources"]


class InputSpec(NamedTuple):
    """A parameter of the compute function that receives the value of an upstream asset.

    ``input_manager_key`` and ``metadata`` come from its ``AssetIn``, if it has one.
    """

    param: str
    key: AssetKey
    input_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """What the parameters of a compute function ask for."""

    context_param: str | None
    config_param: str | None
    config_type: type[Config] | None
    resource_params: Mapping[str, str]  # parameter -> resource key
    data_params: tuple[str, ...]
    # resources the function reaches through ``context.resources`` only
    extra_resource_keys: frozenset[str] = frozenset()
    # the classic schema (``config_schema=``) of the config read with ``context.op_config``
    config_schema: ConfigSchema | None = None


NO_PARAMETERS = Signature(None, None, None, {}, ())
"""The signature of a function that takes nothing."""


def inspect_function(
    func: Callable[..., Any], owner: str, ins: Mapping[str, AssetIn]
) -> tuple[Signature, tuple[InputSpec, ...]]:
    """Classify the parameters of ``func``.

    Args:
        func: The compute function.
        owner: How messages name the asset (or node) being defined.
        ins: Parameters mapped to upstream assets explicitly (``@asset(ins=...)``).

    Raises:
        DefinitionError: A ``config`` parameter without a ``Config`` annotation, or ``ins``
            naming a parameter the function does not have.
    """
    params = _parameters(func)
    if not params and not ins:
        return NO_PARAMETERS, ()
    annotations = _annotations(func)
    # A Config or resource annotation can only exist if the user's code imported pydantic
    # through codeloc._config; when it has not, there is nothing to look for.
    config_module = sys.modules.get("codeloc._config")
    config_base = getattr(config_module, "Config", None)
    resource_base = getattr(config_module, "ConfigurableResource", None)
    context_param = config_param = None
    config_type: type[Config] | None = None
    resources: dict[str, str] = {}
    data: list[str] = []
    required: set[str] = set()
    for index, (pname, has_default) in enumerate(params):
        ann = annotations.get(pname)
        if pname == "context" or (index == 0 and _is_context_annotation(ann)):
            context_param = pname
        elif config_base is not None and isinstance(ann, type) and issubclass(ann, config_base):
            config_param, config_type = pname, ann
        elif pname == "config":
            raise DefinitionError(
                f"asset '{owner}': parameter 'config' needs a type annotation that is a "
                "subclass of codeloc.Config"
            )
        elif (
            resource_base is not None and isinstance(ann, type) and issubclass(ann, resource_base)
        ) or is_resource_param(ann):
            resources[pname] = pname
        else:
            data.append(pname)
            if not has_default:
                required.add(pname)
    unknown_ins = set(ins) - set(data) if ins else None
    if unknown_ins:
        raise DefinitionError(
            f"asset '{owner}': ins= names {sorted(unknown_ins)}, which match no parameter of "
            f"the function (its upstream parameters are {data})"
        )
    inputs = tuple(
        InputSpec(p, ins[p].resolve_key(p), ins[p].input_manager_key, ins[p].metadata)
        if p in ins
        else InputSpec(p, AssetKey(p))
        for p in data
        if p in required or p in ins
    )
    sig = Signature(
        context_param, config_param, config_type, resources, tuple(i.param for i in inputs)
    )
    return sig, inputs


def with_required_resources(sig: Signature, keys: Iterable[str] | None) -> Signature:
    """``sig`` also requiring the resources ``keys`` (``required_resource_keys=``)."""
    if not keys:
        return sig
    return replace(sig, extra_resource_keys=sig.extra_resource_keys | frozenset(keys))


def _parameters(func: Callable[..., Any]) -> list[tuple[str, bool]]:
    """``(name, has_default)`` of each named parameter, read off the code object when possible.

    ``inspect.signature`` costs tens of microseconds a call, which adds up to most of the
    time of building 10,000 assets; a plain function's code object answers the same.
    """
    code = getattr(func, "__code__", None)
    if code is None or not inspect.isfunction(func):
        return [
            (p.name, p.default is not p.empty)
            for p in inspect.signature(func).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    positional = code.co_argcount
    names = code.co_varnames[: positional + code.co_kwonlyargcount]
    defaults = func.__defaults__ or ()
    kwdefaults = func.__kwdefaults__ or {}
    first_default = positional - len(defaults)
    return [
        (name, i >= first_default if i < positional else name in kwdefaults)
        for i, name in enumerate(names)
    ]


def _annotations(func: Callable[..., Any]) -> dict[str, Any]:
    raw = getattr(func, "__annotations__", None) or {}
    if not raw:
        return {}
    if not any(isinstance(v, str) for v in raw.values()):
        return dict(raw)
    # Postponed annotations (``from __future__ import annotations``): resolve them in the
    # function's own globals; one that cannot be resolved is treated as absent.
    globalns = getattr(func, "__globals__", {})
    out: dict[str, Any] = {}
    for pname, value in raw.items():
        if isinstance(value, str):
            try:
                value = eval(value, globalns)
            except Exception:
                value = None
        out[pname] = value
    return out


def _is_context_annotation(ann: Any) -> bool:
    return getattr(ann, "__name__", "") in {"AssetExecutionContext", "OpExecutionContext"}
