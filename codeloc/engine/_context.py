"""``AssetExecutionContext``: what an asset function sees of the run it is part of."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue, normalize_metadata
from codeloc._runs import Event, EventType

__all__ = ["AssetExecutionContext", "StepLogger", "build_asset_context"]

_USER_LOGGER = logging.getLogger("tessera.user")


class StepLogger:
    """A logger with the standard methods whose records also become ``LOG`` events.

    Records still go to the standard ``tessera.user`` logger, so the usual logging
    configuration sees them too.
    """

    def __init__(self, emit: Callable[[Event], None] | None, run_id: str, step_key: str | None):
        self._emit = emit
        self._run_id = run_id
        self._step_key = step_key

    def log(
        self,
        level: int,
        msg: object,
        *args: object,
        exc_info: Any = None,
        extra: Mapping[str, object] | None = None,
        **_ignored: Any,
    ) -> None:
        """Log as ``logging.Logger.log`` does; ``stack_info``/``stacklevel`` are accepted."""
        message = str(msg) % args if args else str(msg)
        if exc_info:
            import traceback

            if isinstance(exc_info, BaseException):
                info: Any = (type(exc_info), exc_info, exc_info.__traceback__)
            else:
                info = sys.exc_info() if exc_info is True else exc_info
            if info and info[0] is not None:
                message += "\n" + "".join(traceback.format_exception(*info)).rstrip()
        if _USER_LOGGER.isEnabledFor(level):
            _USER_LOGGER.log(level, "[%s] %s", self._step_key or "-", message, extra=extra)
        if self._emit is not None:
            self._emit(
                Event(
                    EventType.LOG,
                    self._run_id,
                    level=logging.getLevelName(level),
                    step_key=self._step_key,
                    message=message,
                )
            )

    # The level methods take the keyword arguments of ``logging.Logger`` (``exc_info``,
    # ``extra``, ``stack_info``, ``stacklevel``), so code written for a standard logger works.

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    warn = warning

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)


class AssetExecutionContext:
    """Handed to an asset function that takes a ``context`` parameter.

    Attributes:
        run_id: the id of the run.
        log: a logger whose records are captured as ``LOG`` events of the run.
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
        log: StepLogger | None = None,
        step_key: str | None = None,
        run_tags: Mapping[str, str] | None = None,
        attempt: int = 1,
    ) -> None:
        self.run_id = run_id
        self.step_key = step_key
        self.selected_asset_keys = asset_keys
        self.resources = SimpleNamespace(**resources)
        self.op_config: dict[str, Any] = dict(op_config or {})
        self.log = log or StepLogger(None, run_id, step_key)
        self.run_tags: dict[str, str] = dict(run_tags or {})
        self.retry_number = attempt - 1
        self._output_metadata: dict[AssetKey | str | None, dict[str, MetadataValue]] = {}

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
