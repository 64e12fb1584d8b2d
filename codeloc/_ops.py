"""Ops and graphs: an asset computed by several functions wired together (``@graph_asset``).

Calling ops inside a ``@graph`` or ``@graph_asset`` body does not run them: the body runs
once, when it is decorated, with placeholders, and records which op feeds which. When the
asset materializes, the recorded ops run in that order inside its one step.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from codeloc._assets import AssetsDefinition
from codeloc._errors import DefinitionError
from codeloc._key import CoercibleToAssetKeyPrefix
from codeloc._retry import RetryPolicy
from codeloc._spec import AssetIn

__all__ = ["GraphDefinition", "OpDefinition", "graph", "graph_asset", "op"]

_composing: contextvars.ContextVar[bool] = contextvars.ContextVar("composing", default=False)


@dataclass(frozen=True, slots=True)
class _Node:
    """A placeholder for the output of an op call (or a graph input) while composing."""

    op: OpDefinition | None
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    input_name: str | None = None


class OpDefinition:
    """A function used as a step inside a graph. Called directly, it just runs."""

    def __init__(self, fn: Callable[..., Any], name: str, retry_policy: RetryPolicy | None):
        self.fn = fn
        self.name = name
        self.retry_policy = retry_policy
        params = list(inspect.signature(fn).parameters)
        self.takes_context = bool(params) and params[0] == "context"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _composing.get():
            return _Node(self, args, tuple(kwargs.items()))
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<op {self.name}>"


@overload
def op(fn: Callable[..., Any], /) -> OpDefinition: ...
@overload
def op(
    *, name: str | None = None, retry_policy: RetryPolicy | None = None
) -> Callable[[Callable[..., Any]], OpDefinition]: ...


def op(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | None = None,
) -> OpDefinition | Callable[[Callable[..., Any]], OpDefinition]:
    """Declare a function as an op, to be wired into a ``@graph`` or ``@graph_asset``."""

    def build(func: Callable[..., Any]) -> OpDefinition:
        return OpDefinition(func, name or func.__name__, retry_policy)

    return build(fn) if fn is not None else build


class GraphDefinition:
    """Ops wired together by a composition function.

    ``AssetsDefinition.from_graph(graph_def)`` turns one into an asset.
    """

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self.fn = fn
        self.name = name
        self.input_names = [
            p for p in inspect.signature(fn).parameters if p not in ("context", "config")
        ]
        token = _composing.set(True)
        try:
            self.output = fn(**{n: _Node(None, (), (), input_name=n) for n in self.input_names})
        finally:
            _composing.reset(token)
        if not isinstance(self.output, _Node):
            raise DefinitionError(
                f"graph '{name}' must return the result of an op call, got {self.output!r}"
            )

    def execute(self, inputs: Mapping[str, Any], context: Any) -> Any:
        """Run the recorded ops; each op runs once even if its output is used twice."""
        memo: dict[int, Any] = {}

        def evaluate(value: Any) -> Any:
            if not isinstance(value, _Node):
                return value
            if value.input_name is not None:
                return inputs[value.input_name]
            cached = memo.get(id(value), _MISSING)
            if cached is not _MISSING:
                return cached
            assert value.op is not None
            args = [evaluate(a) for a in value.args]
            kwargs = {k: evaluate(v) for k, v in value.kwargs}
            if value.op.takes_context:
                args.insert(0, context)
            result = value.op.fn(*args, **kwargs)
            memo[id(value)] = result
            return result

        return evaluate(self.output)

    def __repr__(self) -> str:
        return f"<graph {self.name}>"


_MISSING = object()


def graph(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a composition of ops."""

    def build(func: Callable[..., Any]) -> GraphDefinition:
        return GraphDefinition(func, name or func.__name__)

    return build(fn) if fn is not None else build


def graph_asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Any:
    """Define an asset whose value is computed by a graph of ops."""

    def build(func: Callable[..., Any]) -> AssetsDefinition:
        return AssetsDefinition.from_graph(
            GraphDefinition(func, func.__name__),
            name=name or func.__name__,
            key_prefix=key_prefix,
            ins=ins,
            deps=deps,
            group_name=group_name,
            description=description if description is not None else inspect.getdoc(func),
            metadata=metadata,
            code_version=code_version,
            owners=owners,
            tags=tags,
            retry_policy=retry_policy,
        )

    return build(fn) if fn is not None else build
