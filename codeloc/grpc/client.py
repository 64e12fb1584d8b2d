"""A typed client of a code location: the project's dataclasses in, the project's out.

Every call is blocking, has a deadline and is thread-safe (one channel, shared). From
async code, run it in a thread::

    info = await asyncio.to_thread(client.info)

Errors come back as the project's own: ``CodeLocationUnavailable`` (unreachable, deadline
passed, shutting down), ``CodeLocationNotLoaded``, ``LaunchRejected`` / ``RunAlreadyExists``,
``RunNotFound``, ``CredentialsRejected`` (the location refused the secret), the SDK's
``ConfigInvalid`` for run config that does not validate, and ``SnapshotRejected`` /
``SnapshotInvalid`` for a snapshot that cannot be used.

A ``ClientSecurity`` gives every call the location's secret as metadata and, with a CA, makes
the channel TLS (with a client certificate: mutual TLS).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc

from codeloc._errors import ConfigInvalid, TesseraError
from codeloc._snapshot import LocationSnapshot
from codeloc.grpc import convert
from codeloc.grpc._errors import (
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    CredentialsRejected,
    LaunchRejected,
    RunAlreadyExists,
    RunNotFound,
    SnapshotInvalid,
    SnapshotRejected,
)
from codeloc.grpc._model import LocationInfo, RunLaunch, RunState
from codeloc.grpc._security import ClientSecurity, read_pem
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2 as cl_pb
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2_grpc as cl_grpc
from codeloc.protos.tessera.codelocation.v1 import runs_pb2 as runs_pb
from codeloc.protos.tessera.codelocation.v1 import snapshot_pb2 as snap_pb

__all__ = ["CodeLocationClient"]

Request = TypeVar("Request")
Response = TypeVar("Response")
MAX_MESSAGE = 64 * 1024 * 1024
"""The largest message received or sent. Snapshot chunks are ~1 MiB, so this only matters
for one asset with an enormous schema; a whole snapshot is bounded by ``max_snapshot_bytes``."""
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
"""The default bound of a whole snapshot stream, as received (before decoding)."""
MAX_SNAPSHOT_ASSETS = 1_000_000
"""The default bound of the assets of a snapshot: ten times the largest location measured."""

_SERVICE = cl_pb.DESCRIPTOR.services_by_name["CodeLocation"]
_STREAM_SNAPSHOT = f"/{_SERVICE.full_name}/StreamSnapshot"

_ERRORS: dict[str, type[TesseraError]] = {
    "CodeLocationNotLoaded": CodeLocationNotLoaded,
    "CodeLocationUnavailable": CodeLocationUnavailable,
    "CredentialsRejected": CredentialsRejected,
    "LaunchRejected": LaunchRejected,
    "RunAlreadyExists": RunAlreadyExists,
    "RunNotFound": RunNotFound,
}


class CodeLocationClient:
    """Talks to the code location at ``address`` (``host:port``).

    Args:
        timeout: the deadline of each call, in seconds.
        snapshot_timeout: the deadline of a whole snapshot stream.
        security: the secret to present and the TLS to speak; none by default.

        max_snapshot_bytes: a snapshot stream larger than this is cut off.
        max_snapshot_assets: a snapshot of more assets (or more than twice as many distinct
            keys) is cut off: in memory, a tiny asset takes a hundred times its size on the wire.

    A snapshot cut off (too large, too slow) raises ``SnapshotRejected``, a malformed one
    ``SnapshotInvalid``: the location answered, but what it sent cannot be used.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 10.0,
        snapshot_timeout: float = 120.0,
        max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES,
        max_snapshot_assets: int = MAX_SNAPSHOT_ASSETS,
        security: ClientSecurity | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.snapshot_timeout = snapshot_timeout
        self.max_snapshot_bytes = max_snapshot_bytes
        self.max_snapshot_assets = max_snapshot_assets
        security = security or ClientSecurity()
        self._metadata = security.metadata()
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ]
        credentials = _channel_credentials(security)
        self._channel = (
            grpc.insecure_channel(address, options=options)
            if credentials is None
            else grpc.secure_channel(address, credentials, options=options)
        )
        self._stub = cl_grpc.CodeLocationStub(self._channel)
        # The stubs of grpcio-health-checking declare no methods on ``HealthStub`` (the
        # generated class sets them in ``__init__``); this is the type it gives ``Check``.
        self._health_check: grpc.UnaryUnaryMultiCallable[
            health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
        ] = health_pb2_grpc.HealthStub(self._channel).Check  # type: ignore[attr-defined]

    def info(self) -> LocationInfo:
        reply = self._call(self._stub.GetInfo, cl_pb.GetInfoRequest())
        return convert.from_info(reply.location)

    def snapshot(self) -> LocationSnapshot:
        """Every definition of the location, streamed in chunks and checked to be complete."""
        snapshot = self._snapshot("")
        if snapshot is None:
            raise SnapshotInvalid("the location answered 'unchanged' when asked for everything")
        return snapshot

    def snapshot_if_changed(self, known_hash: str) -> LocationSnapshot | None:
        """``None`` when the location's snapshot still has ``known_hash``."""
        return self._snapshot(known_hash)

    def _snapshot(self, known_hash: str) -> LocationSnapshot | None:
        request = cl_pb.StreamSnapshotRequest(known_hash=known_hash)
        # Chunks come in as bytes and are parsed here: a limit is checked before parsing,
        # and a chunk that does not parse is named instead of failing inside grpc.
        method: grpc.UnaryStreamMultiCallable[cl_pb.StreamSnapshotRequest, bytes]
        method = self._channel.unary_stream(
            _STREAM_SNAPSHOT, request_serializer=cl_pb.StreamSnapshotRequest.SerializeToString
        )
        stream = method(request, timeout=self.snapshot_timeout, metadata=self._metadata)
        try:
            assembler = convert.SnapshotAssembler(self.max_snapshot_assets)
            return _assemble(stream, assembler, self.max_snapshot_bytes)
        except grpc.RpcError as exc:
            raise self._snapshot_error(exc) from None
        finally:
            # A stream cut off here must stop sending; one that ended is not affected.
            stream.cancel()

    def _snapshot_error(self, exc: grpc.RpcError) -> TesseraError:
        code = exc.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return SnapshotRejected(
                f"snapshot stream did not end within {self.snapshot_timeout:g} s"
            )
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return SnapshotRejected(
                f"a snapshot chunk exceeded the {_size(MAX_MESSAGE)} of one message: "
                f"{exc.details()}"
            )
        return _error(exc)

    def launch(self, launch: RunLaunch) -> RunState:
        """Start a run; see ``RunLaunch``. Refused before anything runs when the assets are
        unknown (``LaunchRejected``) or the config does not validate (``ConfigInvalid``)."""
        reply = self._call(self._stub.LaunchRun, convert.to_launch(launch))
        return convert.from_run_state(reply.run)

    def cancel(self, run_id: str) -> RunState:
        reply = self._call(self._stub.CancelRun, runs_pb.CancelRunRequest(run_id=run_id))
        return convert.from_run_state(reply.run)

    def runs(self) -> list[RunState]:
        reply = self._call(self._stub.ListRuns, runs_pb.ListRunsRequest())
        return [convert.from_run_state(r) for r in reply.runs]

    def shutdown(self, grace: float | None = None) -> int:
        """Ask the process to drain its runs (up to ``grace`` s) and exit; how many run."""
        reply = self._call(self._stub.Shutdown, cl_pb.ShutdownRequest(grace_seconds=grace))
        return reply.running

    def health(self, service: str = "") -> str:
        """``SERVING``, ``NOT_SERVING`` or ``SERVICE_UNKNOWN``, from the standard service."""
        reply = self._call(self._health_check, health_pb2.HealthCheckRequest(service=service))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def wait_until_loaded(self, timeout: float) -> LocationInfo:
        """Poll until the code has loaded (or failed to: then ``CodeLocationNotLoaded``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                info = self.info()
                if info.state == "loaded":
                    return info
                if info.state == "failed":
                    raise CodeLocationNotLoaded(
                        f"location '{info.name}' failed to load", info.load_error
                    )
            except CodeLocationUnavailable:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                raise CodeLocationUnavailable(f"{self.address} did not load in {timeout:g}s")
            time.sleep(0.02)

    def _call(
        self, method: grpc.UnaryUnaryMultiCallable[Request, Response], request: Request
    ) -> Response:
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> CodeLocationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _assemble(
    chunks: Iterable[bytes], assembler: convert.SnapshotAssembler, max_bytes: int
) -> LocationSnapshot | None:
    """The snapshot in ``chunks`` (``None`` when unchanged); nothing of it is kept once a
    limit is passed or a chunk is malformed."""
    received = 0
    try:
        for index, data in enumerate(chunks):
            received += len(data)
            if received > max_bytes:
                raise SnapshotRejected(f"snapshot exceeded {_size(max_bytes)}")
            try:
                chunk = snap_pb.SnapshotChunk.FromString(data)
            except DecodeError:
                raise SnapshotInvalid(
                    f"snapshot chunk {index} ({len(data)} bytes) does not parse as a SnapshotChunk"
                ) from None
            assembler.add(chunk)
    except BaseException:
        # The traceback keeps this frame alive as long as the error is kept (a log record
        # may keep it): it must not keep hundreds of MiB of a snapshot with it.
        assembler.clear()
        raise
    if assembler.unchanged:
        return None
    return assembler.result()


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


def _error(exc: grpc.RpcError) -> TesseraError:
    """The project's error for a failed call."""
    details = exc.details() or str(exc.code())
    trailing = _trailers(exc)
    kind = trailing.get("tessera-error")
    if kind == "ConfigInvalid":
        asset, field = trailing.get("tessera-asset", ""), trailing.get("tessera-field", "")
        return ConfigInvalid(details, asset, field)
    if kind in _ERRORS:
        return _ERRORS[kind](details)
    code = exc.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return CredentialsRejected(details)
    if code == grpc.StatusCode.NOT_FOUND:
        return RunNotFound(details)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS):
        return LaunchRejected(details)
    return CodeLocationUnavailable(f"{code.name}: {details}")


def _channel_credentials(security: ClientSecurity) -> grpc.ChannelCredentials | None:
    """TLS credentials of the channel, or ``None`` for plaintext."""
    if security.tls_ca is None:
        return None
    cert, key = security.tls_cert, security.tls_key
    return grpc.ssl_channel_credentials(
        root_certificates=read_pem(security.tls_ca, "TESSERA_LOCATION_TLS_CA"),
        private_key=read_pem(key, "TESSERA_LOCATION_TLS_CLIENT_KEY") if key else None,
        certificate_chain=read_pem(cert, "TESSERA_LOCATION_TLS_CLIENT_CERT") if cert else None,
    )


def _trailers(exc: grpc.RpcError) -> dict[str, str]:
    """The trailing metadata of a failed call that is text: all that the server sends."""
    trailers: dict[str, str] = {}
    for item in exc.trailing_metadata() or ():
        # The stubs type every value as bytes, but grpc gives text for each key that does not
        # end in "-bin" (a binary one), as none of the server's do.
        value: str | bytes = item.value
        if isinstance(value, str):
            trailers[item.key] = value
    return trailers
