"""Tessera's code location: time from process start to healthy, then fetch the full snapshot.

Run by the Tessera interpreter. It imports gRPC and the generated client (not timed), then:

1. ``start_s``: from starting ``tessera codeloc -m MODULE -d DIR --port P`` until the standard
   ``grpc.health.v1.Health/Check`` answers ``SERVING`` (the port opens at once; health turns
   ``SERVING`` once the code is loaded and the snapshot is ready);
2. ``seconds`` (fetch): ``CodeLocation/StreamSnapshot`` read to the end, every chunk parsed
   into its protobuf message;
3. ``bytes``: the serialized size of the chunks received (gRPC framing is not counted).

The server is asked to shut down afterwards. The driver prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from codeloc.protos.tessera.codelocation.v1 import code_location_pb2, code_location_pb2_grpc

TESSERA = "import sys; from server.cli import main; sys.argv[0] = 'tessera'; sys.exit(main())"
"""The ``tessera`` console script, without needing the project to be pip-installed."""


HEALTH_LIMIT_S = 600.0
"""A backstop: the runner's timeout ends this process group well before."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(channel: grpc.Channel, server: subprocess.Popen[bytes], limit: float) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="")
    deadline = time.monotonic() + limit
    while True:
        try:
            reply = health.Check(request, timeout=1.0)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        if server.poll() is not None:
            sys.exit(f"tessera codeloc exited with {server.returncode} before serving")
        if time.monotonic() > deadline:
            sys.exit(f"tessera codeloc not healthy after {limit:g} s")
        time.sleep(0.02)


def fetch_snapshot(channel: grpc.Channel) -> tuple[int, int]:
    """Read the whole snapshot stream; the assets seen and the bytes received."""
    stub = code_location_pb2_grpc.CodeLocationStub(channel)
    assets = received = 0
    for chunk in stub.StreamSnapshot(code_location_pb2.StreamSnapshotRequest()):
        received += chunk.ByteSize()
        assets += len(chunk.assets)
    return assets, received


def stop(channel: grpc.Channel, server: subprocess.Popen[bytes]) -> None:
    try:
        stub = code_location_pb2_grpc.CodeLocationStub(channel)
        stub.Shutdown(code_location_pb2.ShutdownRequest(grace_seconds=0.0), timeout=5.0)
        server.wait(timeout=10)
    except (grpc.RpcError, subprocess.TimeoutExpired):
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["tessera"], required=True)
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    args = parser.parse_args()

    port = free_port()
    argv = [sys.executable, "-c", TESSERA, "codeloc", "-m", args.module, "-d", args.dir]
    argv += ["--port", str(port)]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    t0 = time.perf_counter()
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(channel, server, HEALTH_LIMIT_S)
        t1 = time.perf_counter()
        assets, received = fetch_snapshot(channel)
        t2 = time.perf_counter()
    finally:
        stop(channel, server)
        channel.close()

    print(
        json.dumps(
            {
                "seconds": t2 - t1,
                "start_s": t1 - t0,
                "bytes": received,
                "mb": received / 1e6,
                "assets": assets,
            }
        )
    )


if __name__ == "__main__":
    main()
