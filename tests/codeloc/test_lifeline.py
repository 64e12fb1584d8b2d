"""``die_with_parent`` where the kernel cannot tell (the watchdog): a real process whose
parent ends, and the program it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")

# The parent forks a child that leads a group, as a run worker does, then ends once the
# child has started a program of its own and said both pids.
SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from codeloc import _lifeline

    _lifeline._set_pdeathsig = lambda: False  # as on a system without prctl
    group = sys.argv[1] == "group"
    r, w = os.pipe()
    if os.fork() == 0:
        os.setpgid(0, 0)
        _lifeline.die_with_parent(group=group)
        quiet = subprocess.DEVNULL  # holding no pipe of the test's
        program = subprocess.Popen(["sleep", "300"], stdout=quiet, stderr=quiet)
        os.write(w, f"{os.getpid()} {program.pid}\\n".encode())
        time.sleep(300)
        os._exit(0)
    print(os.read(r, 100).decode().strip(), flush=True)
    """
)


def alive(pid: int) -> bool:
    """Running; a zombie has ended (whoever adopted it may be slow to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.mark.parametrize("group", [True, False])
def test_the_watchdog_ends_the_child_when_its_parent_ends(group: bool) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, "group" if group else "alone"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    child, program = map(int, result.stdout.split())
    try:
        assert gone_within(child, 5.0)
        # Its group taken along, or left alone (then the fork server's business).
        assert gone_within(program, 2.0) is group
    finally:
        for pid in (child, program):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
