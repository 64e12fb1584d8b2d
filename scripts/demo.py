"""The demo: start ``tessera dev`` with the example locations, materialize the two-location
example through the REST API, print what happened, and keep serving until Ctrl-C.

    python scripts/demo.py [--port 3000] [--exit]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import httpx

LOCATIONS = [
    "examples.cross_location.code_location_1",
    "examples.cross_location.code_location_2",
    "examples.cereals",
]


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"tessera dev exited with {process.returncode}")
        try:
            locations = client.get("/api/v1/code-locations").json()
            if len(locations) == len(LOCATIONS) and all(
                loc["status"] == "loaded" for loc in locations
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up in time")


def materialize(client: httpx.Client, selection: str) -> list[dict]:
    answer = client.post("/api/v1/runs", json={"selection": selection})
    if answer.status_code != 201:
        raise SystemExit(f"launch failed: {answer.status_code} {answer.text}")
    runs = answer.json()["runs"]
    pending = {r["run_id"] for r in runs}
    final: dict[str, dict] = {}
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        for run_id in list(pending):
            run = client.get(f"/api/v1/runs/{run_id}").json()
            if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                final[run_id] = run
                pending.discard(run_id)
        time.sleep(0.1)
    return [final.get(r["run_id"], r) for r in runs]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("TESSERA_PORT", 3000)))
    parser.add_argument("--exit", action="store_true", help="stop after printing the result")
    args = parser.parse_args()
    command = [sys.executable, "-m", "server.cli", "dev", "--port", str(args.port)]
    for module in LOCATIONS:
        command += ["-m", module]
    process = subprocess.Popen(command)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client:
            wait_ready(client, process, timeout=120)
            print("\n== materializing code_location_2_asset and its upstream, across locations")
            for run in materialize(client, "+code_location_2_asset"):
                keys = ", ".join("/".join(k) for k in run["asset_keys"])
                took = (run["ended_at"] or 0) - (run["created_at"] or 0)
                print(
                    f"  run {run['run_id'][:8]} in {run['location']}: {run['status']} "
                    f"({keys}) in {took * 1000:.0f} ms"
                )
            asset = client.get("/api/v1/assets/code_location_2_asset").json()
            latest = asset["latest_materialization"]
            print(
                f"  code_location_2_asset: upstream {asset['deps']}, "
                f"materialized by run {latest['run_id'][:8] if latest else None}, "
                f"stale={asset['stale']}"
            )
            data = os.environ.get("TESSERA_EXAMPLE_DATA", "data")
            with open(os.path.join(data, "code_location_2_asset.json")) as f:
                print(f"  {data}/code_location_2_asset.json holds {f.read().strip()}")
            if args.exit:
                return 0
            print(f"\nTessera is running at http://127.0.0.1:{args.port}  (Ctrl-C to stop)")
            process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
