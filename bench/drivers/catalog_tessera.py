"""Tessera: the REST catalog of a large merged graph, and how fast it follows a changed location.

A session driver (see ``bench/session.py``). Set up once, not timed (the ready line reports
each step's seconds): a database of its own on the PostgreSQL server (``tessera migrate``);
``--locations`` ``tessera codeloc`` processes, one per generated module of ``--assets`` assets
(``bench/catalog_modules.py``); meanwhile ``--materializations`` rows COPYed into
``asset_materializations``, spread evenly over every asset key (each key's history in
timestamp order, upstream before downstream), and ``latest_materializations`` filled from
them with one ``INSERT ... SELECT DISTINCT ON`` - the rows the server's ingest writes for
those materializations (runs and run events are not written: no measured request reads
them); then a ``tessera server`` with every location in its workspace.yaml, defaults
otherwise; then one ``GET /api/v1/assets?limit=100``, which computes the staleness of the
whole graph (``first_request_s``).

Each command takes one measurement, in seconds, over one kept-alive HTTP connection
(``http.client``; timed until the whole body is read, not parsed):

- ``assets_page``: ``GET /api/v1/assets?limit=100``, the first page, then the next page from
  each answer's cursor (from the first page again after the last);
- ``asset``: ``GET /api/v1/assets/{key}`` of a random key;
- ``materializations``: ``GET /api/v1/assets/{key}/materializations?limit=50``, random key;
- ``graph``: ``GET /api/v1/asset-graph`` (every node and edge of the merged graph);
- ``merge``: ``MergedGraph(snapshots)`` built in this process from the snapshots of every
  location (fetched once at setup with ``CodeLocationClient``): the server's rebuild alone;
- ``restart``: location ``l0`` is stopped and started again with one more asset (a new key);
  from its health check saying ``SERVING`` (its new server id exists) - then
  ``POST /api/v1/code-locations/l0/reload`` (``reload_s`` until it answers) - until
  ``GET /api/v1/assets/<new key>`` answers 200 (polled every 2 ms): snapshot fetch, merged
  graph rebuild, and the staleness of the new graph computed by that first request;
- ``after_materialization``: one ``ASSET_MATERIALIZATION`` is POSTed for a random key through
  the ingest endpoint and awaited until its materializations list shows it (not timed), then
  ``GET /api/v1/assets/{key}`` of that key is timed: the first request after a new
  materialization brings staleness up to date (the key and what is downstream of it);
- ``graph_after_materialization``: the same, then ``GET /api/v1/asset-graph`` is timed: the
  statuses of the whole body are written anew.

At the end (stdin closed) every process is stopped and the database dropped.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.drivers import _deploy as deploy
from codeloc._key import AssetKey
from codeloc._runs import RunStatus
from codeloc._snapshot import LocationSnapshot
from codeloc.grpc._security import ClientSecurity
from codeloc.grpc.client import CodeLocationClient
from server.storage import runs as run_store
from server.storage.db import Database
from server.storage.events import FIRST_WORKER_SEQ
from server.workspace.graph import MergedGraph

EXTRA_ENV = "BENCH_CATALOG_EXTRA"
"""Set for a restarted location: its module defines one more asset of that name."""
DAY = 86_400.0
COPY_CHUNK = 20_000
POLL_S = 0.002
COPY_MATERIALIZATIONS = (
    "COPY asset_materializations (asset_key, run_id, event_seq, timestamp, code_version,"
    " data_version, metadata, tags) FROM STDIN"
)
FILL_LATEST = (
    "INSERT INTO latest_materializations (materialization_id, asset_key, run_id, timestamp,"
    " code_version, data_version, metadata, tags)"
    " SELECT DISTINCT ON (asset_key) id, asset_key, run_id, timestamp, code_version,"
    " data_version, metadata, tags FROM asset_materializations"
    " ORDER BY asset_key, timestamp DESC, id DESC"
)


def module_name(locations: int, n: int, index: int) -> str:
    return f"catalog_{locations}x{n}_l{index}"


class Catalog:
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch
        self.env = deploy.tessera_env(scratch, [args.dir])
        self.names = [f"l{j}" for j in range(args.locations)]
        self.keys = [f"l{j}_a{i}" for j in range(args.locations) for i in range(args.assets)]
        self.random = random.Random(args.seed)
        self.children: list[deploy.Child] = []
        self.locations: dict[str, tuple[deploy.Child, int]] = {}
        self.snapshots: dict[str, LocationSnapshot] = {}
        self.client = deploy.Http(deploy.free_port())
        self.url = ""
        self.database: Database | None = None
        self.cursor: str | None = None
        self.restarts = 0
        self.run: tuple[str, str, int] = ("", "", 0)
        """The run that the ``after_materialization`` events belong to: id, token, last seq."""

    # -- setup ---------------------------------------------------------------------------------

    def setup(self) -> dict[str, Any]:
        timings: dict[str, Any] = {}
        t0 = time.perf_counter()
        self.url = deploy.create_database(self.args.postgres, self.args.database)
        deploy.run_tessera(
            ["migrate", "--database-url", self.url], self.env, self.scratch / "migrate.log"
        )
        t1 = time.perf_counter()
        for index, name in enumerate(self.names):
            self._start_location(index, name, deploy.free_port())
        self._load_materializations()
        t2 = time.perf_counter()
        for child, port in self.locations.values():
            deploy.wait_serving(port, child, timeout=600)
        t3 = time.perf_counter()
        workspace = deploy.write_workspace(
            self.scratch / "workspace.yaml", {n: port for n, (_, port) in self.locations.items()}
        )
        server = deploy.start_server(self.url, self.client.port, self.env, self.scratch, workspace)
        self.children.append(server)
        deploy.wait_server(self.client, server, locations=len(self.names), timeout=600)
        t4 = time.perf_counter()
        first, _ = self._timed_get("/api/v1/assets?limit=100")
        self._fetch_snapshots()
        self._create_run()
        timings |= {
            "locations": len(self.names),
            "assets": len(self.keys),
            "materializations": self.args.materializations,
            "migrate_s": t1 - t0,
            "load_materializations_s": t2 - t1,
            "locations_serving_s": t3 - t1,
            "server_loaded_s": t4 - t3,
            "first_request_s": first["seconds"],
        }
        return timings

    def _start_location(self, index: int, name: str, port: int, extra: str = "") -> None:
        module = module_name(self.args.locations, self.args.assets, index)
        env = self.env | ({EXTRA_ENV: extra} if extra else {})
        child = deploy.start_codeloc(module, name, port, env, self.scratch)
        self.children.append(child)
        self.locations[name] = (child, port)

    def _load_materializations(self) -> None:
        """COPY the materializations, then the latest of each key, as ingest would leave them."""
        total, keys = self.args.materializations, self.keys
        base = time.time() - DAY * (total // len(keys) + 1)
        with psycopg.connect(deploy.libpq_url(self.url)) as connection:
            with connection.cursor() as cursor, cursor.copy(COPY_MATERIALIZATIONS) as copy:
                lines: list[str] = []
                for number in range(total):
                    round_, index = divmod(number, len(keys))
                    location, asset = divmod(index, self.args.assets)
                    key = keys[index]
                    run_id = uuid.UUID(int=round_ * 1_000 + location + 1)
                    metadata = (
                        f'{{"rows": {{"kind": "int", "value": {number % 9973}}}, "path": '
                        f'{{"kind": "path", "value": "/warehouse/{key}/{round_}.parquet"}}}}'
                    )
                    timestamp = base + round_ * DAY + index * 0.001
                    lines.append(
                        f"{key}\t{run_id}\t{asset + 3}\t{timestamp!r}\t1\t\\N\t{metadata}\t{{}}\n"
                    )
                    if len(lines) == COPY_CHUNK:
                        copy.write("".join(lines))
                        lines.clear()
                copy.write("".join(lines))
            connection.execute(FILL_LATEST)
            connection.commit()
            connection.autocommit = True
            connection.execute("ANALYZE")

    def _fetch_snapshots(self) -> None:
        for name, (_, port) in self.locations.items():
            security = ClientSecurity.from_env(self.env)
            location = CodeLocationClient(f"127.0.0.1:{port}", security=security)
            try:
                self.snapshots[name] = location.snapshot()
            finally:
                location.close()

    def _create_run(self) -> None:
        self.database = Database(self.url)
        run_id, token = str(uuid.uuid4()), secrets.token_urlsafe(24)
        with self.database.transaction() as session:
            run_store.create_run(
                session,
                run_id=run_id,
                location=self.names[0],
                # A run's token materializes only the run's assets: any key of the catalog.
                asset_keys=[AssetKey(key) for key in self.keys],
                run_config={},
                tags={},
                token=token,
            )
            run_store.set_status(session, run_id, RunStatus.STARTED)
        self.run = (run_id, token, FIRST_WORKER_SEQ - 1)

    def close(self) -> None:
        self.client.close()
        if self.database is not None:
            self.database.dispose()
        for child in reversed(self.children):
            child.stop()

    # -- measurements --------------------------------------------------------------------------

    def _timed_get(self, path: str) -> tuple[deploy.Sample, bytes]:
        t0 = time.perf_counter()
        status, body = self.client.get(path)
        t1 = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return {"seconds": t1 - t0, "mb": len(body) / 1e6}, body

    def assets_page(self) -> deploy.Sample:
        path = "/api/v1/assets?limit=100"
        if self.cursor:
            path += f"&cursor={self.cursor}"
        sample, body = self._timed_get(path)
        page = json.loads(body)
        if len(page["assets"]) != min(100, page["total"]):
            raise RuntimeError(f"a page of {len(page['assets'])} assets")
        self.cursor = page["next_cursor"]
        return sample

    def asset(self) -> deploy.Sample:
        return self._timed_get(f"/api/v1/assets/{self.random.choice(self.keys)}")[0]

    def materializations(self) -> deploy.Sample:
        key = self.random.choice(self.keys)
        return self._timed_get(f"/api/v1/assets/{key}/materializations?limit=50")[0]

    def graph(self) -> deploy.Sample:
        sample, body = self._timed_get("/api/v1/asset-graph")
        nodes = len(json.loads(body)["nodes"])
        if nodes < len(self.keys):
            raise RuntimeError(f"asset-graph has {nodes} nodes, expected {len(self.keys)}")
        return sample | {"nodes": nodes}

    def merge(self) -> deploy.Sample:
        t0 = time.perf_counter()
        graph = MergedGraph(self.snapshots)
        t1 = time.perf_counter()
        if len(graph) != len(self.keys):
            raise RuntimeError(f"merged graph has {len(graph)} keys, expected {len(self.keys)}")
        return {"seconds": t1 - t0}

    def restart(self) -> deploy.Sample:
        name = self.names[0]
        child, port = self.locations[name]
        child.stop()
        self.children.remove(child)
        self.restarts += 1
        extra = f"{name}_changed_{self.restarts}"
        self._start_location(0, name, port, extra)
        deploy.wait_serving(port, self.locations[name][0], timeout=600)
        t0 = time.perf_counter()
        status, body = self.client.request("POST", f"/api/v1/code-locations/{name}/reload")
        t1 = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"reload answered {status}: {body[:300]!r}")
        while True:
            status, body = self.client.get(f"/api/v1/assets/{extra}")
            if status == 200:
                break
            if status != 404 or time.perf_counter() - t0 > 300:
                raise RuntimeError(f"GET /api/v1/assets/{extra} answered {status}: {body[:200]!r}")
            time.sleep(POLL_S)
        t2 = time.perf_counter()
        return {"seconds": t2 - t0, "reload_s": t1 - t0}

    def after_materialization(self) -> deploy.Sample:
        key = self._materialize_random()
        return self._timed_get(f"/api/v1/assets/{key}")[0]

    def graph_after_materialization(self) -> deploy.Sample:
        self._materialize_random()
        return self._timed_get("/api/v1/asset-graph")[0]

    def _materialize_random(self) -> str:
        """One new materialization of a random key, stored (not timed)."""
        key = self.random.choice(self.keys)
        run_id, token, seq = self.run
        seq += 1
        self.run = (run_id, token, seq)
        timestamp = time.time()
        event = {
            "seq": seq,
            "timestamp": timestamp,
            "type": "ASSET_MATERIALIZATION",
            "asset_key": [key],
            "materialization": {
                "asset_key": [key],
                "metadata": {"rows": {"kind": "int", "value": seq}},
                "code_version": "1",
            },
        }
        status, body = self.client.post_json(
            f"/api/v1/runs/{run_id}/events",
            {"run_id": run_id, "events": [event]},
            {"Authorization": f"Bearer {token}"},
        )
        if status != 200 or json.loads(body)["accepted"] != 1:
            raise RuntimeError(f"ingest answered {status}: {body[:300]!r}")
        self._wait_stored(key, timestamp)
        return key

    def _wait_stored(self, key: str, timestamp: float) -> None:
        """Until the new materialization is visible (not timed). The ingest endpoint answers
        after its commit, so this is one request; it guards against an answer sent early."""
        deadline = time.perf_counter() + 30
        path = f"/api/v1/assets/{key}/materializations?limit=1"
        while time.perf_counter() < deadline:
            [latest] = json.loads(self.client.get(path)[1])["materializations"]
            if latest["timestamp"] == timestamp:
                return
            time.sleep(POLL_S)
        raise RuntimeError(f"the materialization of {key} was not stored within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["tessera"], required=True)
    parser.add_argument("--postgres", required=True, help="URL of the maintenance database")
    parser.add_argument("--database", required=True, help="name of the database to create")
    parser.add_argument("--dir", required=True, help="directory holding the generated modules")
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--assets", type=int, default=10_000, help="per location")
    parser.add_argument("--materializations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    deploy.exit_on_sigterm()

    scratch = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    catalog = Catalog(args, scratch)
    try:
        ready = catalog.setup()
        deploy.serve(
            ready,
            {
                "assets_page": catalog.assets_page,
                "asset": catalog.asset,
                "materializations": catalog.materializations,
                "graph": catalog.graph,
                "merge": catalog.merge,
                "restart": catalog.restart,
                "after_materialization": catalog.after_materialization,
                "graph_after_materialization": catalog.graph_after_materialization,
            },
        )
    finally:
        catalog.close()
        deploy.drop_database(args.postgres, args.database)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
