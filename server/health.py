"""``tessera health``: the health of the server and of every code location, in one table.

For operators (``tessera health --server URL --workspace workspace.yaml``) and for container
health checks (``tessera health --location self=127.0.0.1:4000``). The exit status is 0
only when every target is healthy, 1 when one is not, 2 when the command line is wrong.

A location is asked through the standard ``grpc.health.v1.Health`` service (the one any
gRPC probe uses); the server through ``GET /api/v1/health``. Targets are checked at the
same time, so a table of dead targets takes one timeout, not one per target.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import httpx

from codeloc._errors import TesseraError
from codeloc.grpc._security import ClientSecurity
from codeloc.grpc.client import CodeLocationClient
from server.workspace.config import load_workspace

__all__ = [
    "HealthResult",
    "Target",
    "check",
    "check_all",
    "format_table",
    "main",
    "parse_location",
    "summary",
    "targets_from",
]

Kind = Literal["server", "location"]
COLUMNS = ("KIND", "NAME", "ADDRESS", "STATUS", "DETAIL", "LATENCY MS")


@dataclass(frozen=True)
class Target:
    """Something to check: the server (``address`` is its base URL) or a location
    (``address`` is ``host:port``)."""

    kind: Kind
    name: str
    address: str


@dataclass(frozen=True)
class HealthResult:
    target: Target
    healthy: bool
    detail: str
    latency_ms: float


def parse_location(spec: str) -> Target:
    """``NAME=HOST:PORT`` as given to ``--location``."""
    name, sep, address = spec.partition("=")
    host, colon, port = address.rpartition(":")
    if not sep or not name or not colon or not host or not port.isdigit():
        raise ValueError(f"--location wants NAME=HOST:PORT, not {spec!r}")
    return Target("location", name, address)


def targets_from(
    server: str | None, workspace: Path | None, locations: Iterable[str]
) -> list[Target]:
    """The targets a command line names, server first; ``ValueError`` says what is wrong."""
    targets: list[Target] = []
    if server:
        targets.append(Target("server", "server", server.rstrip("/")))
    if workspace is not None:
        targets += [
            Target("location", loc.name, loc.grpc) for loc in load_workspace(workspace).locations
        ]
    targets += [parse_location(spec) for spec in locations]
    return targets


def check(target: Target, timeout: float) -> HealthResult:
    """Ask one target; never raises: whatever goes wrong is the detail of an unhealthy row."""
    probe = _check_server if target.kind == "server" else _check_location
    clock = _Clock()
    try:
        healthy, detail = probe(target.address, timeout, clock)
    except Exception as exc:  # an unexpected failure is still an answer about this target
        healthy, detail = False, f"{type(exc).__name__}: {exc}"
    return HealthResult(target, healthy, detail, clock.elapsed_ms())


class _Clock:
    """The latency of a check: probes restart it once their client is built, so that the
    figure is the target's answer time, not the cost of setting up TLS or a channel."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def restart(self) -> None:
        self.started = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def check_all(
    targets: Sequence[Target],
    timeout: float,
    checker: Callable[[Target, float], HealthResult] = check,
) -> list[HealthResult]:
    """Every target at once; results in the order of ``targets``."""
    if not targets:
        return []
    with ThreadPoolExecutor(min(len(targets), 32), thread_name_prefix="tessera-health") as pool:
        return list(pool.map(lambda t: checker(t, timeout), targets))


def _check_server(url: str, timeout: float, clock: _Clock) -> tuple[bool, str]:
    try:
        with httpx.Client(timeout=timeout) as client:
            clock.restart()
            answer = client.get(f"{url}/api/v1/health")
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if answer.status_code != 200:
        return False, f"HTTP {answer.status_code}"
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") != "ok":
        return False, f"unexpected answer: {answer.text[:80]!r}"
    return True, "ok"


def _check_location(address: str, timeout: float, clock: _Clock) -> tuple[bool, str]:
    # Health answers without credentials; GetInfo, asked when it is not SERVING, needs the
    # secret (and TLS settings) the server would present: the same variables.
    security = ClientSecurity.from_env()
    with CodeLocationClient(address, timeout=timeout, security=security) as client:
        clock.restart()
        try:
            status = client.health()
        except TesseraError as exc:
            return False, str(exc)
        if status == "SERVING":
            return True, status
        # NOT_SERVING means loading or failed to load; the location's own info says which.
        try:
            info = client.info()
        except TesseraError:
            return False, status
        if info.load_error is not None:
            first_line = info.load_error.message.splitlines()[0] if info.load_error.message else ""
            return False, f"{status}: {info.state}: {info.load_error.type}: {first_line}"
        return False, f"{status}: {info.state}"


def format_table(results: Sequence[HealthResult]) -> str:
    """One row per target under a header, columns aligned, latency right-aligned."""
    rows = [
        (
            r.target.kind,
            r.target.name,
            r.target.address,
            "healthy" if r.healthy else "UNHEALTHY",
            r.detail.replace("\n", " "),
            f"{r.latency_ms:.1f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        cells.append(row[-1].rjust(widths[-1]))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def summary(results: Sequence[HealthResult]) -> str:
    bad = [r.target.name for r in results if not r.healthy]
    if not bad:
        return f"all {len(results)} healthy"
    return f"{len(bad)} of {len(results)} unhealthy: {', '.join(bad)}"


def main(
    *,
    server: str | None = None,
    workspace: Path | None = None,
    locations: Sequence[str] = (),
    timeout: float = 5.0,
    out: TextIO | None = None,
) -> int:
    """``tessera health``: print the table and the summary; the exit status."""
    out = out or sys.stdout
    try:
        targets = targets_from(server, workspace, locations)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not targets:
        print("error: nothing to check: give --server, --workspace or --location", file=sys.stderr)
        return 2
    if timeout <= 0:
        print("error: --timeout must be more than 0", file=sys.stderr)
        return 2
    results = check_all(targets, timeout)
    print(format_table(results), file=out)
    print(summary(results), file=out, flush=True)
    return 0 if all(r.healthy for r in results) else 1
