"""Assets whose processes the tests of a run's end look for: each step writes its pid to
``$TESSERA_TEST_PIDS``, and ``spawner`` starts a program of its own, as user code may."""

import os
import subprocess
import time
from pathlib import Path

from codeloc import asset


def _record(name: str, pid: int) -> None:
    pids = Path(os.environ["TESSERA_TEST_PIDS"])
    (pids / f"{name}.tmp").write_text(str(pid))
    (pids / f"{name}.tmp").rename(pids / f"{name}.pid")  # whole, or not there


@asset
def spawner() -> None:
    _record("spawner", os.getpid())
    child = subprocess.Popen(["sleep", "300"])
    _record("spawned", child.pid)
    time.sleep(300)


@asset
def sleeper() -> None:
    _record("sleeper", os.getpid())
    time.sleep(300)
