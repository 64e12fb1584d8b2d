"""Errors of code-location servers and their clients, under the SDK's ``TesseraError``::

TesseraError
└── CodeLocationError
    ├── CodeLocationUnavailable  the process cannot be reached, or is shutting down
    ├── CodeLocationNotLoaded    its code is still loading, or failed to (``load_error``)
    ├── LaunchRejected           a launch that cannot start: unknown asset, bad request, …
    │   └── RunAlreadyExists     a run with that id was launched here already
    ├── RunNotFound              no run with that id on this location
    ├── CredentialsRejected      the location refused the caller's secret or certificate
    └── SnapshotRejected         its snapshot is not taken: too large, or the stream too slow
        └── SnapshotInvalid      its snapshot is malformed (names the chunk, field or asset)

A launch whose run config does not validate raises the SDK's own ``ConfigInvalid`` (with
``asset`` and ``field``), on the server and again on the client side of the wire.
"""

from __future__ import annotations

from codeloc._errors import TesseraError
from codeloc.grpc._model import LoadError

__all__ = [
    "CodeLocationError",
    "CodeLocationNotLoaded",
    "CodeLocationUnavailable",
    "CredentialsRejected",
    "LaunchRejected",
    "RunAlreadyExists",
    "RunNotFound",
    "SnapshotInvalid",
    "SnapshotRejected",
]


class CodeLocationError(TesseraError):
    """Something a code location could not do."""


class CodeLocationUnavailable(CodeLocationError):
    """The location cannot be reached, or it is shutting down."""


class CodeLocationNotLoaded(CodeLocationError):
    """The location's code is loading, or failed to load (then ``load_error`` says why)."""

    def __init__(self, message: str, load_error: LoadError | None = None) -> None:
        super().__init__(message)
        self.load_error = load_error


class LaunchRejected(CodeLocationError):
    """A launch request that cannot start a run."""


class RunAlreadyExists(LaunchRejected):
    """A run with this id was launched here already (a retried launch, most likely)."""


class RunNotFound(CodeLocationError):
    """No run with that id is known to the location."""


class CredentialsRejected(CodeLocationError):
    """The location answered, but refused the caller: its ``TESSERA_LOCATION_SECRET`` (or
    the client certificate) is not the one the location expects. Reaching it again will
    not help; the settings of one side must change."""


class SnapshotRejected(CodeLocationError):
    """The location answered, but its snapshot is not taken: it passed the size limit or
    the stream did not end in time. A fault of the location, not of the network: the
    server marks it ``error``, not ``unreachable``."""


class SnapshotInvalid(SnapshotRejected):
    """A snapshot stream that does not decode into a complete, consistent snapshot: a chunk
    that does not parse, a missing or unknown field, an invalid key, counts that disagree."""
