"""The gRPC server of a code location: the ``CodeLocation`` service, health, reflection.

``LocationServer`` is what ``tessera codeloc`` runs, and what tests start in process::

    with LocationServer(CodeSource(module="my_assets"), port=0) as server:
        client = CodeLocationClient(server.address)

Given a ``LocationSecurity`` with a secret, every call of the ``CodeLocation`` service must
carry it (``_guard.py``); with a certificate, the port speaks TLS only (mutual TLS with a
client CA). Without a secret it serves anyone who reaches the port, and says so at start.

The port opens at once; the code loads meanwhile (in the fork server), and health turns
from ``NOT_SERVING`` to ``SERVING`` when the snapshot is ready, or stays ``NOT_SERVING``
with the load error in ``GetInfo`` when the code fails to import.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import NoReturn, ParamSpec, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from codeloc._errors import ConfigInvalid
from codeloc._logging import bind_log_fields
from codeloc._runs import ExecutorName
from codeloc._settings import DEFAULT_MAX_LAUNCH_BYTES, Settings
from codeloc.grpc import convert
from codeloc.grpc._errors import (
    CodeLocationNotLoaded,
    CodeLocationUnavailable,
    LaunchRejected,
    RunAlreadyExists,
    RunNotFound,
)
from codeloc.grpc._guard import SecretGuard
from codeloc.grpc._location import Location
from codeloc.grpc._model import CodeSource, LoadState
from codeloc.grpc._security import LocationSecurity, is_loopback, read_pem
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2 as cl_pb
from codeloc.protos.tessera.codelocation.v1 import code_location_pb2_grpc as cl_grpc
from codeloc.protos.tessera.codelocation.v1 import runs_pb2 as runs_pb
from codeloc.protos.tessera.codelocation.v1 import snapshot_pb2 as snap_pb

__all__ = ["SERVICE_NAME", "CodeLocationServicer", "LocationServer", "serve"]

log = logging.getLogger(__name__)

SERVICE_NAME: str = cl_pb.DESCRIPTOR.services_by_name["CodeLocation"].full_name
DEFAULT_SHUTDOWN_GRACE = 30.0

P = ParamSpec("P")
T = TypeVar("T")


class CodeLocationServicer(cl_grpc.CodeLocationServicer):
    """Unpacks each request, calls the ``Location``, packs the answer."""

    def __init__(self, location: Location, shutdown: Callable[[float | None], int]) -> None:
        self._location = location
        self._shutdown = shutdown

    def GetInfo(
        self, request: cl_pb.GetInfoRequest, context: grpc.ServicerContext
    ) -> cl_pb.GetInfoResponse:
        return cl_pb.GetInfoResponse(location=convert.to_info(self._location.info()))

    def StreamSnapshot(
        self, request: cl_pb.StreamSnapshotRequest, context: grpc.ServicerContext
    ) -> Iterator[snap_pb.SnapshotChunk]:
        loaded = _call(context, self._location.snapshot, _time_left(context, 60.0))
        if request.known_hash and request.known_hash == loaded.snapshot_hash:
            yield convert.unchanged_chunk(loaded.snapshot_hash, loaded.asset_count)
            return
        for data in loaded.chunks:
            yield snap_pb.SnapshotChunk.FromString(data)

    def LaunchRun(
        self, request: runs_pb.LaunchRunRequest, context: grpc.ServicerContext
    ) -> runs_pb.LaunchRunResponse:
        launch = _call(context, convert.from_launch, request)
        state = _call(context, self._location.launch, launch, _time_left(context, 30.0))
        return runs_pb.LaunchRunResponse(run=convert.to_run_state(state))

    def CancelRun(
        self, request: runs_pb.CancelRunRequest, context: grpc.ServicerContext
    ) -> runs_pb.CancelRunResponse:
        state = _call(context, self._location.cancel, request.run_id)
        return runs_pb.CancelRunResponse(run=convert.to_run_state(state))

    def ListRuns(
        self, request: runs_pb.ListRunsRequest, context: grpc.ServicerContext
    ) -> runs_pb.ListRunsResponse:
        runs = [convert.to_run_state(s) for s in self._location.runs()]
        return runs_pb.ListRunsResponse(runs=runs)

    def Shutdown(
        self, request: cl_pb.ShutdownRequest, context: grpc.ServicerContext
    ) -> cl_pb.ShutdownResponse:
        grace = request.grace_seconds if request.HasField("grace_seconds") else None
        return cl_pb.ShutdownResponse(running=self._shutdown(grace))


def _time_left(context: grpc.ServicerContext, default: float) -> float:
    # The stubs say float, but a call that came without a deadline has None.
    left: float | None = context.time_remaining()
    return default if left is None else max(0.0, left - 0.1)


def _call(
    context: grpc.ServicerContext, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn(*args, **kwargs)``, with the project's errors turned into gRPC status codes;
    the error's class travels in the ``tessera-error`` trailer, so the client raises the
    same one."""
    try:
        return fn(*args, **kwargs)
    except ConfigInvalid as exc:
        _abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            exc,
            ("tessera-asset", exc.asset),
            ("tessera-field", exc.field),
        )
    except RunAlreadyExists as exc:
        _abort(context, grpc.StatusCode.ALREADY_EXISTS, exc)
    except LaunchRejected as exc:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, exc)
    except ValueError as exc:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, LaunchRejected(str(exc)))
    except RunNotFound as exc:
        _abort(context, grpc.StatusCode.NOT_FOUND, exc)
    except CodeLocationNotLoaded as exc:
        loading = exc.load_error is None
        code = grpc.StatusCode.UNAVAILABLE if loading else grpc.StatusCode.FAILED_PRECONDITION
        _abort(context, code, exc)
    except CodeLocationUnavailable as exc:
        _abort(context, grpc.StatusCode.UNAVAILABLE, exc)


