"""Tessera: events per second that the server stores in PostgreSQL from concurrent run workers.

A session driver (see ``bench/session.py``). Set up, not timed: a database of its own on the
PostgreSQL server (``tessera migrate``) and a ``tessera server`` process on it, with its
defaults and no code location. Then, for each ``ingest`` command:

1. not timed: ``--workers`` x ``--runs-per-worker`` runs are created in the server's database
   with ``server.storage.runs.create_run`` (each with a token of its own, the database keeps
   its hash; and for every asset key the events materialize) and marked ``STARTED``, as the
   coordinator leaves a launched run; then
   ``--workers`` worker processes start (``multiprocessing``, spawn), each builds the JSON
   bodies of its batches - the ingest wire format (``IngestBatch``): ``LOG`` events, and every
   ``--materialization-every``-th event an ``ASSET_MATERIALIZATION`` with materialization
   metadata, ``seq`` 3, 4, 5... per run (a worker's first is 3) - and opens its kept-alive
   HTTP connection;
2. ``seconds``: from releasing the workers at once until the last one has had the answer to
   its last batch. Each worker POSTs its batches of ``--batch`` events one after the other to
   ``/api/v1/runs/{run_id}/events`` with ``Authorization: Bearer <token>``, going round its
   runs, and checks every answer (200, all events accepted, none duplicate);
3. not timed: one SQL query counts the events of these runs and the distinct ``(run_id, seq)``
   among them, and the materializations stored for them; all must be exactly what was sent
   (``commit_lag_s``: how long after the last answer that was so, usually 0).

``events_per_s`` is the events sent divided by ``seconds``. At the end (stdin closed) the
server is stopped and the database dropped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import secrets
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.drivers import _deploy as deploy
from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from server.storage import runs as run_store
from server.storage.db import Database
from server.storage.events import FIRST_WORKER_SEQ

LOCATION = "bench_ingest"
ASSET_KEYS = 1_000
"""Materializations go round this many asset keys."""
BENCH_KEYS = [AssetKey(["bench", f"asset_{i}"]) for i in range(ASSET_KEYS)]
"""Those keys: every run is created for all of them."""


@dataclass(frozen=True)
class WorkerPlan:
    port: int
    runs: list[tuple[str, str]]
    """(run_id, token) of the runs this worker reports for."""
    events: int
    batch: int
    materialization_every: int


def event(seq: int, run_index: int, every: int) -> dict[str, Any]:
    now = time.time()
    if seq % every:
        return {
            "seq": seq,
            "timestamp": now,
            "type": "LOG",
            "level": "INFO",
            "step_key": f"asset_{seq % ASSET_KEYS}",
            "message": f"processed chunk {seq} of the input ({seq * 37 % 1000} rows)",
        }
    # Runs go round the keys from different starting points: two runs materialize the same
    # asset now and then, not in lockstep (which would serialize them on its latest row).
    key = ["bench", f"asset_{(run_index * 997 + seq // every) % ASSET_KEYS}"]
    return {
        "seq": seq,
        "timestamp": now,
        "type": "ASSET_MATERIALIZATION",
        "level": "INFO",
        "step_key": key[-1],
        "asset_key": key,
        "message": f"materialized {'/'.join(key)}",
        "materialization": {
            "asset_key": key,
            "metadata": {
                "rows": {"kind": "int", "value": seq * 13 % 10_000},
                "path": {"kind": "path", "value": f"/warehouse/{key[-1]}/{seq}.parquet"},
                "elapsed_s": {"kind": "float", "value": 0.25},
            },
            "tags": {"team": "bench"},
            "code_version": "1",
        },
    }


def bodies(plan: WorkerPlan, worker: int) -> list[tuple[str, str, bytes]]:
    """``(path, token, body)`` of every batch, going round the worker's runs."""
    per_run = plan.events // len(plan.runs)
    next_seq = dict.fromkeys(range(len(plan.runs)), FIRST_WORKER_SEQ)
    out = []
    remaining = plan.events
    while remaining:
        for index, (run_id, token) in enumerate(plan.runs):
            first = next_seq[index]
            count = min(plan.batch, FIRST_WORKER_SEQ + per_run - first, remaining)
            if count <= 0:
                continue
            run_index = worker * len(plan.runs) + index
            events = [
                event(seq, run_index, plan.materialization_every)
                for seq in range(first, first + count)
            ]
            next_seq[index] = first + count
            remaining -= count
            body = json.dumps({"run_id": run_id, "events": events}).encode()
            out.append((f"/api/v1/runs/{run_id}/events", token, body))
    return out


def worker_main(plan: WorkerPlan, worker: int, ready: Barrier, go: Event, results: Any) -> None:
    """One run worker: prepare, wait for the start, POST every batch, report its finish."""
    batches = bodies(plan, worker)
    client = deploy.Http(plan.port)
    try:
        client.get("/api/v1/health")  # opens the connection before the clock starts
        ready.wait()
        go.wait()
        accepted = 0
        for path, token, body in batches:
            status, answer = client.request(
                "POST", path, body, {"Authorization": f"Bearer {token}"}
            )
            if status != 200:
                raise RuntimeError(f"POST {path} answered {status}: {answer[:300]!r}")
            reply = json.loads(answer)
            if reply["duplicates"]:
                raise RuntimeError(f"POST {path}: {reply['duplicates']} duplicates")
            accepted += reply["accepted"]
        results.put((worker, time.perf_counter(), accepted, len(batches), None))
    except Exception as exc:
        results.put((worker, time.perf_counter(), 0, 0, f"{type(exc).__name__}: {exc}"))
    finally:
        client.close()


