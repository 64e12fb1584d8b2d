"""The fork server: a process that imports the user code once and forks a worker per run.

The gRPC process starts it (``python -m codeloc.grpc.forkserver --fd N …``) and talks to it
over a Unix socket pair with length-prefixed pickled messages. The gRPC process itself never
imports user code and is never forked: user code that crashes at import, calls ``exit()``
or takes the process down with it only ends this process, and the location reports it.

Messages from the fork server: ``loaded`` (the snapshot, as serialized chunks) or
``load_error`` once; ``reply`` to each request; ``exited`` when a worker ends, with its exit
code (negative: the signal that killed it). Requests: ``launch`` (prepare, then fork) and
``signal`` (to a worker that has not been reaped yet, so that its pid cannot have been
reused).

No process of a run outlives the run's worker, nor a worker its location: each worker
leads a process group of its own (its step processes and whatever user code starts are in
it) and dies with the fork server (``codeloc._lifeline``); when a worker ends, however it
ends, the fork server kills what is left of its group before reaping it; when the gRPC
process is gone (its socket closes, or this process's parent changes: whichever thread
started this process may have ended since, so no death signal here) or this process is
told to stop (SIGTERM), the fork server kills every worker's group, then exits.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from codeloc._definitions import Definitions
from codeloc._errors import ConfigInvalid, SettingsInvalid, TesseraError
from codeloc._lifeline import WATCHDOG_SECONDS, die_with_parent
from codeloc._logging import configure_logging
from codeloc.grpc._model import LoadError

__all__ = ["main", "recv_message", "send_message"]

_HEADER = struct.Struct("!I")


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_message(sock: socket.socket) -> dict[str, Any] | None:
    """The next message, or ``None`` once the other side has closed the socket."""
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    data = _recv_exactly(sock, _HEADER.unpack(header)[0])
    if data is None:
        return None
    message: dict[str, Any] = pickle.loads(data)
    return message


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(min(size - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _load(args: argparse.Namespace, sock: socket.socket) -> Definitions | None:
    from codeloc._loading import load_definitions
    from codeloc._snapshot import snapshot_of
    from codeloc.grpc.convert import to_snapshot_chunks

    started = time.perf_counter()
    # Loading builds a great many objects that all live as long as the process: collecting
    # in the middle of it only rescans them, again and again.
    gc.disable()
    try:
        defs = load_definitions(
            module=args.module,
            file=args.file,
            package=args.package,
            working_directory=args.working_directory,
        )
        snapshot = snapshot_of(defs)
        chunks = [c.SerializeToString() for c in to_snapshot_chunks(snapshot)]
    except BaseException as exc:  # user code may raise anything, SystemExit included
        error = LoadError.of(exc)
        _send_quietly(sock, {"type": "load_error", "error": _error_dict(error)})
        return None
    finally:
        gc.enable()
    # Frozen objects are never scanned again, so a forked worker does not copy the pages
    # holding them just to count references.
    gc.freeze()
    loaded = {
        "type": "loaded",
        "snapshot_hash": snapshot.hash,
        "asset_count": len(snapshot.assets),
        "chunks": chunks,
        "seconds": time.perf_counter() - started,
    }
    return defs if _send_quietly(sock, loaded) else None


def _send_quietly(sock: socket.socket, message: dict[str, Any]) -> bool:
    """Send; false when the gRPC process is gone (then this process has nothing to do)."""
    try:
        send_message(sock, message)
    except OSError:
        return False
    return True


def _error_dict(error: LoadError) -> dict[str, str]:
    return {"type": error.type, "message": error.message, "traceback": error.traceback}


class _Server:
    def __init__(self, defs: Definitions, sock: socket.socket, parent: int) -> None:
        self.defs = defs
        self.sock = sock
        self.parent = parent
        self.children: dict[int, str] = {}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector = selectors.DefaultSelector()

    def serve(self) -> int:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)  # seen through wake_r
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        try:
            self._serve()
        finally:
            self._kill_all()
        return 0

    def _serve(self) -> None:
        """Serve requests until the gRPC process is gone or SIGTERM comes."""
        while os.getppid() == self.parent:
            for key, _ in self.selector.select(WATCHDOG_SECONDS):
                if key.fd == self.wake_r:
                    if signal.SIGTERM in self._drain_wakeups():
                        return
                    self._reap()
                    continue
                try:
                    message = recv_message(self.sock)
                except OSError:
                    message = None
                if message is None:
                    return
                self._handle(message)
            self._reap()  # a SIGCHLD may have come while a message was being read

    def _drain_wakeups(self) -> set[int]:
        signums: set[int] = set()
        while True:
            try:
                data = os.read(self.wake_r, 512)
            except BlockingIOError:
                return signums
            if not data:
                return signums
            signums.update(data)

    def _handle(self, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "reply", "id": message["id"]}
        if message["op"] == "launch":
            reply.update(self._launch(message))
        elif message["op"] == "signal":
            reply["ok"] = self._signal(message["pid"], message["signal"], message["group"])
        _send_quietly(self.sock, reply)

    def _launch(self, message: dict[str, Any]) -> dict[str, Any]:
        from codeloc.grpc import worker

        launch = message["launch"]
        try:
            prepared = worker.prepare(self.defs, launch, Path(message["spool"]))
        except ConfigInvalid as exc:
            return {
                "error": "ConfigInvalid",
                "message": str(exc),
                "asset": exc.asset,
                "field": exc.field,
            }
        except TesseraError as exc:
            return {"error": type(exc).__name__, "message": str(exc)}
        except Exception as exc:
            return {"error": type(exc).__name__, "message": f"cannot prepare the run: {exc}"}
        # Forked from the main thread, which lives as long as this process: the workers'
        # death signal fires when the thread that forked them ends.
        try:
            pid = os.fork()
        except OSError as exc:
            return {"error": "OSError", "message": f"cannot start a run worker: {exc}"}
        if pid == 0:
            self._become_worker()
            worker.execute(prepared)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also done by the child: whichever runs first
        self.children[pid] = launch.run_id
        return {"pid": pid}

    def _become_worker(self) -> None:
        die_with_parent(group=True)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.selector.close()
        self.sock.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def _signal(self, pid: int, signum: int, group: bool) -> bool:
        if pid not in self.children:
            return False
        try:
            if group:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True

    def _reap(self) -> None:
        while self.children:
            ended = _ended_child()
            if ended is None:
                return
            pid, status = ended
            run_id = self.children.pop(pid, None)
            if run_id is not None:
                # Still a zombie, the worker keeps its group's id from being reused: what
                # its steps or user code left running goes now, before anything else
                # of the run can happen.
                _kill_group(pid)
            if status is None:
                _, status = os.waitpid(pid, 0)
            if run_id is not None:
                code = os.waitstatus_to_exitcode(status)
                _send_quietly(
                    self.sock, {"type": "exited", "run_id": run_id, "pid": pid, "code": code}
                )

    def _kill_all(self) -> None:
        """Kill every worker and its group, and reap them: nobody could cancel or watch
        them any more."""
        for pid in self.children:
            _kill_group(pid)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)  # in case it had no group of its own yet
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            del self.children[pid]


def _ended_child() -> tuple[int, int | None] | None:
    """A child that has ended: its pid, and its wait status once it is reaped. Where the
    system can, it is left unreaped (a zombie, status ``None``)."""
    try:
        if hasattr(os, "waitid"):
            result = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            return (result.si_pid, None) if result is not None and result.si_pid else None
        pid, status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return None
    return (pid, status) if pid else None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parent = os.getppid()  # first: the watchdog must not take init for the gRPC process
    parser = argparse.ArgumentParser(prog="python -m codeloc.grpc.forkserver")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--module")
    parser.add_argument("--file")
    parser.add_argument("--package")
    parser.add_argument("--working-directory")
    args = parser.parse_args(argv)
    try:
        configure_logging()  # as the location's own process did; its run workers inherit it
    except SettingsInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Ctrl-C in a terminal reaches the whole process group; the gRPC process decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=args.fd)
    defs = _load(args, sock)
    if defs is None:
        sock.close()
        return 1
    return _Server(defs, sock, parent).serve()


if __name__ == "__main__":
    sys.exit(main())
