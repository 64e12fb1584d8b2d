"""IO managers as the user defines them: the ``IOManager`` interface, ``@io_manager``, and
the checks that the IO manager keys of assets name IO managers.

An IO manager is a resource: under a key of ``Definitions(resources=...)`` (``"io_manager"``
for every asset that names none), set up and torn down with the other resources of a run.
It is either an ``IOManager`` object (a ``ConfigurableIOManager`` is one), or an
``IOManagerDefinition`` whose function builds one when the run sets it up, or an
``IOManagerFactory`` (``ConfigurableIOManagerFactory``) whose ``create_io_manager`` does.

The contexts its methods are handed are in ``codeloc._io_context``. Nothing here executes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, overload

from codeloc._definition_view import DefinitionView
from codeloc._errors import DefinitionError, UnknownResourceError
from codeloc._io_context import InputContext, OutputContext
from codeloc._resource_def import InitResourceContext, ResourceDefinition

__all__ = [
    "DEFAULT_IO_MANAGER_KEY",
    "IOManager",
    "IOManagerDefinition",
    "IOManagerFactory",
    "check_default_io_manager",
    "check_io_manager_keys",
    "io_manager",
    "is_io_manager_resource",
]

DEFAULT_IO_MANAGER_KEY = "io_manager"


class IOManager:
    """Stores the value of each asset (``handle_output``) and loads it for the downstream
    assets that take it (``load_input``). Subclass and implement both methods."""

    #: whether values survive the process: the multiprocess and Celery executors refuse a
    #: manager that keeps them in memory, as its steps each run in a process of their own
    persistent: ClassVar[bool] = True

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement handle_output")

    def load_input(self, context: InputContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement load_input")


class IOManagerFactory:
    """A resource that builds the ``IOManager`` a run uses when the run sets it up (the base
    of ``ConfigurableIOManagerFactory``)."""

    def create_io_manager(self, context: InitResourceContext) -> IOManager:
        raise NotImplementedError(f"{type(self).__name__} does not implement create_io_manager")


IOManagerFunction = Callable[..., IOManager]


class IOManagerDefinition(ResourceDefinition):
    """A resource whose function (of an ``InitResourceContext``) returns the ``IOManager``.

    Made by ``@io_manager``; config and required resources as for ``ResourceDefinition``.
    """

    @staticmethod
    def hardcoded_io_manager(
        value: IOManager, description: str | None = None
    ) -> IOManagerDefinition:
        """An IO manager definition that is ``value`` in every run."""
        return IOManagerDefinition(lambda _context: value, description=description)


@overload
def io_manager(fn: IOManagerFunction, /) -> IOManagerDefinition: ...


@overload
def io_manager(
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    version: str | None = None,
) -> Callable[[IOManagerFunction], IOManagerDefinition]: ...


def io_manager(
    fn: IOManagerFunction | None = None,
    /,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    version: str | None = None,
) -> IOManagerDefinition | Callable[[IOManagerFunction], IOManagerDefinition]:
    """Define an IO manager by the function that builds it from an ``InitResourceContext``.

    The function returns an ``IOManager`` (or yields one, cleaning up after the ``yield``);
    ``context.resource_config`` is its config, checked against ``config_schema``, and
    ``context.resources`` the resources named by ``required_resource_keys``. ``version``
    is accepted for the reference's signature and not used.
    """

    def build(func: IOManagerFunction) -> IOManagerDefinition:
        if not callable(func):
            raise DefinitionError(f"@io_manager decorates a function, not {func!r}")
        return IOManagerDefinition(
            func, config_schema, description, required_resource_keys=required_resource_keys
        )

    if fn is not None:
        return build(fn)
    return build


def is_io_manager_resource(value: Any) -> bool:
    """Whether ``value`` can serve under an IO manager key of a run."""
    return isinstance(value, IOManager | IOManagerDefinition | IOManagerFactory)


def check_io_manager_keys(definition: DefinitionView, resources: Mapping[str, Any]) -> None:
    """Refuse an IO manager key of ``definition`` that ``resources`` lack or hold something
    else under: an ``io_manager_key`` (``UnknownResourceError``, or ``DefinitionError`` for
    a resource that is not an IO manager), or an ``AssetIn(input_manager_key=)``.

    ``"io_manager"`` need not be given: runs have a default one.
    """
    uses = [
        (f"stores output '{name}' with IO manager", definition.io_manager_key_for(spec.key))
        for name, spec in zip(definition.output_names, definition.specs, strict=True)
    ]
    uses += [
        (f"loads input '{i.param}' with input manager", i.input_manager_key)
        for i in definition.inputs
        if i.input_manager_key
    ]
    for what, key in uses:
        if key == DEFAULT_IO_MANAGER_KEY:
            continue  # runs have a default one; a given one is checked once for all
        value = resources.get(key)
        if value is None:
            available = sorted(
                {k for k, v in resources.items() if is_io_manager_resource(v)}
                | {DEFAULT_IO_MANAGER_KEY}
            )
            raise UnknownResourceError(
                f"asset '{definition.node_name}' {what} '{key}', which is not provided; "
                f"the IO managers given are {available}"
            )
        if not is_io_manager_resource(value):
            raise DefinitionError(
                f"asset '{definition.node_name}' {what} '{key}', but resource '{key}' is "
                f"{type(value).__name__}, not an IO manager (an IOManager, an @io_manager, a "
                "ConfigurableIOManager or a ConfigurableIOManagerFactory)"
            )


def check_default_io_manager(resources: Mapping[str, Any]) -> None:
    """Refuse a resource ``"io_manager"`` that is not an IO manager (``DefinitionError``)."""
    value = resources.get(DEFAULT_IO_MANAGER_KEY)
    if value is not None and not is_io_manager_resource(value):
        raise DefinitionError(
            f"resource '{DEFAULT_IO_MANAGER_KEY}' is {type(value).__name__}, not an IO manager: "
            "it stores every asset that names no io_manager_key (give an IOManager, an "
            "@io_manager, a ConfigurableIOManager or a ConfigurableIOManagerFactory)"
        )
