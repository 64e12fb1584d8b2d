"""Function-style resources: ``@resource`` and ``ResourceDefinition``.

The older of the reference's two resource styles, kept so that code written in it moves
over unchanged: a function of an ``InitResourceContext`` that returns the resource, or
yields it and cleans up after the ``yield`` (entered around the steps as a context manager,
like ``ConfigurableResource.yield_for_execution``). Its config comes from run config
(``{"resources": {key: {"config": {...}}}}``), checked against ``config_schema``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar, overload

from codeloc._config_schema import ConfigSchema
from codeloc._errors import ConfigInvalid, DefinitionError, ResourceSetupError, UnknownResourceError

__all__ = [
    "InitResourceContext",
    "ResourceDefinition",
    "ResourceParam",
    "build_init_resource_context",
    "check_resource_dependencies",
    "is_resource_param",
    "resource",
]

_T = TypeVar("_T")

_RESOURCE_PARAM = "resource_param"

ResourceParam = Annotated[_T, _RESOURCE_PARAM]
"""``client: ResourceParam[MyClient]`` makes the parameter the resource of its name.

For resources that are plain objects (``Definitions(resources={"client": MyClient()})``):
a parameter annotated with a ``ConfigurableResource`` subclass is one already. Type checkers
see the parameter as a ``MyClient``.
"""


def is_resource_param(annotation: Any) -> bool:
    """Whether ``annotation`` is ``ResourceParam[...]`` (the reference's marker, compared as
    the reference compares it, so ``Annotated[T, "resource_param"]`` counts too)."""
    return getattr(annotation, "__metadata__", None) == (_RESOURCE_PARAM,)


@dataclass(frozen=True)
class InitResourceContext:
    """What a resource's lifecycle hooks are told: the run, the key it is under, its config,
    and (as attributes of ``resources``) the resources it requires, already set up."""

    run_id: str | None
    resource_key: str | None
    resource_config: Any = None
    resources: Any = dataclasses.field(default_factory=SimpleNamespace)


ResourceFunction = Callable[..., Any]


class ResourceDefinition:
    """A resource built by ``resource_fn`` when a run sets it up.

    ``config_schema`` is classic config, as ``@op(config_schema=)`` takes it (fields of
    types or ``Field`` with defaults; a single type for a scalar config), or ``None`` for
    any config. The resources named by
    ``required_resource_keys`` are set up first and handed to ``resource_fn`` as
    ``context.resources``.
    """

    def __init__(
        self,
        resource_fn: ResourceFunction,
        config_schema: Any = None,
        description: str | None = None,
        *,
        config: Any = None,
        required_resource_keys: Iterable[str] | None = None,
    ) -> None:
        self.resource_fn = resource_fn
        self.config_schema = config_schema
        name = getattr(resource_fn, "__name__", "?")
        self._schema = (
            None if config_schema is None else ConfigSchema(config_schema, f"resource '{name}'")
        )
        self.description = description if description is not None else _doc(resource_fn)
        self.config = config
        self.required_resource_keys: frozenset[str] = frozenset(required_resource_keys or ())

    @staticmethod
    def hardcoded_resource(value: Any, description: str | None = None) -> ResourceDefinition:
        """A resource that is ``value`` in every run."""
        return ResourceDefinition(lambda _context: value, description=description)

    @staticmethod
    def none_resource(description: str | None = None) -> ResourceDefinition:
        """A resource that is ``None``: a placeholder for a key nothing uses in this run."""
        return ResourceDefinition.hardcoded_resource(None, description)

    def configured(self, config: Any) -> ResourceDefinition:
        """This resource with ``config`` as its config (run config still overrides it)."""
        configured = copy.copy(self)  # of its own class: an IO manager stays one
        configured.config = config
        return configured

    def _validated_config(self, key: str) -> Any:
        """The config checked against the schema, defaults filled in; ``ResourceSetupError``
        names the field."""
        config = self.config
        if self._schema is None:
            return config if config is not None else {}
        try:
            return self._schema.validate(config, key, f"resource '{key}'")
        except ConfigInvalid as exc:
            raise ResourceSetupError(str(exc), key) from None

    def resource_config(self, key: str) -> Any:
        """The config a run under ``key`` builds the resource with, checked against the schema.

        Raises ``ResourceSetupError`` naming the field that does not fit.
        """
        return self._validated_config(key)

    def for_execution(
        self, run_id: str | None, key: str, resources: Mapping[str, Any] | None = None
    ) -> AbstractContextManager[Any]:
        """The resource's lifecycle for one run: enter to build it, leave to clean it up.

        ``resources`` are the resources it requires, already set up.
        """
        context = InitResourceContext(
            run_id, key, self._validated_config(key), SimpleNamespace(**(resources or {}))
        )
        fn = self.resource_fn
        if inspect.isgeneratorfunction(fn):
            return contextmanager(fn)(context)
        takes_context = bool(inspect.signature(fn).parameters)
        return _built(fn, context if takes_context else None)

    def __call__(self, context: InitResourceContext | None = None) -> Any:
        """Build the resource directly, as a unit test does (``build_init_resource_context``).

        The context's config is checked against ``config_schema``, defaults filled in, and
        the resources it requires must be in ``context.resources``. A generator function
        gives a context manager: entering it builds the resource, leaving it cleans up.
        """
        fn = self.resource_fn
        name = getattr(fn, "__name__", "?")
        takes_context = bool(inspect.signature(fn).parameters)
        if context is None:
            if takes_context:
                raise DefinitionError(
                    f"resource '{name}' takes a context and none was given: "
                    "pass build_init_resource_context(...)"
                )
            return contextmanager(fn)() if inspect.isgeneratorfunction(fn) else fn()
        given = context.resources
        missing = sorted(k for k in self.required_resource_keys if not hasattr(given, k))
        if missing:
            raise UnknownResourceError(
                f"resource '{name}' requires resource '{missing[0]}', which the context lacks"
            )
        config = context.resource_config
        if self._schema is not None:
            config = self._schema.validate(config, name, f"resource '{name}'")
        bound = dataclasses.replace(context, resource_config=config)
        if inspect.isgeneratorfunction(fn):
            return contextmanager(fn)(bound) if takes_context else contextmanager(fn)()
        return fn(bound) if takes_context else fn()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self.resource_fn, '__name__', '?')}>"


@contextmanager
def _built(fn: ResourceFunction, context: InitResourceContext | None) -> Iterator[Any]:
    yield fn(context) if context is not None else fn()


@overload
def resource(fn: ResourceFunction, /) -> ResourceDefinition: ...


@overload
def resource(
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> Callable[[ResourceFunction], ResourceDefinition]: ...


def resource(
    fn: ResourceFunction | None = None,
    /,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
) -> ResourceDefinition | Callable[[ResourceFunction], ResourceDefinition]:
    """Define a resource by the function that builds it from an ``InitResourceContext``.

    ``required_resource_keys`` names the resources it is built from (``context.resources``).
    """

    def build(func: ResourceFunction) -> ResourceDefinition:
        if not callable(func):
            raise DefinitionError(f"@resource decorates a function, not {func!r}")
        return ResourceDefinition(
            func, config_schema, description, required_resource_keys=required_resource_keys
        )

    if fn is not None:
        return build(fn)
    return build


def build_init_resource_context(
    config: Mapping[str, Any] | None = None, resources: Mapping[str, Any] | None = None
) -> InitResourceContext:
    """An ``InitResourceContext`` to call a ``@resource`` function with in a unit test.

    ``config`` is the resource's config (``{}`` when left out; calling the resource checks
    it and fills in defaults); ``resources`` are the resources it requires, as
    ``context.resources``. A ``ResourceDefinition`` among them is built by its function
    (with no config of its own: configure it first with ``.configured``); other values are
    handed over as they are. No run is behind the context: ``run_id`` is ``None``.
    """
    built: dict[str, Any] = {}
    for key, value in (resources or {}).items():
        if isinstance(value, ResourceDefinition):
            if inspect.isgeneratorfunction(value.resource_fn):
                raise DefinitionError(
                    f"resource '{key}' cleans up after a yield; set it up with "
                    "build_resources(...) and pass the resource it yields"
                )
            inner = InitResourceContext(None, key, value.config if value.config is not None else {})
            value = value(inner)
        built[key] = value
    return InitResourceContext(
        None, None, config if config is not None else {}, SimpleNamespace(**built)
    )


def check_resource_dependencies(resources: Mapping[str, Any]) -> None:
    """Refuse a resource whose ``required_resource_keys`` name one ``resources`` lacks."""
    for key, value in resources.items():
        if not isinstance(value, ResourceDefinition):
            continue
        missing = sorted(value.required_resource_keys - set(resources))
        if missing:
            raise UnknownResourceError(
                f"resource '{key}' requires resource '{missing[0]}', which is not provided; "
                f"the resources given are {sorted(resources)}"
            )


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = fn.__doc__
    return inspect.cleandoc(doc) if doc else None
