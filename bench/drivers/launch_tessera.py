"""Tessera: a 1-asset run launched through the server, from the launch request to ``SUCCESS``.

A session driver (see ``bench/session.py``). Set up, not timed: a database of its own on the
PostgreSQL server (``tessera migrate``), one ``tessera codeloc`` process for the generated
one-asset module, one ``tessera server`` process with that location in its workspace.yaml,
both with their defaults. Then, for each ``launch`` command:

1. a pause of ``--settle`` seconds (not timed), so that each launch starts on a quiet machine
   (the worker of the previous run may still be exiting);
2. ``seconds``: from just before ``POST /api/v1/runs {"selection": ["a0"]}`` until
   ``GET /api/v1/runs/{id}``, polled in a tight loop (2 ms sleep), says ``SUCCESS``;
3. ``call_s``: the ``POST`` alone (the run is created and queued when it answers);
4. not timed, read from the run's events afterwards: where the time went (``to_starting_s``,
   ``to_start_s``, ``to_success_s``, ``to_seen_s``; see ``phases``).

Requests go over one kept-alive HTTP connection (``http.client``). At the end (stdin closed)
the processes are stopped and the database dropped.
"""

from __future__ import annotations

import json
import time

from bench.drivers import _deploy as deploy

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
POLL_S = 0.002
RUN_LIMIT_S = 120.0
"""A backstop for one run; the runner's timeout per launch ends the session before."""


def launch(client: deploy.Http, asset: str, settle: float) -> deploy.Sample:
    time.sleep(settle)
    wall0 = time.time()
    t0 = time.perf_counter()
    status, body = client.post_json("/api/v1/runs", {"selection": [asset]})
    t1 = time.perf_counter()
    if status != 201:
        raise RuntimeError(f"POST /api/v1/runs answered {status}: {body[:300]!r}")
    [run] = json.loads(body)["runs"]
    path = f"/api/v1/runs/{run['run_id']}"
    while True:
        run = client.get_json(path)
        if run["status"] in TERMINAL:
            break
        if time.perf_counter() - t0 > RUN_LIMIT_S:
            raise RuntimeError(f"run {run['run_id']} still {run['status']} after {RUN_LIMIT_S} s")
        time.sleep(POLL_S)
    t2 = time.perf_counter()
    if run["status"] != "SUCCESS":
        raise RuntimeError(f"run {run['run_id']} ended {run['status']}: {run.get('error')}")
    return {"seconds": t2 - t0, "call_s": t1 - t0} | phases(client, path, wall0, t2 - t0)


def phases(client: deploy.Http, path: str, wall0: float, seconds: float) -> deploy.Sample:
    """Where the time went, from the run's event timestamps (read after the run, not timed):
    until ``RUN_STARTING`` (created, queued, claimed), until ``RUN_START`` (launched on the
    location, worker forked), until ``RUN_SUCCESS`` (the run), and until it was seen."""
    stamps: dict[str, float] = {}
    for event in client.get_json(f"{path}/events?limit=1000"):
        stamps.setdefault(event["type"], event["timestamp"])
    starting, start, success = (stamps[t] for t in ("RUN_STARTING", "RUN_START", "RUN_SUCCESS"))
    return {
        "to_starting_s": starting - wall0,
        "to_start_s": start - starting,
        "to_success_s": success - start,
        "to_seen_s": wall0 + seconds - success,
    }


def main() -> None:
    parser = deploy.one_location_arguments()
    parser.add_argument("--settle", type=float, default=0.25)
    args = parser.parse_args()
    deploy.exit_on_sigterm()

    started = time.perf_counter()
    with deploy.one_location(
        args.postgres, args.database, args.dir, args.module, "bench-launch-"
    ) as client:
        deploy.serve(
            {"setup_s": time.perf_counter() - started},
            {"launch": lambda: launch(client, args.asset, args.settle)},
        )


if __name__ == "__main__":
    main()
