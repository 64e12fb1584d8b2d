"""A code location runs with the base install only: none of the ``server`` extra's libraries.

Every process here (and every process those start: the fork server, run workers, Celery's
pool) runs with an import blocker installed at start-up through ``sitecustomize``, which
refuses the server's libraries as if they were not installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codeloc import AssetKey
from codeloc.grpc import RunLaunch

if TYPE_CHECKING:
    from conftest import CodelocProcess, Receiver

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ROOT = RESOURCES.parents[1]
TESSERA = str(Path(sys.executable).with_name("tessera"))
Start = Callable[..., "CodelocProcess"]

SERVER_LIBRARIES = ("fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "uvicorn")

BLOCKER = textwrap.dedent(
    f"""
    import sys
    from importlib.abc import MetaPathFinder

    BLOCKED = {SERVER_LIBRARIES!r}


    class ServerLibrariesBlocked(MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.partition(".")[0] in BLOCKED:
                message = f"No module named {{fullname!r}} (blocked)"
                raise ModuleNotFoundError(message, name=fullname)
            return None


    sys.meta_path.insert(0, ServerLibrariesBlocked())
    """
)


@pytest.fixture(scope="module")
def blocked_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process that cannot import the server's libraries."""
    site = tmp_path_factory.mktemp("blocker")
    (site / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(p for p in (str(site), str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    # The blocker itself works, or nothing below proves anything.
    for name in SERVER_LIBRARIES:
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 1, name
        assert "(blocked)" in done.stderr, (name, done.stderr)
    return env


def run(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TESSERA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_materialize_runs_without_them(blocked_env: dict[str, str], tmp_path: Path) -> None:
    env = {**blocked_env, "TESSERA_STORAGE": str(tmp_path / "storage")}
    args = ["-m", "grpc_runs", "-d", str(RESOURCES), "--select", "hello+"]
    done = run(env, "materialize", *args, "--executor", "multiprocess", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "materialized hello" in done.stdout
    assert "materialized double" in done.stdout


def test_a_location_serves_and_runs_without_them(
    blocked_env: dict[str, str], codeloc_process: Start, receiver: Receiver, tmp_path: Path
) -> None:
    env = {**blocked_env, "TESSERA_STORAGE": str(tmp_path / "storage")}
    process = codeloc_process("-m", "grpc_runs", "-d", str(RESOURCES), "--name", "slim", env=env)
    info = process.client.wait_until_loaded(30)
    assert info.asset_count > 0
    process.client.launch(RunLaunch("slim-run", (AssetKey("hello"),), receiver.destination))
    events = receiver.wait_for_end("slim-run")
    assert events[-1]["type"] == "RUN_SUCCESS", events[-1]

    health = run(env, "health", "--location", f"slim={process.address}", "--timeout", "5")
    assert health.returncode == 0, health.stdout + health.stderr
    assert "all 1 healthy" in health.stdout

    code, err = process.stop()
    assert code == 0, err
    assert "(blocked)" not in err


@pytest.fixture
def celery_queue(delete_celery_queue: Callable[[str], None]) -> Iterator[str]:
    name = f"tessera.test.slim.{uuid.uuid4().hex[:12]}"
    yield name
    delete_celery_queue(name)


def test_celery_steps_run_without_them(
    blocked_env: dict[str, str], celery_broker: str, celery_queue: str, tmp_path: Path
) -> None:
    env = {
        **blocked_env,
        "TESSERA_CELERY_BROKER": celery_broker,
        "TESSERA_CELERY_QUEUE": celery_queue,
        "TESSERA_STORAGE": str(tmp_path / "storage"),
    }
    source = ["-m", "grpc_runs", "-d", str(RESOURCES)]
    hostname = f"slim-{uuid.uuid4().hex[:8]}@localhost"
    worker = subprocess.Popen(
        [TESSERA, "celery-worker", *source, "--concurrency", "1", "--hostname", hostname],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = run(env, "materialize", *source, "--select", "hello+", "--executor", "celery")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, worker_err = worker.communicate(timeout=60)
    assert done.returncode == 0, done.stderr + worker_err
    assert "materialized double" in done.stdout
    assert "(blocked)" not in worker_err


@pytest.mark.parametrize(
    "args",
    [["server"], ["migrate"], ["dev", "-m", "grpc_runs"]],
    ids=["server", "migrate", "dev"],
)
def test_server_commands_say_to_install_the_server_extra(
    blocked_env: dict[str, str], args: list[str], tmp_path: Path
) -> None:
    done = run(blocked_env, *args, cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: 'tessera {args[0]}' needs the server's libraries (")
    assert line.endswith("missing): pip install 'tessera[server]'")
    assert "fastapi" in line
