"""``AssetExecutionContext``: what an asset function sees of the run it is part of."""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from codeloc._definition_view import DefinitionView
from codeloc._errors import TesseraError
from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue, normalize_metadata
from codeloc._runs import AssetMaterialization, logged_materialization
from codeloc._step_logs import StepLogs

__all__ = ["AssetExecutionContext", "RunInfo", "build_asset_context"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """``context.run``: the run a step is part of, as the reference's ``DagsterRun`` shows it."""

    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict)


class AssetExecutionContext:
    """Handed to an asset function that takes a ``context`` parameter.

    Attributes:
        run_id: the id of the run.
        log: a ``logging.Logger`` of the step, whose records are ``LOG`` events of the run.
        resources: the resources of the run, by key, as attributes.
        op_config: the raw config of this step (a dict).
        run: the run (``run_id``, ``tags``, ``run_config``).
    """

    def __init__(
        self,
        *,
        run_id: str,
        asset_keys: tuple[AssetKey, ...],
        resources: Mapping[str, Any],
        op_config: Any = None,
        logs: StepLogs | None = None,
        step_key: str | None = None,
        run_tags: Mapping[str, str] | None = None,
        attempt: int = 1,
        assets_def: DefinitionView | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.run_id = run_id
        self.step_key = step_key
        self._keys = asset_keys
        self.resources = SimpleNamespace(**resources)
        # A dict, or the value itself under a scalar classic schema (``config_schema=int``).
        self.op_config: Any = (
            dict(op_config or {})
            if op_config is None or isinstance(op_config, Mapping)
            else op_config
        )
        self._logs = logs or StepLogs(None, run_id, step_key)
        self.run_tags: dict[str, str] = dict(run_tags or {})
        self.retry_number = attempt - 1
        self._output_metadata: dict[AssetKey | str | None, dict[str, MetadataValue]] = {}
        self._assets_def = assets_def
        self.run = RunInfo(run_id, dict(self.run_tags), dict(run_config or {}))

    @property
    def _where(self) -> str:
        if self.step_key:
            return f"step '{self.step_key}'"
        if self._assets_def is not None:
            return f"'{self._assets_def.node_name}'"
        return "this context"

    @property
    def assets_def(self) -> DefinitionView:
        """The definition being executed. A context built by ``build_asset_context()`` gets
        it when it is passed to the asset function it is called with."""
        if self._assets_def is None:
            raise TesseraError(
                "this context is not bound to an asset: pass it to the asset it is built for "
                "(my_asset(context)) before reading context.assets_def"
            )
        return self._assets_def

    def _bound_to(self, definition: DefinitionView) -> AssetExecutionContext:
        """A copy of this context for a direct call of ``definition`` (the reference binds
        the context it is given in the same way); a context already bound is kept."""
        if self._assets_def is not None:
            return self
        bound = copy.copy(self)
        bound._assets_def = definition
        if not bound._keys:
            bound._keys = tuple(s.key for s in definition.specs)
        return bound

    @property
    def log(self) -> logging.Logger:
        """A ``logging.Logger`` of this step: its records (``DEBUG`` and up) are ``LOG``
        events of the run, and go on to the standard ``tessera.user`` logger."""
        return self._logs.logger()

    @property
    def asset_key(self) -> AssetKey:
        """The key of the asset being materialized (a multi-asset has ``selected_asset_keys``)."""
        if len(self._keys) != 1:
            keys = ", ".join(k.to_user_string() for k in self._keys) or "none"
            raise AttributeError(
                f"{self._where} materializes {len(self._keys)} assets ({keys}), "
                "not one; use context.selected_asset_keys"
            )
        return self._keys[0]

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        """The keys this step materializes: every asset of its definition, or, for a
        multi-asset with ``can_subset=True``, those selected (a set, as in the reference)."""
        return frozenset(self._keys)

    @property
    def selected_output_names(self) -> frozenset[str]:
        """The outputs this step must produce: all of them, or, for a multi-asset with
        ``can_subset=True``, those of ``selected_asset_keys``."""
        definition = self.assets_def
        selected = self.selected_asset_keys
        return frozenset(
            name
            for name, spec in zip(definition.output_names, definition.specs, strict=True)
            if spec.key in selected
        )

    def asset_key_for_input(self, input_name: str) -> AssetKey:
        """The key of the upstream asset that parameter ``input_name`` receives."""
        for inp in self.assets_def.inputs:
            if inp.param == input_name:
                return inp.key
        names = [i.param for i in self.assets_def.inputs]
        raise TesseraError(
            f"{self._where} has no input named '{input_name}'; its inputs are {names}"
        )

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        """The key of the asset that output ``output_name`` materializes."""
        definition = self.assets_def
        for name, spec in zip(definition.output_names, definition.specs, strict=True):
            if name == output_name:
                return spec.key
        raise TesseraError(
            f"{self._where} has no output named '{output_name}'; "
            f"its outputs are {list(definition.output_names)}"
        )

    def log_event(self, event: AssetMaterialization) -> None:
        """Record a materialization of ``event.asset_key`` now, as a run event.

        Only ``AssetMaterialization`` is accepted: the SDK has no observation events.
        """
        if not isinstance(event, AssetMaterialization):
            raise TesseraError(
                f"{self._where}: context.log_event takes an AssetMaterialization, "
                f"not {type(event).__name__}"
            )
        self._logs.send(logged_materialization(event, self.run_id, self.step_key))

    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        asset_key: AssetKey | str | None = None,
    ) -> None:
        """Attach metadata to the materialization this step records.

        An ``output_name`` the definition does not have is refused now, not dropped; with
        several outputs, ``output_name`` (or ``asset_key``) is required, as in the reference.
        """
        if self._assets_def is not None:
            outputs = self._assets_def.output_names
            if output_name is None and asset_key is None and len(outputs) > 1:
                raise TesseraError(
                    f"{self._where} has several outputs {list(outputs)}; "
                    "name one with add_output_metadata(..., output_name=)"
                )
            if output_name is not None and output_name not in outputs:
                raise TesseraError(
                    f"{self._where} has no output named '{output_name}'; "
                    f"its outputs are {list(outputs)}"
                )
        target: AssetKey | str | None = (
            AssetKey.from_coercible(asset_key) if asset_key is not None else output_name
        )
        self._output_metadata.setdefault(target, {}).update(normalize_metadata(metadata))

    def add_asset_metadata(
        self,
        metadata: Mapping[str, Any],
        asset_key: AssetKey | str | None = None,
        partition_key: str | None = None,
    ) -> None:
        """Attach metadata to the materialization of ``asset_key`` this step records.

        ``asset_key`` may be left out when the step materializes one asset; a key the step
        does not materialize is refused, as in the reference. ``partition_key`` is refused
        until partitions exist.
        """
        if partition_key is not None:
            raise TesseraError(
                f"{self._where}: add_asset_metadata(partition_key=...) needs partitions, "
                "which this SDK does not have yet"
            )
        keys = self._keys
        if asset_key is None:
            if len(keys) != 1:
                raise TesseraError(
                    f"{self._where} materializes {len(keys)} assets; name one with "
                    "add_asset_metadata(..., asset_key=)"
                )
            target = keys[0]
        else:
            target = AssetKey.from_coercible(asset_key)
            if keys and target not in keys:
                names = ", ".join(k.to_user_string() for k in keys)
                raise TesseraError(
                    f"{self._where} does not materialize asset '{target.to_user_string()}' "
                    f"(it materializes {names})"
                )
        self._output_metadata.setdefault(target, {}).update(normalize_metadata(metadata))

    def get_output_metadata(self, output_name: str = "result") -> dict[str, MetadataValue]:
        """The metadata ``add_output_metadata`` added so far for output ``output_name`` (as
        in the reference, not what ``add_asset_metadata`` added for its asset)."""
        out: dict[str, MetadataValue] = {}
        for target in (None, output_name):
            out.update(self._output_metadata.get(target, {}))
        return out

    @property
    def has_assets_def(self) -> bool:
        """Whether the context is bound to the definition it executes (see ``assets_def``)."""
        return self._assets_def is not None

    @property
    def is_subset(self) -> bool:
        """Whether the step materializes only some of its definition's assets (a
        ``can_subset=True`` multi-asset run for a selection)."""
        definition = self.assets_def
        return len(set(self._keys)) < len(definition.specs)

    @property
    def run_config(self) -> Mapping[str, Any]:
        """The run's config, as launched (``context.run.run_config`` too)."""
        return self.run.run_config

    @property
    def op_execution_context(self) -> AssetExecutionContext:
        """This context: an op of a graph asset runs inside the asset's one step, with it."""
        return self

    def get_op_execution_context(self) -> AssetExecutionContext:
        """This context (see ``op_execution_context``)."""
        return self

    @property
    def has_partition_key(self) -> bool:
        """``False``: the SDK has no partitions yet."""
        return False

    def output_metadata_for(self, key: AssetKey, output_name: str) -> dict[str, MetadataValue]:
        out: dict[str, MetadataValue] = {}
        for target in (None, output_name, key):
            out.update(self._output_metadata.get(target, {}))
        return out

    def has_tag(self, key: str) -> bool:
        return key in self.run_tags

    def get_tag(self, key: str) -> str | None:
        return self.run_tags.get(key)


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    asset_config: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    asset_key: AssetKey | str | None = None,
    run_tags: Mapping[str, str] | None = None,
) -> AssetExecutionContext:
    """A context for calling an asset function directly in a unit test."""
    keys = (AssetKey.from_coercible(asset_key),) if asset_key is not None else ()
    return AssetExecutionContext(
        run_id=run_id or str(uuid.uuid4()),
        asset_keys=keys,
        resources=resources or {},
        op_config=asset_config,
        run_tags=run_tags,
    )
