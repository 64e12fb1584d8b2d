"""Code locations over gRPC: the server (``tessera codeloc``), its client, its run workers.

::

    LocationServer  (server.py)   the CodeLocation service, health, reflection
      └─ Location   (_location.py) load state, runs, spools; no gRPC in it
           ├─ ForkServer (_forks.py) ── forkserver.py: imports the user code, forks workers
           │                              └─ worker.py: one run; events → _shipping.py
           └─ SpoolDrainer (_shipping.py): delivers what workers could not
    CodeLocationClient (client.py)  what the central server uses
    convert.py                      the only edge between protobuf and the dataclasses

The client and the server import ``grpc``; they load on first use, so that the fork server
and its workers, which import this package, never do.
"""

from typing import TYPE_CHECKING, Any

from codeloc.grpc._errors import (
    CodeLocationError,
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    CredentialsRejected,
    LaunchRejected,
    RunAlreadyExists,
    RunNotFound,
    SnapshotInvalid,
    SnapshotRejected,
)
from codeloc.grpc._model import (
    CodeSource,
    EventDestination,
    LoadError,
    LoadState,
    LocationInfo,
    RunLaunch,
    RunState,
)

if TYPE_CHECKING:
    from codeloc.grpc.client import CodeLocationClient
    from codeloc.grpc.server import LocationServer

__all__ = [
    "CodeLocationClient",
    "CodeLocationError",
    "CodeLocationNotLoaded",
    "CodeLocationUnavailable",
    "CodeSource",
    "CredentialsRejected",
    "EventDestination",
    "LaunchRejected",
    "LoadError",
    "LoadState",
    "LocationInfo",
    "LocationServer",
    "RunAlreadyExists",
    "RunLaunch",
    "RunNotFound",
    "RunState",
    "SnapshotInvalid",
    "SnapshotRejected",
]


def __getattr__(name: str) -> Any:
    if name == "CodeLocationClient":
        from codeloc.grpc.client import CodeLocationClient

        return CodeLocationClient
    if name == "LocationServer":
        from codeloc.grpc.server import LocationServer

        return LocationServer
    raise AttributeError(f"module 'codeloc.grpc' has no attribute {name!r}")
