"""Spool files: every event of a run, on disk, until the server has accepted it.

A run's spool is ``<spool dir>/<run_id>.jsonl``: a header line (the run id and where its
events go), then one event per line, as ``codeloc._wire`` writes it, in ``seq``
order. ``<run_id>.acked`` holds the highest ``seq`` the destination has accepted. The worker
appends every event before it ships it, so the file is also the record of the last ``seq``
it assigned: when a worker is killed, its location appends the final event with the next
``seq``, and nothing is numbered twice.

The worker holds a POSIX lock on its spool while it runs (the kernel drops the lock when the
process dies, however it dies); whoever else reads a spool takes that lock first.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from codeloc._runs import Event, EventType
from codeloc._settings import Settings
from codeloc._wire import event_to_json
from codeloc.grpc._model import EventDestination

__all__ = ["TERMINAL_TYPES", "Spool", "SpoolContents", "spool_directory"]

TERMINAL_TYPES = frozenset({"RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"})
SUFFIX = ".jsonl"
_ACKED = ".acked"


def spool_directory(location: str, home: str | None = None) -> Path:
    """``$TESSERA_HOME/spool/<location>`` (``TESSERA_HOME`` defaults to ``.tessera``)."""
    base = Path(home) if home else Settings.from_env().home
    return base.resolve() / "spool" / location


@dataclass(frozen=True, slots=True)
class SpoolContents:
    run_id: str
    destination: EventDestination
    acked: int
    # (seq, JSON line) of every event not yet accepted by the destination
    pending: list[tuple[int, str]]
    last_seq: int
    last_type: str | None

    @property
    def ended(self) -> bool:
        """Whether the run's final event (success, failure or canceled) is in the file."""
        return self.last_type in TERMINAL_TYPES


class Spool:
    """An open, locked spool file. Use ``Spool.create`` and ``Spool.open``."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @property
    def run_id(self) -> str:
        return self.path.name[: -len(SUFFIX)]

    @staticmethod
    def create(
        directory: Path, run_id: str, destination: EventDestination, first_seq: int = 1
    ) -> Path:
        """Write a new spool holding only its header; the file exists before any worker does,
        so a spool that is gone means a worker delivered everything and removed it."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{run_id}{SUFFIX}"
        tmp = directory / f".{run_id}{SUFFIX}.tmp"
        header = {
            "run_id": run_id,
            "url": destination.url,
            "token": destination.token,
            "first_seq": first_seq,
        }
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)  # it holds a token
        try:
            os.write(fd, (json.dumps(header) + "\n").encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path

    @classmethod
    def open(cls, path: Path, *, wait: float = 0.0) -> Spool | None:
        """Lock and open ``path``; ``None`` when it is gone or stays locked for ``wait`` s."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(path, fd)
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(0.01)

    def append(self, line: str) -> None:
        # One write per event: a process killed mid-run leaves whole lines behind.
        os.write(self._fd, (line + "\n").encode())

    def append_event(self, event: Event) -> None:
        self.append(json.dumps(event_to_json(event)))

    def set_acked(self, seq: int) -> None:
        """Record that the destination has every event up to ``seq`` (a file of its own,
        replaced whole: this needs no lock)."""
        tmp = self.path.with_name(f".{self.run_id}{_ACKED}.tmp")
        tmp.write_text(str(seq))
        os.replace(tmp, self.path.with_name(self.run_id + _ACKED))

    def read(self) -> SpoolContents:
        """Everything in the file; a torn last line (the writer died mid-write) is dropped."""
        # Through the locked descriptor: closing any other descriptor of this file would
        # drop this process's POSIX lock.
        data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        lines = data.split(b"\n")
        if lines and lines[-1]:
            self._truncate(len(data) - len(lines[-1]))
        lines = [line for line in lines[:-1] if line]
        header = json.loads(lines[0])
        ack_file = self.path.with_name(self.run_id + _ACKED)
        acked = int(ack_file.read_text() or 0) if ack_file.exists() else 0
        pending: list[tuple[int, str]] = []
        last_seq, last_type = int(header.get("first_seq", 1)) - 1, None
        for raw in lines[1:]:
            event = json.loads(raw)
            last_seq, last_type = int(event["seq"]), str(event["type"])
            if last_seq > acked:
                pending.append((last_seq, raw.decode()))
        destination = EventDestination(header["url"], header.get("token", ""))
        return SpoolContents(header["run_id"], destination, acked, pending, last_seq, last_type)

    def _truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)

    def end_run(self, type: EventType, reason: str) -> tuple[SpoolContents, bool]:
        """Append the run's final event unless the worker wrote one; the contents, and
        whether the event was appended."""
        contents = self.read()
        if contents.ended:
            return contents, False
        event = Event(
            type,
            contents.run_id,
            seq=contents.last_seq + 1,
            level="ERROR" if type is EventType.RUN_FAILURE else "WARNING",
            message=reason,
            error=reason if type is EventType.RUN_FAILURE else None,
        )
        self.append_event(event)
        return self.read(), True

    def remove(self) -> None:
        """Delete the spool: every event was delivered, or the run never started."""
        for path in (self.path, self.path.with_name(self.run_id + _ACKED)):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file, which releases the lock; ``set_acked`` and ``remove`` still work."""
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
