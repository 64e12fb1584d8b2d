"""A run as both sides of the wire see it: its status, its events, the executors it may ask for.

These are plain values with no machinery behind them, so the central server uses them
without loading the engine (``server`` may import only such pure parts of ``codeloc``, a
contract checked in CI). Everything a run reports is an ``Event``, in this one shape
wherever it is sent: ``codeloc._wire`` turns it into the JSON a run worker posts, and the
server's storage turns it into rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args

from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue, normalize_metadata

__all__ = [
    "EXECUTOR_NAMES",
    "AssetMaterialization",
    "Event",
    "EventType",
    "ExecutorName",
    "RunStatus",
    "logged_materialization",
]

ExecutorName = Literal["multiprocess", "in_process", "celery"]
"""How a run's steps are executed: in the run's process, in child processes, or as Celery tasks."""

EXECUTOR_NAMES: tuple[ExecutorName, ...] = get_args(ExecutorName)


class EventType(StrEnum):
    RUN_QUEUED = "RUN_QUEUED"
    RUN_STARTING = "RUN_STARTING"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELED = "RUN_CANCELED"
    STEP_START = "STEP_START"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_UP_FOR_RETRY = "STEP_UP_FOR_RETRY"
    STEP_SKIPPED = "STEP_SKIPPED"
    """Not started: an upstream asset it reads was not materialized (an optional output)."""
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    LOG = "LOG"
    ENGINE_EVENT = "ENGINE_EVENT"


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)


@dataclass(frozen=True, slots=True)
class AssetMaterialization:
    """One materialization of one asset: what was stored, by which code, from which inputs."""

    asset_key: AssetKey
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    code_version: str | None = None
    data_version: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a run. ``seq`` numbers the events of a run from 1, without gaps."""

    type: EventType
    run_id: str
    seq: int = 0
    timestamp: float = field(default_factory=time.time)
    level: str = "INFO"
    step_key: str | None = None
    asset_key: AssetKey | None = None
    message: str = ""
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    materialization: AssetMaterialization | None = None
    error: str | None = None

    @property
    def tags(self) -> dict[str, str]:
        """The tags of the materialization this event reports (empty for other events)."""
        return self.materialization.tags if self.materialization is not None else {}

    @property
    def event_type_value(self) -> str:
        return self.type.value

    @property
    def is_step_failure(self) -> bool:
        return self.type is EventType.STEP_FAILURE

    def with_seq(self, seq: int) -> Event:
        return Event(
            self.type,
            self.run_id,
            seq,
            self.timestamp,
            self.level,
            self.step_key,
            self.asset_key,
            self.message,
            self.metadata,
            self.materialization,
            self.error,
        )

    def describe(self) -> dict[str, Any]:
        """A plain dict of this event, for printing and JSON."""
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "type": self.type.value,
            "level": self.level,
            "step_key": self.step_key,
            "asset_key": self.asset_key.to_user_string() if self.asset_key else None,
            "message": self.message,
            "metadata": {k: v.value for k, v in self.metadata.items()},
        }


def logged_materialization(
    logged: AssetMaterialization, run_id: str, step_key: str | None
) -> Event:
    """The run event of a materialization that user code logs itself (``log_event`` of a
    step's context or of an IO manager's ``OutputContext``), its key and metadata normalized:
    ``AssetMaterialization(asset_key="a/b", metadata={"n": 1})`` as given by a user."""
    key = AssetKey.from_coercible(logged.asset_key)
    metadata = normalize_metadata(logged.metadata)
    return Event(
        EventType.ASSET_MATERIALIZATION,
        run_id,
        step_key=step_key,
        asset_key=key,
        message=f"materialized '{key.to_user_string()}'",
        metadata=metadata,
        materialization=AssetMaterialization(
            key, metadata, dict(logged.tags), logged.code_version, logged.data_version
        ),
    )
