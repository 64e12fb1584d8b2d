"""A forked process that ends when its parent does: a run worker, a step process.

A run's processes must not outlive the process that watches them: once it is gone nobody
can cancel them, the server has failed the run already, and whatever they still write
(files, tables, events) lands after the run's end. Two mechanisms, the first where it
exists:

- On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the process the moment
  its parent ends. It fires when the parent *thread* that forked ends, not the parent
  process: callers fork from a thread that lives as long as the child matters (the fork
  server's main thread; the thread that holds a step pool open until its children end).
- Elsewhere, or when ``prctl`` is refused, a watchdog thread that polls ``os.getppid()``:
  the parent changes only when the whole parent process has ended.

Neither reaches what user code starts in turn (``subprocess.Popen``): the death signal is
cleared in a new child, and a program cannot be given a thread. Those stay in the run's
process group, which the fork server kills when the run's worker ends.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

__all__ = ["die_with_parent"]

WATCHDOG_SECONDS = 0.5
"""How often the watchdog looks at the parent, where the kernel cannot tell."""

_PR_SET_PDEATHSIG = 1


def die_with_parent(*, group: bool = False, watchdog: bool | None = None) -> None:
    """End this process (SIGKILL) as soon as its parent process ends.

    Call it first thing in a freshly forked child. With ``group`` (a run worker, which
    leads its run's process group), the watchdog kills the whole group, should this process
    lead one by then: its step processes and what they started. ``watchdog`` forces the
    watchdog on or off (default: only without ``prctl``).
    """
    parent = os.getppid()
    armed = _set_pdeathsig()
    if os.getppid() != parent:  # the parent ended before the kernel was told
        _die(group)
    if watchdog or (watchdog is None and not armed):
        threading.Thread(
            target=_watch, args=(parent, group), name="tessera-lifeline", daemon=True
        ).start()


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, group: bool) -> None:
    stop = threading.Event()
    while not stop.wait(WATCHDOG_SECONDS):
        if os.getppid() != parent:
            _die(group)


def _die(group: bool) -> None:
    if group and os.getpgid(0) == os.getpid():  # never the group of a shell's job
        os.killpg(0, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
