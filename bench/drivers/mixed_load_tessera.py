"""Tessera: 50 readers of the catalog while 200 runs are launched at once.

A session driver (see ``bench/session.py``). Set up, not timed: a database of its own on the
PostgreSQL server (``tessera migrate``), one ``tessera codeloc`` process for the generated
module, one ``tessera server`` process with that location in its workspace.yaml, both with
their defaults. Then, for each ``round`` command, with ``httpx.AsyncClient``s (one connection
per concurrent request, a 30 s timeout, as a browser or a script would time out), each kind
of client in processes of its own (``READER_PROCESSES`` for the readers):

1. ``--readers`` tasks each ``GET /api/v1/assets?limit=100`` in a loop, one request after the
   other, from 2 s before the launches until every launched run has ended;
2. ``--launches`` ``POST /api/v1/runs {"selection": ["a0"]}``, all sent at once;
3. one prober ``GET /api/v1/health`` every 50 ms, as long as the readers;
4. the round ends when every launched run has ended (polled every 250 ms on one connection,
   ``GET /api/v1/runs?status=…``), or after ``--round-limit`` seconds.

Reported per round: ``seconds`` (the read p99), ``read_p50_s``, ``launch_p50_s``,
``launch_p99_s``, ``health_p99_s``, ``errors`` (answers other than 2xx, timeouts, connection
failures and runs that did not succeed; the first 20 go to stderr), ``reads`` (how many were
made), ``runs`` and ``round_s`` (from the launches until the last run ended).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from typing import Any

import httpx

from bench.drivers import _deploy as deploy
from bench.model import percentile

TIMEOUT_S = 30.0
HEALTH_EVERY_S = 0.05
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")
READER_PROCESSES = 5
"""The readers are spread over processes, as are the launches and the prober: one process of
httpx clients with 250 requests in flight measured its own event loop (an outside ``curl``
saw ``/health`` answer in 0.7 s at worst while that process timed it at 10 s)."""


class Requests:
    """The latencies of one kind of request, and what went wrong with them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.errors: list[str] = []

    async def timed(
        self, client: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = await client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.seconds.append(time.perf_counter() - started)
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None
        self.seconds.append(time.perf_counter() - started)
        if not answer.is_success:
            self.errors.append(f"{method} {path}: {answer.status_code} {answer.text[:120]}")
            return None
        return answer


def _client(port: int, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=None)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT_S, limits=limits)


async def _until(stop: Any, work: Any, tasks: int) -> None:
    async def loop() -> None:
        while not stop.is_set():
            await work()

    await asyncio.gather(*(loop() for _ in range(tasks)))


def _readers(port: int, tasks: int, stop: Any, out: Any) -> None:
    async def main() -> Requests:
        reads = Requests()
        async with _client(port, tasks) as client:
            await _until(
                stop,
                lambda: reads.timed(client, "GET", "/api/v1/assets", params={"limit": 100}),
                tasks,
            )
        return reads

    reads = asyncio.run(main())
    out.put(("reads", reads.seconds, reads.errors))


def _prober(port: int, stop: Any, out: Any) -> None:
    async def main() -> Requests:
        health = Requests()
        async with _client(port, 1) as client:

            async def probe() -> None:
                await health.timed(client, "GET", "/api/v1/health")
                await asyncio.sleep(HEALTH_EVERY_S)

            await _until(stop, probe, 1)
        return health

    health = asyncio.run(main())
    out.put(("health", health.seconds, health.errors))


def _launcher(port: int, asset: str, launches: int, out: Any) -> None:
    async def main() -> tuple[Requests, list[str]]:
        posts, run_ids = Requests(), []
        async with _client(port, launches) as client:

            async def launch() -> None:
                answer = await posts.timed(
                    client, "POST", "/api/v1/runs", json={"selection": [asset]}
                )
                if answer is not None:
                    run_ids.extend(run["run_id"] for run in answer.json()["runs"])

            await asyncio.gather(*(launch() for _ in range(launches)))
        return posts, run_ids

    posts, run_ids = asyncio.run(main())
    out.put(("launches", posts.seconds, posts.errors))
    out.put(("run_ids", run_ids, []))


def _wait_ended(port: int, run_ids: list[str], limit: float) -> list[str]:
    """Until every run has ended; the errors of the runs that did not succeed."""
    deadline = time.monotonic() + limit
    client = deploy.Http(port)
    try:
        while time.monotonic() < deadline:
            time.sleep(0.25)
            with contextlib.suppress(OSError, RuntimeError):
                query = "status=" + ",".join(TERMINAL) + "&limit=1000"
                ended = {r["run_id"]: r for r in client.get_json(f"/api/v1/runs?{query}")["runs"]}
                if ended.keys() >= set(run_ids):
                    return [
                        f"run {i} {ended[i]['status']}: {ended[i]['error']}"
                        for i in run_ids
                        if ended[i]["status"] != "SUCCESS"
                    ]
        return [f"runs not ended after {limit} s"]
    finally:
        client.close()


def mixed_round(port: int, asset: str, readers: int, launches: int, limit: float) -> Any:
    context = multiprocessing.get_context("spawn")
    stop, out = context.Event(), context.Queue()
    per_process = [len(range(i, readers, READER_PROCESSES)) for i in range(READER_PROCESSES)]
    background = [
        context.Process(target=_readers, args=(port, n, stop, out)) for n in per_process if n
    ]
    background.append(context.Process(target=_prober, args=(port, stop, out)))
    for process in background:
        process.start()
    time.sleep(2.0)  # the readers are reading when the launches arrive
    started = time.perf_counter()
    launcher = context.Process(target=_launcher, args=(port, asset, launches, out))
    launcher.start()
    results: dict[str, tuple[list[Any], list[str]]] = {}
    while "run_ids" not in results:
        kind, values, errors = out.get(timeout=limit)
        results[kind] = (values, errors)
    launcher.join()
    run_errors = _wait_ended(port, results["run_ids"][0], limit)
    elapsed = time.perf_counter() - started
    stop.set()
    reads: list[float] = []
    errors = [*results["launches"][1], *run_errors]
    for _ in background:
        kind, values, kind_errors = out.get(timeout=TIMEOUT_S * 2)
        if kind == "reads":
            reads += values
        results[kind] = (values, kind_errors)
        errors += kind_errors
    for process in background:
        process.join()
    for error in errors[:20]:
        deploy.log(error)
    return {
        "seconds": _p(reads, 99),
        "read_p50_s": _p(reads, 50),
        "launch_p50_s": _p(results["launches"][0], 50),
        "launch_p99_s": _p(results["launches"][0], 99),
        "health_p99_s": _p(results["health"][0], 99),
        "errors": float(len(errors)),
        "reads": float(len(reads)),
        "runs": float(len(results["run_ids"][0])),
        "round_s": elapsed,
    }


def _p(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


def main() -> None:
    parser = deploy.one_location_arguments()
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--round-limit", type=float, default=300.0)
    args = parser.parse_args()
    deploy.exit_on_sigterm()

    started = time.perf_counter()
    with deploy.one_location(
        args.postgres, args.database, args.dir, args.module, "bench-mixed-"
    ) as client:

        def round_() -> deploy.Sample:
            return mixed_round(
                client.port, args.asset, args.readers, args.launches, args.round_limit
            )

        deploy.serve({"setup_s": time.perf_counter() - started}, {"round": round_})


if __name__ == "__main__":
    main()
