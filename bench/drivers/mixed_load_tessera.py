"""Tessera: 50 readers of the catalog while 200 runs are launched at once.

A session driver (see ``bench/session.py``). Set up, not timed: a database of its own on the
PostgreSQL server (``tessera migrate``), one ``tessera codeloc`` process for the generated
module, one ``tessera server`` process with that location in its workspace.yaml, both with
their defaults. Then, for each ``round`` command, with ``httpx.AsyncClient`` (one connection
per concurrent request, a 30 s timeout, as a browser or a script would time out):

1. ``--readers`` tasks each ``GET /api/v1/assets?limit=100`` in a loop, one request after the
   other, from the start of the round until every launched run has ended;
2. ``--launches`` ``POST /api/v1/runs {"selection": ["a0"]}``, all sent at once;
3. one prober ``GET /api/v1/health`` every 50 ms during the round;
4. the round ends when every launched run has ended (polled every 250 ms on one connection,
   ``GET /api/v1/runs?status=…``), or after ``--round-limit`` seconds.

Reported per round: ``seconds`` (the read p99), ``read_p50_s``, ``launch_p50_s``,
``launch_p99_s``, ``health_p99_s``, ``errors`` (answers other than 2xx, timeouts and
connection failures, over every request of the round) and ``reads`` (how many were made).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.drivers import _deploy as deploy

TIMEOUT_S = 30.0
HEALTH_EVERY_S = 0.05
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")


class Round:
    def __init__(self) -> None:
        self.reads: list[float] = []
        self.launches: list[float] = []
        self.health: list[float] = []
        self.errors = 0
        self.run_ids: list[str] = []
        self.done = asyncio.Event()

    async def timed(
        self, client: httpx.AsyncClient, into: list[float], method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = await client.request(method, path, **kw)
        except httpx.HTTPError:
            self.errors += 1
            into.append(time.perf_counter() - started)
            return None
        into.append(time.perf_counter() - started)
        if not answer.is_success:
            self.errors += 1
            return None
        return answer


async def _reader(client: httpx.AsyncClient, state: Round) -> None:
    while not state.done.is_set():
        await state.timed(client, state.reads, "GET", "/api/v1/assets", params={"limit": 100})


async def _prober(client: httpx.AsyncClient, state: Round) -> None:
    while not state.done.is_set():
        await state.timed(client, state.health, "GET", "/api/v1/health")
        await asyncio.sleep(HEALTH_EVERY_S)


async def _launch(client: httpx.AsyncClient, state: Round, asset: str) -> None:
    answer = await state.timed(
        client, state.launches, "POST", "/api/v1/runs", json={"selection": [asset]}
    )
    if answer is not None:
        state.run_ids += [run["run_id"] for run in answer.json()["runs"]]


async def _wait_ended(client: httpx.AsyncClient, state: Round, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        try:
            answer = await client.get(
                "/api/v1/runs",
                params={"status": ",".join(TERMINAL), "limit": 1000},
            )
        except httpx.HTTPError:
            continue
        if answer.is_success:
            ended = {run["run_id"] for run in answer.json()["runs"]}
            if ended.issuperset(state.run_ids):
                return


async def mixed_round(port: int, asset: str, readers: int, launches: int, limit: float) -> Any:
    limits = httpx.Limits(max_connections=readers + launches + 2, max_keepalive_connections=None)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S, limits=limits) as client:
        state = Round()
        started = time.perf_counter()
        background = [asyncio.create_task(_reader(client, state)) for _ in range(readers)]
        background.append(asyncio.create_task(_prober(client, state)))
        await asyncio.sleep(0.5)  # the readers are reading when the launches arrive
        await asyncio.gather(*(_launch(client, state, asset) for _ in range(launches)))
        await _wait_ended(client, state, limit)
        state.done.set()
        await asyncio.gather(*background)
        elapsed = time.perf_counter() - started
    return {
        "seconds": _p(state.reads, 99),
        "read_p50_s": _p(state.reads, 50),
        "launch_p50_s": _p(state.launches, 50),
        "launch_p99_s": _p(state.launches, 99),
        "health_p99_s": _p(state.health, 99),
        "errors": float(state.errors),
        "reads": float(len(state.reads)),
        "runs": float(len(state.run_ids)),
        "round_s": elapsed,
    }


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["tessera"], required=True)
    parser.add_argument("--postgres", required=True, help="URL of the maintenance database")
    parser.add_argument("--database", required=True, help="name of the database to create")
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    parser.add_argument("--asset", default="a0")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--round-limit", type=float, default=300.0)
    args = parser.parse_args()
    deploy.exit_on_sigterm()

    scratch = Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    env = deploy.tessera_env(scratch, [args.dir])
    started = time.perf_counter()
    try:
        url = deploy.create_database(args.postgres, args.database)
        deploy.run_tessera(["migrate", "--database-url", url], env, scratch / "migrate.log")
        with deploy.stopping([]) as children:
            location_port, server_port = deploy.free_port(), deploy.free_port()
            location = deploy.start_codeloc(args.module, "bench", location_port, env, scratch)
            children.append(location)
            deploy.wait_serving(location_port, location, timeout=120)
            workspace = deploy.write_workspace(scratch / "workspace.yaml", {"bench": location_port})
            server = deploy.start_server(url, server_port, env, scratch, workspace)
            children.append(server)
            client = deploy.Http(server_port)
            try:
                deploy.wait_server(client, server, locations=1, timeout=120)
            finally:
                client.close()

            def round_() -> deploy.Sample:
                return asyncio.run(
                    mixed_round(
                        server_port, args.asset, args.readers, args.launches, args.round_limit
                    )
                )

            deploy.serve({"setup_s": time.perf_counter() - started}, {"round": round_})
    finally:
        deploy.drop_database(args.postgres, args.database)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