class Ingest:
    def __init__(self, args: argparse.Namespace, url: str, port: int) -> None:
        self.args = args
        self.database = Database(url)
        self.port = port
        self.context = multiprocessing.get_context("spawn")

    def create_runs(self) -> list[list[tuple[str, str]]]:
        """Per worker, its runs as ``(run_id, token)``, created and marked ``STARTED``."""
        plans = []
        with self.database.transaction() as session:
            for _ in range(self.args.workers):
                runs = []
                for _ in range(self.args.runs_per_worker):
                    run_id, token = str(uuid.uuid4()), secrets.token_urlsafe(24)
                    run_store.create_run(
                        session,
                        run_id=run_id,
                        location=LOCATION,
                        # A run's token materializes only the run's assets: these.
                        asset_keys=BENCH_KEYS,
                        run_config={},
                        tags={},
                        token=token,
                    )
                    run_store.set_status(session, run_id, RunStatus.STARTED)
                    runs.append((run_id, token))
                plans.append(runs)
        return plans

    def measure(self) -> deploy.Sample:
        args = self.args
        run_plans = self.create_runs()
        ready = self.context.Barrier(args.workers + 1)
        go = self.context.Event()
        results = self.context.Queue()
        workers = []
        for index, runs in enumerate(run_plans):
            plan = WorkerPlan(
                self.port, runs, args.events_per_worker, args.batch, args.materialization_every
            )
            process = self.context.Process(
                target=worker_main, args=(plan, index, ready, go, results), daemon=True
            )
            process.start()
            workers.append(process)
        try:
            ready.wait(timeout=300)
            t0 = time.perf_counter()
            go.set()
            reports = [results.get(timeout=3600) for _ in workers]
        finally:
            for process in workers:
                process.join(timeout=60)
                if process.is_alive():
                    process.kill()
                    process.join()
        failures = [error for *_, error in reports if error]
        if failures:
            raise RuntimeError(f"{len(failures)} worker(s) failed: {failures[0]}")
        t1 = max(finished for _, finished, *_ in reports)
        sent = args.workers * args.events_per_worker
        accepted = sum(report[2] for report in reports)
        batches = sum(report[3] for report in reports)
        if accepted != sent:
            raise RuntimeError(f"sent {sent} events, the server accepted {accepted}")
        lag = self.verify([run_id for runs in run_plans for run_id, _ in runs], sent)
        seconds = t1 - t0
        return {
            "seconds": seconds,
            "events": sent,
            "events_per_s": sent / seconds,
            "batches": batches,
            "batch_ms": seconds * 1000 * args.workers / batches,
            "commit_lag_s": lag,
        }

    def verify(self, run_ids: list[str], sent: int) -> float:
        """Every event stored exactly once, and each materialization with it; returns how long
        after the last answer that was so.

        The ingest endpoint answers before its transaction commits (its session ends after
        the response is sent: ``server/api/deps.py:_session``), so the last batches may
        become visible a moment after their answers: the query is repeated for up to 10 s.
        """
        every = self.args.materialization_every
        per_run = self.args.events_per_worker // self.args.runs_per_worker
        expected = (sent, sent, len(run_ids) * (per_run // every))
        started = time.perf_counter()
        for attempt in itertools.count():
            with self.database.transaction() as session:
                row = session.execute(
                    text(
                        "SELECT count(*), count(DISTINCT (run_id, seq)),"
                        " (SELECT count(*) FROM asset_materializations WHERE run_id = ANY(:ids))"
                        " FROM run_events WHERE run_id = ANY(:ids)"
                    ),
                    {"ids": run_ids},
                ).one()
            found = tuple(int(value) for value in row)
            lag = time.perf_counter() - started
            if found == expected:
                return lag if attempt else 0.0
            if lag > 10 or found[0] != found[1] or found[0] > sent:
                raise RuntimeError(
                    "stored (events, distinct (run_id, seq), materializations) = "
                    f"{found}, expected {expected}"
                )
            time.sleep(0.05)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["tessera"], required=True)
    parser.add_argument("--postgres", required=True, help="URL of the maintenance database")
    parser.add_argument("--database", required=True, help="name of the database to create")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--events-per-worker", type=int, default=25_000)
    parser.add_argument("--runs-per-worker", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--materialization-every", type=int, default=10)
    args = parser.parse_args()
    if args.events_per_worker % args.runs_per_worker:
        parser.error("--events-per-worker must be a multiple of --runs-per-worker")
    deploy.exit_on_sigterm()

    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    env = deploy.tessera_env(scratch)
    started = time.perf_counter()
    try:
        url = deploy.create_database(args.postgres, args.database)
        deploy.run_tessera(["migrate", "--database-url", url], env, scratch / "migrate.log")
        with deploy.stopping([]) as children:
            port = deploy.free_port()
            server = deploy.start_server(url, port, env, scratch)
            children.append(server)
            client = deploy.Http(port)
            ingest = Ingest(args, url, port)
            try:
                deploy.wait_server(client, server, locations=0, timeout=120)
                deploy.serve({"setup_s": time.perf_counter() - started}, {"ingest": ingest.measure})
            finally:
                ingest.close()
                client.close()
    finally:
        deploy.drop_database(args.postgres, args.database)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
