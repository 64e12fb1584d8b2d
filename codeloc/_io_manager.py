"""IO managers as the user defines them: the ``IOManager`` interface, the contexts its two
methods are handed, and ``@io_manager``.

An IO manager is a resource: under a key of ``Definitions(resources=...)`` (``"io_manager"``
for every asset that names none), set up and torn down with the other resources of a run.
It is either an ``IOManager`` object (a ``ConfigurableIOManager`` is one), or an
``IOManagerDefinition`` whose function builds one when the run sets it up, or an
``IOManagerFactory`` (``ConfigurableIOManagerFactory``) whose ``create_io_manager`` does.

Nothing here executes: the engine builds the contexts (``codeloc.engine._io_contexts``).
A context carries a partition key slot, ``None`` until partitions exist, so that
``has_partition_key`` / ``partition_key`` answer as they will for a partitioned asset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar, Protocol, TypeVar, overload

from codeloc._errors import DefinitionError, TesseraError, UnknownResourceError
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._resource_def import InitResourceContext, ResourceDefinition
from codeloc._step_logs import StepLogs

__all__ = [
    "IOManager",
    "IOManagerDefinition",
    "IOManagerFactory",
    "InputContext",
    "OutputContext",
    "build_input_context",
    "build_output_context",
    "check_default_io_manager",
    "check_io_manager_keys",
    "io_manager",
    "is_io_manager_resource",
]

DEFAULT_IO_MANAGER_KEY = "io_manager"

_T = TypeVar("_T")

EPHEMERAL_RUN_ID = "__EPHEMERAL_RUN_ID"
"""The run id of a context built outside a run, as the reference names it."""


class OutputContext:
    """What ``IOManager.handle_output`` is told about the value it stores.

    Built by the engine for each asset a step materializes, or by ``build_output_context()``
    in a test. Reading something that was not given (``asset_key`` of a context built
    without one, ``partition_key`` of an unpartitioned asset) raises ``TesseraError``.
    """

    __slots__ = (
        "_asset_key",
        "_config",
        "_definition_metadata",
        "_logs",
        "_name",
        "_partition_key",
        "_resource_config",
        "_resources",
        "_run_id",
        "_step_key",
        "added_metadata",
    )

    def __init__(
        self,
        asset_key: AssetKey | None = None,
        run_id: str | None = None,
        step_key: str | None = None,
        *,
        name: str | None = None,
        definition_metadata: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        resource_config: Any = None,
        config: Any = None,
        partition_key: str | None = None,
        logs: StepLogs | None = None,
    ) -> None:
        self._asset_key = asset_key
        self._run_id = run_id
        self._step_key = step_key
        self._name = name
        self._definition_metadata = definition_metadata or {}
        self._resources = resources or {}
        self._resource_config = resource_config
        self._config = config
        self._partition_key = partition_key
        self._logs = logs
        #: what ``add_output_metadata`` added: it goes on the asset's materialization
        self.added_metadata: dict[str, Any] = {}

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        """The key of the asset whose value is stored."""
        return _given(self, "asset_key", self._asset_key)

    @property
    def name(self) -> str:
        """The name of the output (``"result"`` for a single asset)."""
        return _given(self, "name", self._name)

    @property
    def run_id(self) -> str:
        return self._run_id if self._run_id is not None else EPHEMERAL_RUN_ID

    @property
    def step_key(self) -> str:
        return _given(self, "step_key", self._step_key)

    @property
    def definition_metadata(self) -> Mapping[str, Any]:
        """The metadata the asset was defined with."""
        return self._definition_metadata

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The same as ``definition_metadata`` (the reference's older name)."""
        return self._definition_metadata

    @property
    def resources(self) -> Any:
        """The resources of the run, as attributes."""
        return SimpleNamespace(**self._resources)

    @property
    def resource_config(self) -> Any:
        """The config of the IO manager (a ``ConfigurableIOManager``'s fields as a dict)."""
        return self._resource_config if self._resource_config is not None else {}

    @property
    def config(self) -> Any:
        """The config of the output: none exists in Tessera, so ``None``."""
        return self._config

    @property
    def log(self) -> logging.Logger:
        """The step's logger: records are ``LOG`` events of the run (see ``context.log``)."""
        logs = self._logs or StepLogs(None, self.run_id, self._step_key)
        return logs.logger()

    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        return _partition_key(self, self._partition_key)

    def get_asset_identifier(self) -> list[str]:
        """The asset key's segments, then the partition key if there is one: a storage path."""
        return _asset_identifier(self.asset_key, self._partition_key)

    def get_identifier(self) -> list[str]:
        """``[run_id, step_key, name]``: an identifier of this output in this run."""
        return [self.run_id, self.step_key, self.name]

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Add metadata to the materialization of the asset being stored."""
        self.added_metadata.update(metadata)

    def __repr__(self) -> str:
        key = self._asset_key.to_user_string() if self._asset_key is not None else None
        return f"<OutputContext asset={key!r} name={self._name!r}>"


class InputContext:
    """What ``IOManager.load_input`` is told about the value it loads.

    ``upstream_output`` is the ``OutputContext`` the upstream asset was (or would have been)
    stored with, so that a manager finds the value where ``handle_output`` put it.
    """

    __slots__ = (
        "_asset_key",
        "_config",
        "_definition_metadata",
        "_logs",
        "_name",
        "_partition_key",
        "_resource_config",
        "_resources",
        "_run_id",
        "_step_key",
        "_upstream_output",
    )

    def __init__(
        self,
        asset_key: AssetKey | None = None,
        run_id: str | None = None,
        step_key: str | None = None,
        *,
        name: str | None = None,
        definition_metadata: Mapping[str, Any] | None = None,
        upstream_output: OutputContext | None = None,
        resources: Mapping[str, Any] | None = None,
        resource_config: Any = None,
        config: Any = None,
        partition_key: str | None = None,
        logs: StepLogs | None = None,
    ) -> None:
        self._asset_key = asset_key
        self._run_id = run_id
        self._step_key = step_key
        self._name = name
        self._definition_metadata = definition_metadata or {}
        self._upstream_output = upstream_output
        self._resources = resources or {}
        self._resource_config = resource_config
        self._config = config
        self._partition_key = partition_key
        self._logs = logs

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        """The key of the upstream asset whose value is loaded."""
        return _given(self, "asset_key", self._asset_key)

    @property
    def name(self) -> str:
        """The name of the input: the parameter that receives the value."""
        return _given(self, "name", self._name)

    @property
    def run_id(self) -> str:
        """The run loading the value (not in the reference, whose ``InputContext`` lacks it)."""
        return self._run_id if self._run_id is not None else EPHEMERAL_RUN_ID

    @property
    def step_key(self) -> str:
        """The step loading the value (not in the reference's ``InputContext``)."""
        return _given(self, "step_key", self._step_key)

    @property
    def definition_metadata(self) -> Mapping[str, Any]:
        """The metadata of the input: ``AssetIn(metadata=...)``."""
        return self._definition_metadata

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The same as ``definition_metadata`` (the reference's older name)."""
        return self._definition_metadata

    @property
    def upstream_output(self) -> OutputContext | None:
        """The context the upstream value was stored with; ``None`` if none was given."""
        return self._upstream_output

    @property
    def resources(self) -> Any:
        return SimpleNamespace(**self._resources)

    @property
    def resource_config(self) -> Any:
        return self._resource_config if self._resource_config is not None else {}

    @property
    def config(self) -> Any:
        return self._config

    @property
    def log(self) -> logging.Logger:
        logs = self._logs or StepLogs(None, self.run_id, self._step_key)
        return logs.logger()

    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        return _partition_key(self, self._partition_key)

    def get_asset_identifier(self) -> list[str]:
        return _asset_identifier(self.asset_key, self._partition_key)

    def get_identifier(self) -> list[str]:
        """The identifier of the upstream output (see ``OutputContext.get_identifier``)."""
        if self._upstream_output is None:
            raise TesseraError("this InputContext has no upstream_output to identify")
        return self._upstream_output.get_identifier()

    def __repr__(self) -> str:
        key = self._asset_key.to_user_string() if self._asset_key is not None else None
        return f"<InputContext asset={key!r} name={self._name!r}>"


def _given(context: OutputContext | InputContext, attribute: str, value: _T | None) -> _T:
    if value is None:
        raise TesseraError(
            f"{type(context).__name__}.{attribute} was not given when the context was built"
        )
    return value


def _partition_key(context: OutputContext | InputContext, key: str | None) -> str:
    if key is None:
        what = (
            f"asset '{context._asset_key.to_user_string()}'"
            if context._asset_key is not None
            else "this value"
        )
        raise TesseraError(
            f"{type(context).__name__}.partition_key: {what} is not partitioned; "
            "check has_partition_key first"
        )
    return key


def _asset_identifier(key: AssetKey, partition_key: str | None) -> list[str]:
    path = list(key.path)
    if partition_key is not None:
        path.append(partition_key)
    return path


def build_output_context(
    step_key: str | None = None,
    name: str | None = None,
    definition_metadata: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    config: Any = None,
    resource_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    asset_key: CoercibleToAssetKey | None = None,
    partition_key: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> OutputContext:
    """An ``OutputContext`` for calling ``handle_output`` directly in a test.

    ``metadata`` is the older name of ``definition_metadata``.
    """
    return OutputContext(
        AssetKey.from_coercible(asset_key) if asset_key is not None else None,
        run_id,
        step_key,
        name=name,
        definition_metadata=definition_metadata if definition_metadata is not None else metadata,
        resources=resources,
        resource_config=resource_config,
        config=config,
        partition_key=partition_key,
    )


def build_input_context(
    name: str | None = None,
    config: Any = None,
    definition_metadata: Mapping[str, Any] | None = None,
    upstream_output: OutputContext | None = None,
    resource_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    asset_key: CoercibleToAssetKey | None = None,
    partition_key: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> InputContext:
    """An ``InputContext`` for calling ``load_input`` directly in a test.

    ``metadata`` is the older name of ``definition_metadata``.
    """
    return InputContext(
        AssetKey.from_coercible(asset_key) if asset_key is not None else None,
        name=name,
        definition_metadata=definition_metadata if definition_metadata is not None else metadata,
        upstream_output=upstream_output,
        resources=resources,
        resource_config=resource_config,
        config=config,
        partition_key=partition_key,
    )


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
    config_schema: Mapping[str, type] | type | None = None,
    description: str | None = None,
    required_resource_keys: Iterable[str] | None = None,
    version: str | None = None,
) -> Callable[[IOManagerFunction], IOManagerDefinition]: ...


def io_manager(
    fn: IOManagerFunction | None = None,
    /,
    *,
    config_schema: Mapping[str, type] | type | None = None,
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


# What ``check_io_manager_keys`` reads of an ``AssetsDefinition``, described rather than
# imported: ``_assets`` is above this module.
class _Keyed(Protocol):
    @property
    def key(self) -> AssetKey: ...


class _Input(Protocol):
    @property
    def param(self) -> str: ...

    @property
    def input_manager_key(self) -> str | None: ...


class _Definition(Protocol):
    @property
    def node_name(self) -> str: ...

    @property
    def output_names(self) -> Sequence[str]: ...

    @property
    def specs(self) -> Sequence[_Keyed]: ...

    @property
    def inputs(self) -> Sequence[_Input]: ...

    def io_manager_key_for(self, key: AssetKey) -> str: ...


def check_io_manager_keys(definition: _Definition, resources: Mapping[str, Any]) -> None:
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