def _abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    exc: Exception,
    *extra: tuple[str, str],
) -> NoReturn:
    trailers = (("tessera-error", type(exc).__name__), *extra)
    # Metadata values must be printable ASCII.
    context.set_trailing_metadata(
        tuple((k, v.encode("ascii", "backslashreplace").decode()) for k, v in trailers)
    )
    context.abort(code, str(exc))


class LocationServer:
    """One code location, served over gRPC until ``shutdown()`` (graceful) or ``stop()``."""

    def __init__(
        self,
        source: CodeSource,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 4000,
        spool_dir: Path | None = None,
        spool_backoff: float = 10.0,
        shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE,
        max_workers: int = 16,
        executor: ExecutorName = "multiprocess",
        security: LocationSecurity | None = None,
        max_receive_bytes: int = DEFAULT_MAX_LAUNCH_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.shutdown_grace = shutdown_grace
        self.security = security or LocationSecurity()
        # Read now: a certificate that cannot be read fails here, naming its setting.
        self._credentials = _server_credentials(self.security)
        self._health = health.HealthServicer()
        self._set_health("loading")
        self.location = Location(
            source,
            name=name,
            spool_dir=spool_dir,
            spool_backoff=spool_backoff,
            on_state=self._set_health,
            executor=executor,
        )
        self.name = self.location.name
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers, thread_name_prefix="tessera-grpc"),
            # Without this, a second server on a port already in use would share it silently.
            options=[
                ("grpc.so_reuseport", 0),
                # A launch carries the run config: the server refuses a larger one itself.
                ("grpc.max_receive_message_length", max_receive_bytes),
            ],
            interceptors=(
                [SecretGuard(self.security.secret, SERVICE_NAME)] if self.security.secret else []
            ),
        )
        cl_grpc.add_CodeLocationServicer_to_server(
            CodeLocationServicer(self.location, self.shutdown), self._server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self._shutdown_lock = threading.Lock()
        self._shutdown_thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> LocationServer:
        bind = f"{self.host}:{self.port}"
        try:
            if self._credentials is None:
                port = self._server.add_insecure_port(bind)
            else:
                port = self._server.add_secure_port(bind, self._credentials)
        except RuntimeError as exc:  # newer grpcio raises, older ones return 0
            raise OSError(f"cannot listen on {self.address}: {exc}") from None
        if not port:
            raise OSError(f"cannot listen on {self.address}")
        self.port = port
        self._warn_if_open()
        self._server.start()
        self.location.start()
        return self

    def _warn_if_open(self) -> None:
        if self.security.secret:
            return
        if is_loopback(self.host):
            log.warning(
                "code location %s on %s accepts calls without credentials: "
                "TESSERA_LOCATION_SECRET is not set (any process on this machine can launch "
                "runs and shut it down)",
                self.name,
                self.address,
            )
        else:
            log.warning(
                "!!! code location %s listens on %s, beyond this machine, WITHOUT "
                "credentials: anyone who reaches the port can launch runs with any config "
                "and shut the location down. Set TESSERA_LOCATION_SECRET here and on the "
                "server (and TESSERA_LOCATION_TLS_* to encrypt the channel) !!!",
                self.name,
                self.address,
            )

    def _set_health(self, state: LoadState) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if state == "loaded"
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            self._health.set(service, status)

    def shutdown(self, grace: float | None = None) -> int:
        """Begin a graceful shutdown: refuse launches, let runs finish (up to ``grace``
        seconds, then cancel them), stop serving. Returns how many runs are executing."""
        running = self.location.stop_accepting()
        with self._shutdown_lock:
            if self._shutdown_thread is None:
                self._shutdown_thread = threading.Thread(
                    target=self._shut_down,
                    args=(self.shutdown_grace if grace is None else grace,),
                    name="tessera-shutdown",
                )
                self._shutdown_thread.start()
        return running

    def _shut_down(self, grace: float) -> None:
        try:
            self._health.enter_graceful_shutdown()
            self.location.drain(grace)
            self._server.stop(grace=2.0).wait()
            self.location.close()
        finally:
            self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server has stopped; whether it has."""
        return self._stopped.wait(timeout)

    def stop(self) -> None:
        """Shut down now: runs still executing are canceled."""
        self.shutdown(grace=0.0)
        self.wait()

    def __enter__(self) -> LocationServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    source: CodeSource,
    *,
    name: str | None = None,
    host: str = "127.0.0.1",
    port: int = 4000,
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE,
    executor: ExecutorName = "multiprocess",
    security: LocationSecurity | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT (a second one cancels running work at once); exit 0."""
    server = LocationServer(
        source,
        name=name,
        host=host,
        port=port,
        shutdown_grace=shutdown_grace,
        executor=executor,
        security=security,
        max_receive_bytes=Settings.from_env().max_launch_bytes,
    )
    bind_log_fields(location=server.name)
    server.start()
    print(f"serving {server.name} on {server.host}:{server.port}", flush=True)
    signals = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        server.shutdown()
        if signals > 1:
            server.location.cancel_all()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not server.wait(timeout=1.0):
        pass
    print(f"stopped {server.name}", file=sys.stderr, flush=True)
    return 0


def _server_credentials(security: LocationSecurity) -> grpc.ServerCredentials | None:
    """TLS credentials of the port, or ``None`` for plaintext."""
    if security.tls_cert is None or security.tls_key is None:
        return None
    pair = (
        read_pem(security.tls_key, "TESSERA_LOCATION_TLS_KEY"),
        read_pem(security.tls_cert, "TESSERA_LOCATION_TLS_CERT"),
    )
    client_ca = security.tls_client_ca
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=(
            read_pem(client_ca, "TESSERA_LOCATION_TLS_CLIENT_CA") if client_ca else None
        ),
        require_client_auth=client_ca is not None,
    )
