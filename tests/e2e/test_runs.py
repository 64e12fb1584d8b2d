"""Runs end to end: real ``tessera codeloc`` processes, a real ``tessera server`` process,
on SQLite and on PostgreSQL. Everything goes through the REST API, as a user's would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from codeloc.grpc.client import CodeLocationClient

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "tests" / "resources"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A child process whose output is kept, stopped at the end of the test."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.output: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.output):
                if text in line:
                    return line
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"never saw {text!r}:\n{''.join(self.output[-40:])}")

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        self.popen.wait(timeout=30)
        self._finish()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_group()
                return
        self._finish()

    def _finish(self) -> None:
        self._reader.join(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class Deployment:
    """Code locations and a server, as processes, sharing one database."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.env = dict(os.environ)
        self.env.update(
            TESSERA_HOME=str(tmp / "home"),
            TESSERA_STORAGE=str(tmp / "storage"),
            TESSERA_TEST_MARKS=str(tmp / "marks"),
            TESSERA_EXAMPLE_DATA=str(tmp / "data"),
            TESSERA_LOCATION_POLL_SECONDS="0.2",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(RESOURCES)]),
        )
        self.locations: dict[str, tuple[Process, int]] = {}
        self.workers: list[Process] = []
        #: called once every process has stopped
        self.after_close: list[Callable[[], None]] = []
        self.servers: list[Process] = []
        self.clients: list[httpx.Client] = []
        self.port = free_port()

    def location(self, name: str, module: str, port: int | None = None, *args: str) -> int:
        port = port or free_port()
        process = Process(
            ["codeloc", "-m", module, "--name", name, "--port", str(port), *args],
            self.env,
            self.tmp,
        )
        process.wait_for_line(f"serving {name} on")
        self.locations[name] = (process, port)
        return port

    def celery_worker(self, module: str) -> None:
        process = Process(["celery-worker", "-m", module, "--concurrency", "2"], self.env, self.tmp)
        process.wait_for_line("celery worker")
        self.workers.append(process)

    def server(self, port: int | None = None, **env: str) -> httpx.Client:
        workspace = self.tmp / "workspace.yaml"
        workspace.write_text(
            "locations:\n"
            + "".join(
                f"  - name: {n}\n    grpc: 127.0.0.1:{p}\n" for n, (_, p) in self.locations.items()
            )
        )
        if not self.servers:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "migrate",
                    "--database-url",
                    self.database_url,
                ],
                env=self.env,
                check=True,
                capture_output=True,
            )
        server_env = {**self.env, **env}
        process = Process(
            [
                "server",
                "--workspace",
                str(workspace),
                "--database-url",
                self.database_url,
                "--port",
                str(port or self.port),
            ],
            server_env,
            self.tmp,
        )
        self.servers.append(process)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port or self.port}", timeout=30)
        self.clients.append(client)
        wait_for(lambda: _healthy(client), timeout=60, what="server health")
        wait_for(
            lambda: all(
                loc["status"] == "loaded" for loc in client.get("/api/v1/code-locations").json()
            ),
            what="locations loaded",
        )
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for process in self.servers:
            process.stop()
        for process, _ in self.locations.values():
            process.stop()
        for process in self.workers:
            process.stop()
        for callback in self.after_close:
            callback()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (ended, its parent yet to reap it) does not."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/api/v1/health").status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


def launch(client: httpx.Client, selection: Any, **body: Any) -> list[dict[str, Any]]:
    answer = client.post("/api/v1/runs", json={"selection": selection, **body})
    assert answer.status_code == 201, answer.text
    runs: list[dict[str, Any]] = answer.json()["runs"]
    return runs


def run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
    return answer


def wait_end(client: httpx.Client, run_id: str, timeout: float = 60) -> dict[str, Any]:
    ended: dict[str, Any] = wait_for(
        lambda: (r := run(client, run_id))["status"] in TERMINAL and r,
        timeout=timeout,
        what=f"run {run_id} to end",
    )
    return ended


