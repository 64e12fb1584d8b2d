"""Dagster's code server: time from process start to healthy, then fetch the full snapshot.

Run by ``bench/.venv-dagster``'s Python. It imports Dagster (not timed), then:

1. ``start_s``: from ``Popen(["dagster", "api", "grpc", "-m", MODULE, ...])`` until the
   server answers ``Ping`` (Dagster's server loads the code, and resolves every job in it,
   before it serves);
2. ``seconds`` (fetch): the calls the webserver makes to load a code location
   (``GrpcServerCodeLocation``): ``ListRepositories``, ``ExternalRepository`` with
   ``defer_snapshots=True``, then ``ExternalJob`` for every job, each answer deserialized;
3. ``bytes``: the serialized payloads received by those calls (the strings Dagster puts in its
   protobuf replies; gRPC framing is not counted).

The server is shut down afterwards. The driver prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import ListRepositoriesResponse
from dagster._serdes import deserialize_value

LOCATION = "bench"


HEALTH_LIMIT_S = 600.0
"""A backstop: the runner's timeout ends this process group well before."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(client: DagsterGrpcClient, server: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            client.ping("bench")
            return
        except Exception:
            if server.poll() is not None:
                sys.exit(f"dagster api grpc exited with {server.returncode} before serving")
            if time.monotonic() > deadline:
                sys.exit(f"dagster api grpc not healthy after {limit:g} s")
            time.sleep(0.02)


def fetch_snapshot(client: DagsterGrpcClient, port: int) -> tuple[int, int]:
    """Load the location as ``GrpcServerCodeLocation`` does; the assets seen and bytes read."""
    listing = client.list_repositories()
    received = len(listing.encode())
    response = deserialize_value(listing, ListRepositoriesResponse)
    origin = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=port, location_name=LOCATION)
    assets = 0
    for symbol in response.repository_symbols:
        repo_origin = RemoteRepositoryOrigin(origin, symbol.repository_name)
        serialized = client.external_repository(repo_origin, defer_snapshots=True)
        received += len(serialized.encode())
        snap = deserialize_value(serialized, RepositorySnap)
        assets += len(snap.asset_nodes)
        for job_ref in snap.get_job_refs():
            reply = client.external_job(repo_origin, job_ref.name)
            received += reply.ByteSize()
            deserialize_value(reply.serialized_job_data)
    return assets, received


def stop(client: DagsterGrpcClient, server: subprocess.Popen[bytes]) -> None:
    """Ask the server to shut down (SIGTERM makes it wait for a grace period), else kill it."""
    try:
        client.shutdown_server()
        server.wait(timeout=10)
    except Exception:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["dagster"], required=True)
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    args = parser.parse_args()

    port = free_port()
    dagster = Path(sys.executable).parent / "dagster"
    argv = [str(dagster), "api", "grpc", "-m", args.module, "-d", args.dir]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    client = DagsterGrpcClient(port=port, host="127.0.0.1")

    t0 = time.perf_counter()
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(client, server, HEALTH_LIMIT_S)
        t1 = time.perf_counter()
        assets, received = fetch_snapshot(client, port)
        t2 = time.perf_counter()
    finally:
        stop(client, server)

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
