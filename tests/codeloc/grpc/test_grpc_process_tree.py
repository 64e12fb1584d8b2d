"""No process of a run outlives it: a run worker, a fork server or a whole location killed
takes the run's step processes and what user code started with it, and so does a cancel.

Everything here is a real ``tessera codeloc`` process, its fork server, run workers, step
processes and a ``sleep 300`` started by an asset (``tests/resources/grpc_procs.py``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codeloc import AssetKey
from codeloc._runs import RunStatus
from codeloc.grpc import RunLaunch

if TYPE_CHECKING:
    from conftest import CodelocProcess, Receiver

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
KEYS = (AssetKey("spawner"), AssetKey("sleeper"))
STEP_PIDS = ("spawner", "sleeper", "spawned")
Start = Callable[..., "CodelocProcess"]


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command: state, ppid, pgrp, …"""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Running; a zombie has ended (whoever adopts it may be slow to reap it)."""
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def parent_of(pid: int) -> int:
    fields = stat(pid)
    assert fields is not None, f"process {pid} is gone"
    return int(fields[1])


def children_of(pid: int) -> list[int]:
    return [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if _ppid(p) == pid]


def _ppid(pid: int) -> int | None:
    fields = stat(pid)
    return int(fields[1]) if fields else None


def still_alive(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def pids_dir(tmp_path: Path) -> Iterator[Path]:
    """Where the steps write their pids; whatever is still running at the end is killed."""
    path = tmp_path / "pids"
    path.mkdir()
    yield path
    for file in path.glob("*.pid"):
        pid = int(file.read_text())
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def location(codeloc_process: Start, pids_dir: Path, tmp_path: Path) -> CodelocProcess:
    env = {
        "TESSERA_HOME": str(tmp_path / "home"),
        "TESSERA_STORAGE": str(tmp_path / "storage"),
        "TESSERA_TEST_PIDS": str(pids_dir),
    }
    process = codeloc_process("-m", "grpc_procs", "-d", str(RESOURCES), env=env)
    process.client.wait_until_loaded(30)
    return process


def step_pids(
    pids_dir: Path, names: tuple[str, ...] = STEP_PIDS, timeout: float = 30.0
) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = {name: pids_dir / f"{name}.pid" for name in names}
        if all(f.exists() for f in files.values()):
            return {name: int(f.read_text()) for name, f in files.items()}
        time.sleep(0.05)
    raise AssertionError(f"the steps did not start: {sorted(os.listdir(pids_dir))}")


def start_run(location: CodelocProcess, receiver: Receiver, run_id: str, executor: str) -> int:
    state = location.client.launch(
        RunLaunch(run_id, KEYS, receiver.destination, executor=executor, max_concurrent=2)  # type: ignore[arg-type]
    )
    return state.pid


@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_a_killed_worker_takes_its_steps_and_their_programs(
    location: CodelocProcess, receiver: Receiver, pids_dir: Path, executor: str
) -> None:
    worker = start_run(location, receiver, "killed", executor)
    if executor == "multiprocess":
        pids = step_pids(pids_dir)
        assert worker not in (pids["spawner"], pids["sleeper"])
    else:  # one step after the other, in the worker
        pids = step_pids(pids_dir, ("spawner", "spawned"))
        assert pids["spawner"] == worker
    assert os.getpgid(pids["spawned"]) == worker  # the run's own group

    os.kill(worker, signal.SIGKILL)

    assert still_alive([worker, *pids.values()]) == []
    events = receiver.wait_for_end("killed")
    assert events[-1]["type"] == "RUN_FAILURE"
    assert events[-1]["message"] == "run worker was killed by signal 9 (SIGKILL)"
    assert location.proc.poll() is None  # the location goes on


def test_a_killed_location_takes_its_fork_server_workers_and_steps(
    location: CodelocProcess, receiver: Receiver, pids_dir: Path
) -> None:
    (fork_server,) = children_of(location.proc.pid)
    worker = start_run(location, receiver, "orphaned", "multiprocess")
    pids = step_pids(pids_dir)
    assert parent_of(worker) == fork_server

    location.proc.send_signal(signal.SIGKILL)

    assert still_alive([fork_server, worker, *pids.values()]) == []
    count = len(receiver.run_events("orphaned"))
    time.sleep(0.5)
    assert len(receiver.run_events("orphaned")) == count  # nobody writes any more


def test_cancel_ends_what_the_steps_started(
    location: CodelocProcess, receiver: Receiver, pids_dir: Path
) -> None:
    worker = start_run(location, receiver, "canceled", "multiprocess")
    pids = step_pids(pids_dir)

    location.client.cancel("canceled")

    events = receiver.wait_for_end("canceled")
    assert events[-1]["type"] == "RUN_CANCELED"
    assert still_alive([worker, *pids.values()]) == []
    (state,) = [s for s in location.client.runs() if s.run_id == "canceled"]
    assert state.status is RunStatus.CANCELED


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_fork_server_takes_its_workers_and_the_runs_end(
    location: CodelocProcess, receiver: Receiver, pids_dir: Path, signum: int
) -> None:
    (fork_server,) = children_of(location.proc.pid)
    worker = start_run(location, receiver, "abandoned", "multiprocess")
    pids = step_pids(pids_dir)

    os.kill(fork_server, signum)

    assert still_alive([worker, *pids.values()]) == []
    events = receiver.wait_for_end("abandoned")
    assert events[-1]["type"] == "RUN_FAILURE"
    assert events[-1]["message"].startswith("run worker ended with its fork server: ")
    (state,) = [s for s in location.client.runs() if s.run_id == "abandoned"]
    assert state.status is RunStatus.FAILURE
    assert location.proc.poll() is None
