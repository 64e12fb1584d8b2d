"""The gRPC process's side of the fork server: start it, ask it to launch and signal
workers, and hear from it when the code is loaded and when a worker ends."""

from __future__ import annotations

import contextlib
import itertools
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol

from codeloc._errors import ConfigInvalid
from codeloc.grpc._errors import CodeLocationUnavailable, LaunchRejected
from codeloc.grpc._model import CodeSource, LoadError, RunLaunch
from codeloc.grpc.forkserver import recv_message, send_message

__all__ = ["ForkServer", "ForkServerListener", "describe_exit"]


class ForkServerListener(Protocol):
    def code_loaded(self, snapshot_hash: str, asset_count: int, chunks: list[bytes]) -> None: ...

    def code_failed(self, error: LoadError) -> None:
        """The code did not load, or the fork server died."""

    def worker_exited(self, run_id: str, pid: int, code: int) -> None:
        """``code`` is the exit code, or minus the signal that killed the worker."""


class ForkServer:
    def __init__(self, source: CodeSource, listener: ForkServerListener) -> None:
        self._source = source
        self._listener = listener
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._replies: dict[int, Future[dict[str, Any]]] = {}
        self._closing = False
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        self._sock = ours
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "codeloc.grpc.forkserver",
                "--fd",
                str(theirs.fileno()),
                *self._source.args(),
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            # What user code prints goes to stderr (descriptor 2, whatever ``sys.stderr`` is
            # now): stdout of `tessera codeloc` is for the "serving" line that tools read.
            stdout=2,
        )
        theirs.close()
        self._reader = threading.Thread(target=self._read, name="tessera-forks", daemon=True)
        self._reader.start()

    def launch(self, launch: RunLaunch, spool: Path, timeout: float) -> int:
        """Fork a worker for ``launch``; its pid. Raises ``LaunchRejected``, ``ConfigInvalid``
        (the run config does not validate) or ``CodeLocationUnavailable``."""
        reply = self._request({"op": "launch", "launch": launch, "spool": str(spool)}, timeout)
        error = reply.get("error")
        if error == "ConfigInvalid":
            raise ConfigInvalid(reply["message"], reply.get("asset", ""), reply.get("field", ""))
        if error is not None:
            raise LaunchRejected(reply["message"])
        return int(reply["pid"])

    def signal(self, pid: int, signum: int, *, group: bool, timeout: float = 5.0) -> bool:
        """Signal a worker (and its step processes with ``group``); false if it has ended."""
        try:
            reply = self._request(
                {"op": "signal", "pid": pid, "signal": int(signum), "group": group}, timeout
            )
        except CodeLocationUnavailable:
            return False
        return bool(reply.get("ok"))

    def _request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        request_id = next(self._ids)
        future: Future[dict[str, Any]] = Future()
        self._replies[request_id] = future
        try:
            with self._send_lock:
                if self._sock is None:
                    raise CodeLocationUnavailable("the fork server is not running")
                send_message(self._sock, {**message, "id": request_id})
            return future.result(timeout)
        except (OSError, FutureTimeout) as exc:
            raise CodeLocationUnavailable(f"the fork server did not answer: {exc!r}") from None
        finally:
            self._replies.pop(request_id, None)

    def _read(self) -> None:
        assert self._sock is not None
        assert self._proc is not None
        loaded = False
        reported = False
        while True:
            try:
                message = recv_message(self._sock)
            except OSError:
                message = None
            if message is None:
                break
            kind = message["type"]
            if kind == "reply":
                future = self._replies.get(message["id"])
                if future is not None and not future.done():
                    future.set_result(message)
            elif kind == "exited":
                self._listener.worker_exited(message["run_id"], message["pid"], message["code"])
            elif kind == "loaded":
                loaded = True
                chunks = message["chunks"]
                self._listener.code_loaded(message["snapshot_hash"], message["asset_count"], chunks)
            elif kind == "load_error":
                reported = True  # the exit that follows is expected
                self._listener.code_failed(LoadError(**message["error"]))
        for future in list(self._replies.values()):
            if not future.done():
                future.set_exception(CodeLocationUnavailable("the fork server exited"))
        code = self._proc.wait()
        if not self._closing and not reported:
            what = "after loading the code" if loaded else "while loading the code"
            self._listener.code_failed(
                LoadError(
                    "ForkServerExited", f"the fork server exited {what} ({describe_exit(code)})"
                )
            )

    def close(self, timeout: float = 5.0) -> None:
        self._closing = True
        with self._send_lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout)
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def describe_exit(code: int) -> str:
    """``exit code 3``, or ``killed by signal 9 (SIGKILL)`` for a negative ``code``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "an unknown signal"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"
