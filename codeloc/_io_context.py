"""The contexts an IO manager's two methods are handed: ``OutputContext`` for
``handle_output``, ``InputContext`` for ``load_input``, and their builders for tests.

The engine builds them for each value a step stores or loads (``codeloc.engine._io_contexts``).
A context carries a partition key slot, ``None`` until partitions exist, so that
``has_partition_key`` / ``partition_key`` answer as they will for a partitioned asset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from codeloc._errors import TesseraError
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._metadata import MetadataValue, normalize_metadata
from codeloc._runs import AssetMaterialization, logged_materialization
from codeloc._spec import AssetSpec
from codeloc._step_logs import StepLogs

__all__ = [
    "EPHEMERAL_RUN_ID",
    "InputContext",
    "OutputContext",
    "build_input_context",
    "build_output_context",
]

_T = TypeVar("_T")

EPHEMERAL_RUN_ID = "__EPHEMERAL_RUN_ID"
"""The run id of a context built outside a run, as the reference names it."""


class _IOContext:
    """What both contexts carry: the asset, the step and run, the resources, the IO manager's
    config and the partition key. Private: users meet ``OutputContext`` and ``InputContext``."""

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
    )

    def __init__(
        self,
        asset_key: AssetKey | None,
        run_id: str | None,
        step_key: str | None,
        *,
        name: str | None,
        definition_metadata: Mapping[str, Any] | None,
        resources: Mapping[str, Any] | None,
        resource_config: Any,
        config: Any,
        partition_key: str | None,
        logs: StepLogs | None,
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

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def run_id(self) -> str:
        """The run storing or loading the value (the reference's ``InputContext`` lacks it)."""
        return self._run_id if self._run_id is not None else EPHEMERAL_RUN_ID

    @property
    def step_key(self) -> str:
        """The step storing or loading the value (not in the reference's ``InputContext``)."""
        return _given(self, "step_key", self._step_key)

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
        """The config of the output or input: none exists in Tessera, so ``None``."""
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
        return _asset_identifier(_given(self, "asset_key", self._asset_key), self._partition_key)

    def __repr__(self) -> str:
        key = self._asset_key.to_user_string() if self._asset_key is not None else None
        return f"<{type(self).__name__} asset={key!r} name={self._name!r}>"


class OutputContext(_IOContext):
    """What ``IOManager.handle_output`` is told about the value it stores.

    Built by the engine for each asset a step materializes, or by ``build_output_context()``
    in a test. Reading something that was not given (``asset_key`` of a context built
    without one, ``partition_key`` of an unpartitioned asset) raises ``TesseraError``.
    """

    __slots__ = ("_asset_spec", "_logged_events", "_logged_metadata", "_mapping_key", "_version")

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
        asset_spec: AssetSpec | None = None,
        mapping_key: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(
            asset_key,
            run_id,
            step_key,
            name=name,
            definition_metadata=definition_metadata,
            resources=resources,
            resource_config=resource_config,
            config=config,
            partition_key=partition_key,
            logs=logs,
        )
        self._logged_metadata: dict[str, MetadataValue] = {}
        self._logged_events: list[AssetMaterialization] = []
        self._asset_spec = asset_spec
        self._mapping_key = mapping_key
        self._version = version

    @property
    def asset_key(self) -> AssetKey:
        """The key of the asset whose value is stored."""
        return _given(self, "asset_key", self._asset_key)

    @property
    def asset_spec(self) -> AssetSpec:
        """The ``AssetSpec`` of the asset whose value is stored: its key, group, code version,
        metadata, tags, kinds, owners and description, as defined (the group ``"default"``
        where none was given, as the reference reads it)."""
        spec = _given(self, "asset_spec", self._asset_spec)
        return spec if spec.group_name is not None else spec.replace(group_name=spec.group)

    @property
    def mapping_key(self) -> str | None:
        """The key of a mapped (dynamic) output: ``None``, as Tessera has no mapped outputs
        (a context built with ``mapping_key=`` has it)."""
        return self._mapping_key

    @property
    def version(self) -> str | None:
        """The version of the output for memoization: ``None``, as Tessera has none (the
        asset's ``code_version`` is on ``asset_spec``); a built context has what it was given."""
        return self._version

    @property
    def name(self) -> str:
        """The name of the output (``"result"`` for a single asset)."""
        return _given(self, "name", self._name)

    @property
    def definition_metadata(self) -> Mapping[str, Any]:
        """The metadata the asset was defined with."""
        return self._definition_metadata

    def get_identifier(self) -> list[str]:
        """``[run_id, step_key, name]``: an identifier of this output in this run (then the
        ``mapping_key``, when there is one)."""
        identifier = [self.run_id, self.step_key, self.name]
        return identifier if self._mapping_key is None else [*identifier, self._mapping_key]

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Add metadata to the materialization of the asset being stored."""
        self._logged_metadata.update(normalize_metadata(metadata))

    def get_logged_metadata(self) -> dict[str, MetadataValue]:
        """What ``add_output_metadata`` added, as typed values."""
        return dict(self._logged_metadata)

    def log_event(self, event: AssetMaterialization) -> None:
        """Record a materialization of ``event.asset_key`` now, as a run event of the step
        (before the materialization of the asset being stored), as ``context.log_event``.

        Only ``AssetMaterialization`` is accepted: the SDK has no observation events.
        """
        if not isinstance(event, AssetMaterialization):
            raise TesseraError(
                f"OutputContext.log_event takes an AssetMaterialization, not {type(event).__name__}"
            )
        self._logged_events.append(event)
        if self._logs is not None:
            self._logs.send(logged_materialization(event, self.run_id, self._step_key))

    def get_logged_events(self) -> list[AssetMaterialization]:
        """What ``log_event`` recorded, in order."""
        return list(self._logged_events)


class InputContext(_IOContext):
    """What ``IOManager.load_input`` is told about the value it loads.

    ``upstream_output`` is the ``OutputContext`` the upstream asset was (or would have been)
    stored with, so that a manager finds the value where ``handle_output`` put it.
    """

    __slots__ = ("_input_metadata", "_upstream_factory", "_upstream_output")

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
        super().__init__(
            asset_key,
            run_id,
            step_key,
            name=name,
            definition_metadata=definition_metadata,
            resources=resources,
            resource_config=resource_config,
            config=config,
            partition_key=partition_key,
            logs=logs,
        )
        self._upstream_output = upstream_output
        self._upstream_factory: Callable[[], OutputContext] | None = None
        self._input_metadata: dict[str, MetadataValue] = {}

    @classmethod
    def _with_upstream_from(
        cls, factory: Callable[[], OutputContext], /, *args: Any, **kwargs: Any
    ) -> InputContext:
        """A context whose ``upstream_output`` ``factory`` builds when first read: most IO
        managers never read it, and a run loads one input per edge of its graph."""
        context = cls(*args, **kwargs)
        context._upstream_factory = factory
        return context

    @property
    def asset_key(self) -> AssetKey:
        """The key of the upstream asset whose value is loaded."""
        return _given(self, "asset_key", self._asset_key)

    @property
    def name(self) -> str:
        """The name of the input: the parameter that receives the value."""
        return _given(self, "name", self._name)

    @property
    def definition_metadata(self) -> Mapping[str, Any]:
        """The metadata of the input: ``AssetIn(metadata=...)``."""
        return self._definition_metadata

    @property
    def upstream_output(self) -> OutputContext | None:
        """The context the upstream value was stored with; ``None`` if none was given."""
        if self._upstream_output is None and self._upstream_factory is not None:
            self._upstream_output = self._upstream_factory()
        return self._upstream_output

    def add_input_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Add metadata about the value loaded: after ``load_input`` returns, it goes on a
        ``DEBUG`` ``ENGINE_EVENT`` of the step, with the input's asset key (the reference's
        goes on its ``LOADED_INPUT`` event, which Tessera has not)."""
        self._input_metadata.update(normalize_metadata(metadata))

    def consume_logged_metadata(self) -> dict[str, MetadataValue]:
        """What ``add_input_metadata`` added, as typed values; the context then holds none."""
        metadata, self._input_metadata = self._input_metadata, {}
        return metadata

    def get_identifier(self) -> list[str]:
        """The identifier of the upstream output (see ``OutputContext.get_identifier``)."""
        upstream = self.upstream_output
        if upstream is None:
            raise TesseraError("this InputContext has no upstream_output to identify")
        return upstream.get_identifier()


def _given(context: _IOContext, attribute: str, value: _T | None) -> _T:
    if value is None:
        raise TesseraError(
            f"{type(context).__name__}.{attribute} was not given when the context was built"
        )
    return value


def _partition_key(context: _IOContext, key: str | None) -> str:
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
    mapping_key: str | None = None,
    config: Any = None,
    version: str | None = None,
    resource_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    asset_key: CoercibleToAssetKey | None = None,
    partition_key: str | None = None,
    asset_spec: AssetSpec | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> OutputContext:
    """An ``OutputContext`` for calling ``handle_output`` directly in a test.

    ``metadata`` is the older name of ``definition_metadata``. ``asset_spec`` does not give
    ``asset_key`` (as in the reference): give both for a context with both.
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
        asset_spec=asset_spec,
        mapping_key=mapping_key,
        version=version,
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
