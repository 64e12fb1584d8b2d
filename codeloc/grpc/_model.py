"""The values a code location and its clients exchange, as the project's own dataclasses.

``codeloc.grpc.convert`` turns them into protobuf messages and back; nothing else sees the
messages.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codeloc._key import AssetKey
from codeloc._runs import ExecutorName, RunStatus

__all__ = [
    "DEFAULT_CANCEL_GRACE",
    "CodeSource",
    "EventDestination",
    "LoadError",
    "LoadState",
    "LocationInfo",
    "RunLaunch",
    "RunState",
]

LoadState = Literal["loading", "loaded", "failed"]

DEFAULT_CANCEL_GRACE = 10.0
"""Seconds a canceled run has to stop before its worker is killed."""


@dataclass(frozen=True, slots=True)
class CodeSource:
    """Where a location's code comes from: exactly one of a module, a file or a package."""

    module: str | None = None
    file: str | None = None
    package: str | None = None
    working_directory: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.module, self.file, self.package)) != 1:
            raise ValueError("give exactly one of module, file or package")

    @property
    def default_name(self) -> str:
        """The module or package name, or the file's stem."""
        if self.file is not None:
            return Path(self.file).stem
        return str(self.module or self.package)

    def args(self) -> list[str]:
        """As command-line flags of ``tessera codeloc`` and the fork server."""
        out: list[str] = []
        for flag, value in (
            ("--module", self.module),
            ("--file", self.file),
            ("--package", self.package),
            ("--working-directory", self.working_directory),
        ):
            if value is not None:
                out += [flag, value]
        return out


@dataclass(frozen=True, slots=True)
class LoadError:
    """Why the user code of a location could not be loaded."""

    type: str
    message: str
    traceback: str = ""

    @staticmethod
    def of(exc: BaseException) -> LoadError:
        return LoadError(
            type(exc).__name__,
            str(exc),
            "".join(traceback.format_exception(exc)).rstrip(),
        )


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """Who is serving a location, and what state its code is in.

    ``server_id`` is new on every start of the process: a changed id tells the server that
    the location restarted and must be reloaded.
    """

    name: str
    server_id: str
    sdk_version: str
    state: LoadState
    snapshot_hash: str = ""
    asset_count: int = 0
    load_error: LoadError | None = None
    pid: int = 0
    started_at: float = 0.0


@dataclass(frozen=True, slots=True)
class EventDestination:
    """Where a run worker POSTs its events, and the bearer token it presents."""

    url: str
    token: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class RunLaunch:
    """A request to run ``asset_keys`` of a location.

    Args:
        run_id: chosen by the caller; the events of the run carry it.
        asset_keys: the assets to materialize (their steps run in dependency order).
        destination: where the events go.
        run_config: ``{"ops": {...}, "resources": {...}}``, validated before the run starts.
        tags: run tags, visible to the steps as ``context.run_tags``.
        executor: ``multiprocess`` (a process per step), ``in_process``, or ``celery``
            (each step a Celery task); ``None``: the location's default.
        max_concurrent: at most this many steps at once; ``None`` means one per CPU.
        cancel_grace: seconds between the SIGTERM of a cancel and the SIGKILL.
        first_seq: the ``seq`` of the worker's first event; the server may number events of
            its own (``RUN_QUEUED``, ``RUN_STARTING``) before the worker's.
    """

    run_id: str
    asset_keys: tuple[AssetKey, ...]
    destination: EventDestination
    run_config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    executor: ExecutorName | None = None
    max_concurrent: int | None = None
    cancel_grace: float = DEFAULT_CANCEL_GRACE
    first_seq: int = 1


@dataclass(frozen=True, slots=True)
class RunState:
    """A run as its location sees it. ``error`` says why, when the worker could not."""

    run_id: str
    status: RunStatus
    pid: int
    asset_keys: tuple[AssetKey, ...] = ()
    started_at: float = 0.0
    ended_at: float | None = None
    error: str | None = None
