"""Capturing what a run prints: file descriptors 1 and 2 into pipes, read by a thread.

Redirecting the descriptors, not ``sys.stdout``, catches everything: ``print``, C
extensions, subprocesses, and the step processes the multiprocess executor forks (they
inherit the descriptors).
"""

from __future__ import annotations

import contextlib
import io
import os
import selectors
import sys
import threading
from collections.abc import Callable

__all__ = ["OutputCapture"]

MAX_LINE = 64 * 1024
"""A longer line is cut into pieces of this many bytes."""

_SYNC = b"\x00tessera-sync-"


class OutputCapture:
    """Calls ``on_line(stream, line)`` for each line written to fd 1 (``stdout``) or fd 2
    (``stderr``) between ``start()`` and ``stop()``."""

    def __init__(self, on_line: Callable[[str, str], None]) -> None:
        self._on_line = on_line
        self._saved: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._generation = 0
        self._seen = {"stdout": 0, "stderr": 0}

    def start(self) -> None:
        _flush()
        self._saved = (os.dup(1), os.dup(2))
        readers: dict[int, str] = {}
        for fd, name in ((1, "stdout"), (2, "stderr")):
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            readers[read_end] = name
        # Block buffering would hold a step's prints back until the process ends.
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(line_buffering=True)
        self._thread = threading.Thread(
            target=self._read, args=(readers,), name="tessera-output", daemon=True
        )
        self._thread.start()

    def sync(self, timeout: float = 1.0) -> None:
        """Return once every line written so far has been passed to ``on_line``.

        A marker line goes down both pipes behind what is already in them (a pipe keeps
        the order of its writers), and the reader says when it got there. A step's output
        then comes before the event that says the step ended.
        """
        if self._saved is None:
            return
        _flush()
        self._generation += 1
        generation = self._generation
        marker = _SYNC + str(generation).encode() + b"\x00\n"
        os.write(1, marker)
        os.write(2, marker)
        with self._cond:
            self._cond.wait_for(lambda: min(self._seen.values()) >= generation, timeout)

    def stop(self, timeout: float = 2.0) -> None:
        """Restore the descriptors and wait for the last lines (a daemon process a step
        started may keep a pipe open: then give up after ``timeout``)."""
        if self._saved is None:
            return
        _flush()
        out, err = self._saved
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        self._saved = None
        if self._thread is not None:
            self._thread.join(timeout)

    def _read(self, readers: dict[int, str]) -> None:
        buffers = dict.fromkeys(readers, b"")
        with selectors.DefaultSelector() as selector:
            for fd in readers:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                for key, _ in selector.select():
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        selector.unregister(fd)
                        os.close(fd)
                        if buffers[fd]:
                            self._emit(readers[fd], buffers[fd])
                        continue
                    data = buffers[fd] + chunk
                    *lines, rest = data.split(b"\n")
                    for line in lines:
                        self._line(readers[fd], line)
                    while len(rest) > MAX_LINE:
                        self._emit(readers[fd], rest[:MAX_LINE])
                        rest = rest[MAX_LINE:]
                    buffers[fd] = rest

    def _line(self, stream: str, line: bytes) -> None:
        at = line.find(_SYNC)
        if at < 0 or not line.endswith(b"\x00"):
            self._emit(stream, line)
            return
        if at:
            self._emit(stream, line[:at])  # a partial line written just before the marker
        with self._cond:
            self._seen[stream] = int(line[at + len(_SYNC) : -1])
            self._cond.notify_all()

    def _emit(self, stream: str, line: bytes) -> None:
        text = line.decode(errors="replace").rstrip("\r")
        # A line that cannot become an event must not end the capture of the next ones.
        with contextlib.suppress(Exception):
            self._on_line(stream, text)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