def events(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = client.get(
        f"/api/v1/runs/{run_id}/events", params={"limit": 10000}
    ).json()
    return answer


def types(evts: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in evts]


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tessera.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    deployment = Deployment(tmp_path, url)
    yield deployment
    deployment.close()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    import secrets

    from sqlalchemy import create_engine, text

    base = os.environ.get(
        "TESSERA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tessera_e2e_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- the tests -------------------------------------------------------------------------------


def test_examples_with_config_logs_metadata_and_code_versions(deployment: Deployment) -> None:
    deployment.location("cereals", "examples.cereals")
    deployment.location("runs", "runs_assets")
    client = deployment.server()
    [cereal_run] = launch(
        client,
        "location:cereals",
        run_config={"ops": {"top_cereals": {"config": {"limit": 2}}}},
        tags={"team": "data"},
    )
    done = wait_end(client, cereal_run["run_id"])
    assert done["status"] == "SUCCESS", done
    assert done["tags"] == {"team": "data"}
    evts = events(client, cereal_run["run_id"])
    assert [e["seq"] for e in evts] == list(range(1, len(evts) + 1))
    assert types(evts)[:3] == ["RUN_QUEUED", "RUN_STARTING", "RUN_START"]
    assert types(evts)[-1] == "RUN_SUCCESS"
    assert any(e["type"] == "LOG" and "loaded 7 cereals" in e["message"] for e in evts)
    assert types(evts).count("ASSET_MATERIALIZATION") == 6
    cereals = client.get("/api/v1/assets/cereals").json()
    assert cereals["latest_materialization"]["code_version"] == "1"
    assert cereals["latest_materialization"]["metadata"]["rows"] == {"kind": "int", "value": 7}
    assert cereals["stale"] is False
    report = client.get("/api/v1/assets/cereal_report/materializations").json()
    [latest] = report["materializations"]
    assert latest["metadata"]["preview"]["value"].startswith("Top: ")
    assert latest["run_id"] == cereal_run["run_id"]

    [measured] = launch(client, ["measured"])
    assert wait_end(client, measured["run_id"])["status"] == "SUCCESS"
    evts = events(client, measured["run_id"])
    logs = [e["message"] for e in evts if e["type"] == "LOG"]
    assert any("to stdout from a step" in m for m in logs)
    assert any("to stderr from a step" in m for m in logs)
    # PostgreSQL text holds no NUL: stored as U+FFFD rather than refused.
    assert any("binary \ufffd output" in m for m in logs)
    mat = client.get("/api/v1/assets/measured").json()["latest_materialization"]
    assert mat["code_version"] == "7"
    assert mat["metadata"]["rows"]["value"] == 3


def test_a_location_whose_runs_execute_on_celery_workers(
    deployment: Deployment, celery_broker: str, delete_celery_queue: Callable[[str], None]
) -> None:
    queue = f"tessera.e2e.{uuid.uuid4().hex[:12]}"
    deployment.after_close.append(lambda: delete_celery_queue(queue))
    deployment.env.update(TESSERA_CELERY_BROKER=celery_broker, TESSERA_CELERY_QUEUE=queue)
    deployment.celery_worker("celery_assets")
    deployment.location("celery", "celery_assets", None, "--executor", "celery")
    client = deployment.server()

    [joined] = launch(client, "*joined")
    done = wait_end(client, joined["run_id"])
    assert done["status"] == "SUCCESS", events(client, joined["run_id"])
    evts = events(client, joined["run_id"])
    assert [e["seq"] for e in evts] == list(range(1, len(evts) + 1))
    assert types(evts).count("STEP_SUCCESS") == 4
    assert any(
        e["type"] == "LOG" and e["step_key"] == "source" and e["message"] == "printed by source"
        for e in evts
    )
    # Executed by the Celery worker (default node name tessera.PID@HOST), not by the location.
    assert any("of worker tessera." in e["message"] for e in evts if e["type"] == "LOG")
    latest = client.get("/api/v1/assets/joined").json()["latest_materialization"]
    assert (latest["code_version"], latest["metadata"]["product"]["value"]) == ("3", 6)

    # A run's tag overrides the location's executor: this one runs in the location.
    [local] = launch(client, ["source"], tags={"tessera/executor": "in_process"})
    assert wait_end(client, local["run_id"])["status"] == "SUCCESS"
    logs = [e["message"] for e in events(client, local["run_id"]) if e["type"] == "LOG"]
    assert any(m.endswith("of worker None") for m in logs), logs

    [broken] = launch(client, ["broken", "after_broken"])
    assert wait_end(client, broken["run_id"])["status"] == "FAILURE"
    [failure] = [e for e in events(client, broken["run_id"]) if e["type"] == "STEP_FAILURE"]
    assert "this asset always fails" in failure["error"]

    # A long step reports while it runs, and a cancel stops it on the Celery worker.
    [sleepy] = launch(client, ["sleepy"])
    started = wait_for(
        lambda: [
            e
            for e in events(client, sleepy["run_id"])
            if e["type"] == "LOG" and e["message"].startswith("sleeping in process")
        ],
        what="the sleeping step's log while it runs",
    )
    assert run(client, sleepy["run_id"])["status"] == "STARTED"
    pid = int(started[0]["message"].rsplit(" ", 1)[1])
    client.post(f"/api/v1/runs/{sleepy['run_id']}/cancel")
    assert wait_end(client, sleepy["run_id"], timeout=30)["status"] == "CANCELED"
    wait_for(lambda: not _alive(pid), timeout=10, what=f"the step's process {pid} to end")


def test_retries(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    client = deployment.server()
    [flaky] = launch(client, ["flaky"])
    assert wait_end(client, flaky["run_id"])["status"] == "SUCCESS"
    evts = types(events(client, flaky["run_id"]))
    assert evts.count("STEP_UP_FOR_RETRY") == 1
    assert evts.count("STEP_START") == 2
    assert "STEP_FAILURE" not in evts


def test_failing_asset_fails_the_run_with_its_error(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    client = deployment.server()
    [failed] = launch(client, ["broken"])
    done = wait_end(client, failed["run_id"])
    assert done["status"] == "FAILURE"
    [failure] = [e for e in events(client, failed["run_id"]) if e["type"] == "STEP_FAILURE"]
    assert "this asset always fails" in failure["message"]
    assert "Traceback" in failure["error"]


def test_cross_location_pair_runs_in_order(deployment: Deployment) -> None:
    deployment.location("code_location_1", "examples.cross_location.code_location_1")
    deployment.location("code_location_2", "examples.cross_location.code_location_2")
    client = deployment.server()
    up, down = launch(client, "+code_location_2_asset")
    assert (up["location"], down["location"]) == ("code_location_1", "code_location_2")
    assert down["depends_on"] == [up["run_id"]]
    up_done = wait_end(client, up["run_id"])
    down_done = wait_end(client, down["run_id"])
    assert up_done["status"] == down_done["status"] == "SUCCESS"
    assert down_done["started_at"] >= up_done["ended_at"]
    data = deployment.tmp / "data" / "code_location_2_asset.json"
    assert data.read_text().strip() == "11"
    asset = client.get("/api/v1/assets/code_location_2_asset").json()
    assert asset["stale"] is False


def test_failing_upstream_location_cancels_downstream(deployment: Deployment) -> None:
    deployment.location("up", "runs_upstream")
    deployment.location("down", "runs_downstream")
    client = deployment.server()
    up, down = launch(client, "+downstream_of_failure")
    assert wait_end(client, up["run_id"])["status"] == "FAILURE"
    done = wait_end(client, down["run_id"])
    assert done["status"] == "CANCELED"
    assert up["run_id"] in done["error"]
    assert done["started_at"] is None


def test_cancel_queued_and_running(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    client = deployment.server(TESSERA_MAX_CONCURRENT_RUNS="1")
    slow_config = {"ops": {"slow": {"config": {"seconds": 30}}}}
    [running] = launch(client, ["slow"], run_config=slow_config)
    [queued] = launch(client, ["slow"], run_config=slow_config)
    wait_for(lambda: run(client, running["run_id"])["status"] == "STARTED", what="started")
    assert run(client, queued["run_id"])["status"] == "QUEUED"
    assert run(client, queued["run_id"])["queue_position"] == 1

    canceled = client.post(f"/api/v1/runs/{queued['run_id']}/cancel").json()
    assert canceled["status"] == "CANCELED"
    assert types(events(client, queued["run_id"]))[-1] == "RUN_CANCELED"

    answer = client.post(f"/api/v1/runs/{running['run_id']}/cancel").json()
    assert answer["status"] in ("CANCELING", "CANCELED")
    done = wait_end(client, running["run_id"], timeout=20)
    assert done["status"] == "CANCELED"
    assert "ASSET_MATERIALIZATION" not in types(events(client, running["run_id"]))
    # Terminal means terminal: canceling again changes nothing.
    again = client.post(f"/api/v1/runs/{running['run_id']}/cancel").json()
    assert again["status"] == "CANCELED"


def test_worker_killed_with_sigkill(deployment: Deployment) -> None:
    port = deployment.location("runs", "runs_assets")
    client = deployment.server()
    [slow] = launch(client, ["slow"], run_config={"ops": {"slow": {"config": {"seconds": 30}}}})
    wait_for(lambda: run(client, slow["run_id"])["status"] == "STARTED", what="started")
    with CodeLocationClient(f"127.0.0.1:{port}") as location:
        [state] = [r for r in location.runs() if r.run_id == slow["run_id"]]
    os.kill(state.pid, signal.SIGKILL)
    done = wait_end(client, slow["run_id"], timeout=20)
    assert done["status"] == "FAILURE"
    assert "signal 9" in done["error"] or "SIGKILL" in done["error"], done["error"]


def test_location_restarted_mid_run(deployment: Deployment) -> None:
    port = deployment.location("runs", "runs_assets")
    client = deployment.server()
    [slow] = launch(client, ["slow"], run_config={"ops": {"slow": {"config": {"seconds": 30}}}})
    wait_for(lambda: run(client, slow["run_id"])["status"] == "STARTED", what="started")
    before = client.get("/api/v1/code-locations/runs").json()["server_id"]
    process, _ = deployment.locations["runs"]
    process.kill_group()
    deployment.location("runs", "runs_assets", port=port)
    wait_for(
        lambda: client.get("/api/v1/code-locations/runs").json()["server_id"] != before,
        what="the server to see the new server id",
    )
    done = wait_end(client, slow["run_id"], timeout=30)
    assert done["status"] == "FAILURE"
    # Whoever notices first says so: the server (a new server id) or the restarted location
    # (the worker's spool ends without a last event).
    assert "restarted" in done["error"] or "worker ended" in done["error"], done["error"]
    assert "ASSET_MATERIALIZATION" not in types(events(client, slow["run_id"]))


def test_server_restart_mid_run_loses_nothing(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    client = deployment.server()
    config = {"ops": {"chatty": {"config": {"lines": 150, "seconds": 4}}}}
    [chatty] = launch(client, ["chatty"], run_config=config)
    wait_for(lambda: run(client, chatty["run_id"])["status"] == "STARTED", what="started")
    time.sleep(0.8)
    deployment.servers[-1].kill_group()
    time.sleep(2.0)  # the worker goes on logging while nobody listens
    client = deployment.server()
    done = wait_end(client, chatty["run_id"], timeout=60)
    assert done["status"] == "SUCCESS", done
    evts = events(client, chatty["run_id"])
    assert [e["seq"] for e in evts] == list(range(1, len(evts) + 1))
    lines = [e["message"] for e in evts if e["type"] == "LOG" and e["message"].startswith("line ")]
    assert lines == [f"line {i}" for i in range(150)]


def test_concurrency_limit_under_100_simultaneous_requests(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    limit = 3
    client = deployment.server(TESSERA_MAX_CONCURRENT_RUNS=str(limit))
    bases = [str(client.base_url)]
    if not deployment.database_url.startswith("sqlite"):
        # Two server processes on one database: the limit holds across them, because the
        # claim is coordinated in PostgreSQL, not in either process's memory.
        second = deployment.server(port=free_port(), TESSERA_MAX_CONCURRENT_RUNS=str(limit))
        bases.append(str(second.base_url))
    config = {"ops": {"slow": {"config": {"seconds": 0.2}}}}
    created: list[str] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        with httpx.Client(base_url=bases[i % len(bases)], timeout=60) as own:
            [one] = launch(own, ["slow"], run_config=config)
            with lock:
                created.append(one["run_id"])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    most = 0
    while any(t.is_alive() for t in threads) or not _all_ended(client, created):
        active = client.get(
            "/api/v1/runs", params={"status": ["STARTING,STARTED,CANCELING"], "limit": 1000}
        ).json()["runs"]
        most = max(most, len(active))
        assert len(active) <= limit
        time.sleep(0.02)
    assert len(created) == 100
    assert all(run(client, r)["status"] == "SUCCESS" for r in created)
    # What the assets themselves saw: never more than the limit running at once.
    spans = [
        tuple(map(float, p.read_text().split())) for p in (deployment.tmp / "marks").glob("*.txt")
    ]
    assert len(spans) == 100
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in points:
        running += delta
        peak = max(peak, running)
    assert peak <= limit
    assert most >= 2  # the limit was actually reached, so the check above means something


def test_location_and_tag_limits(deployment: Deployment) -> None:
    deployment.location("runs", "runs_assets")
    client = deployment.server(
        TESSERA_LOCATION_RUN_LIMITS='{"runs": 2}', TESSERA_TAG_RUN_LIMITS='{"team=etl": 1}'
    )
    config = {"ops": {"slow": {"config": {"seconds": 0.3}}}}
    created = [
        launch(client, ["slow"], run_config=config, tags={"team": "etl"} if i % 2 else {})[0]
        for i in range(8)
    ]
    ids = [r["run_id"] for r in created]
    peak_total = peak_tagged = 0
    while not all(run(client, r)["status"] in TERMINAL for r in ids):
        active = client.get(
            "/api/v1/runs", params={"status": ["STARTING,STARTED,CANCELING"], "limit": 100}
        ).json()["runs"]
        tagged = [r for r in active if r["tags"].get("team") == "etl"]
        assert len(active) <= 2, active
        assert len(tagged) <= 1, tagged
        peak_total, peak_tagged = max(peak_total, len(active)), max(peak_tagged, len(tagged))
        time.sleep(0.02)
    assert all(run(client, r)["status"] == "SUCCESS" for r in ids)
    # Both limits were reached, so the checks above mean something.
    assert (peak_total, peak_tagged) == (2, 1)


def test_limits_that_make_no_sense_stop_the_server(tmp_path: Path) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "server.cli", "server", "--port", str(free_port())],
        env={**os.environ, "TESSERA_HOME": str(tmp_path), "TESSERA_TAG_RUN_LIMITS": '{"etl": 1}'},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert "TESSERA_TAG_RUN_LIMITS" in answer.stderr
    assert "key=value" in answer.stderr
    assert "Traceback" not in answer.stderr


def _all_ended(client: httpx.Client, run_ids: list[str]) -> bool:
    if len(run_ids) < 100:
        return False
    listed = client.get("/api/v1/runs", params={"limit": 1000}).json()["runs"]
    return sum(1 for r in listed if r["status"] in TERMINAL) >= 100
