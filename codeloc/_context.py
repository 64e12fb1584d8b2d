"""``AssetExecutionContext``: what an asset function sees of the run it is part of."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue, normalize_metadata
from codeloc._step_logs import StepLogs

__all__ = ["AssetExecutionContext", "build_asset_context"]


class AssetExecutionContext:
    """Handed to an asset function that takes a ``context`` parameter.

    Attributes:
        run_id: the id of the run.
        log: a ``logging.Logger`` of the step, whose records are ``LOG`` events of the run.
        resources: the resources of the run, by key, as attributes.
        op_config: the raw config of this step (a dict).
    """

    def __init__(
        self,
        *,
        run_id: str,
        asset_keys: tuple[AssetKey, ...],
        resources: Mapping[str, Any],
        op_config: Mapping[str, Any] | None = None,
        logs: StepLogs | None = None,
        step_key: str | None = None,
        run_tags: Mapping[str, str] | None = None,
        attempt: int = 1,
    ) -> None:
        self.run_id = run_id
        self.step_key = step_key
        self.selected_asset_keys = asset_keys
        self.resources = SimpleNamespace(**resources)
        self.op_config: dict[str, Any] = dict(op_config or {})
        self._logs = logs or StepLogs(None, run_id, step_key)
        self.run_tags: dict[str, str] = dict(run_tags or {})
        self.retry_number = attempt - 1
        self._output_metadata: dict[AssetKey | str | None, dict[str, MetadataValue]] = {}

    @property
    def log(self) -> logging.Logger:
        """A ``logging.Logger`` of this step: its records (``DEBUG`` and up) are ``LOG``
        events of the run, and go on to the standard ``tessera.user`` logger."""
        return self._logs.logger()

    @property
    def asset_key(self) -> AssetKey:
        """The key of the asset being materialized (a multi-asset has ``selected_asset_keys``)."""
        if len(self.selected_asset_keys) != 1:
            raise AttributeError(
                "this step materializes several assets; use context.selected_asset_keys"
            )
        return self.selected_asset_keys[0]

    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        asset_key: AssetKey | str | None = None,
    ) -> None:
        """Attach metadata to the materialization this step records."""
        target: AssetKey | str | None = (
            AssetKey.from_coercible(asset_key) if asset_key is not None else output_name
        )
        self._output_metadata.setdefault(target, {}).update(normalize_metadata(metadata))

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
