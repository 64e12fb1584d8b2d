"""A driver that stays up between measurements: set up once, then one measurement per request.

The server workloads (``launch``, ``ingest``, ``catalog``) measure a deployment - code
locations, a server, a database - that takes seconds to minutes to set up and that is
long-lived in real use. Their driver (``bench/drivers/*``) is started once per side and
workload, sets the deployment up, and then answers requests:

1. the driver prints one JSON line ``{"ready": true, ...}`` when set up (or exits);
2. the runner writes one command per line (``launch``, ``GET /assets``, ...); the driver
   takes one measurement and prints one JSON line: the sample ``{"seconds": ..., ...}``,
   or ``{"error": "..."}`` when that measurement failed (the driver stays up);
3. the runner closes the driver's stdin: the driver tears its deployment down and exits.

Timing happens inside the driver (``time.perf_counter``), so the pipe costs nothing to the
figures. The driver runs in its own process group, with everything it starts: a driver that
times out, or does not exit after its stdin closed, is killed with its whole group. Its
stderr goes to ``bench/.work/logs/<name>.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bench.model import MeasurementError, MeasurementTimeout, Sample, Side
from bench.sides import WORK_DIR

DRIVERS_DIR = Path(__file__).resolve().parent / "drivers"
LOGS_DIR = WORK_DIR / "logs"

_EOF = object()


class DriverSession:
    """One long-lived driver process of one side (see the module docstring)."""

    def __init__(
        self,
        side: Side,
        driver: str,
        args: Sequence[str],
        *,
        log_name: str,
        start_timeout_s: float,
        stop_timeout_s: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.side = side
        self.driver = driver
        self.args = list(args)
        self.log_path = LOGS_DIR / f"{log_name}.log"
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.env = dict(side.env) | (env or {})
        self.ready: dict[str, Any] = {}
        """What the driver said when it was ready (sizes, setup timings)."""
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[object] = queue.Queue()
        self._log: IO[str] | None = None
        self._dead: str | None = None
        """Why this session cannot take measurements any more."""
        self.killed = False
        """Whether the driver was killed rather than left to tear its deployment down."""

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Start the driver and wait for its ready line; raises ``MeasurementError``."""
        if self._dead is not None:
            raise MeasurementError(self._dead)
        if self._process is not None:
            return self.ready
        LOGS_DIR.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        argv = [str(self.side.python), str(DRIVERS_DIR / f"{self.driver}.py"), *self.args]
        self._process = subprocess.Popen(
            argv,
            env=self.env,
            cwd=WORK_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        try:
            reply = self._reply(self.start_timeout_s, what="set up")
        except MeasurementError as exc:
            self._dead = f"{self.driver} did not start: {exc}"
            raise MeasurementError(self._dead) from exc
        if not reply.get("ready"):
            self._kill()
            self._dead = f"{self.driver} did not start: {reply.get('error', reply)}"
            raise MeasurementError(self._dead)
        self.ready = reply
        return reply

    def close(self) -> None:
        """Ask the driver to tear down (close its stdin), wait, kill its group if it hangs."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._kill()
        self._kill_group()  # anything of the driver's that outlived it
        if process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
        self._process = None
        self._dead = self._dead or "session closed"

    # -- measurements ---------------------------------------------------------------------------

    def request(self, command: str, timeout_s: float) -> Sample:
        """Send one command; the sample the driver answers (or ``MeasurementError``)."""
        self.start()
        process = self._process
        assert process is not None
        assert process.stdin is not None
        try:
            process.stdin.write(command + "\n")
            process.stdin.flush()
        except OSError as exc:
            self._dead = f"{self.driver} is gone: {self._last_log_line() or exc}"
            raise MeasurementError(self._dead) from exc
        reply = self._reply(timeout_s, what=command)
        if "error" in reply:
            raise MeasurementError(str(reply["error"])[:300])
        try:
            return {key: float(value) for key, value in reply.items()}
        except (TypeError, ValueError) as exc:
            raise MeasurementError(f"bad sample from {self.driver}: {reply!r:.200}") from exc

    def _reply(self, timeout_s: float, *, what: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            self._kill()
            self._dead = f"{self.driver} timed out ({what})"
            raise MeasurementTimeout(timeout_s) from None
        if line is _EOF:
            assert self._process is not None
            self._process.wait()
            self._dead = (
                f"{self.driver} exited with {self._process.returncode}: "
                f"{self._last_log_line() or 'no message'}"
            )
            raise MeasurementError(self._dead)
        try:
            reply = json.loads(str(line))
        except json.JSONDecodeError as exc:
            raise MeasurementError(f"not JSON from {self.driver}: {str(line)[:200]!r}") from exc
        if not isinstance(reply, dict):
            raise MeasurementError(f"not a JSON object from {self.driver}: {reply!r:.200}")
        return reply

    # -- helpers ------------------------------------------------------------------------------

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.strip():
                self._lines.put(line)
        self._lines.put(_EOF)

    def _kill(self) -> None:
        self.killed = True
        self._kill_group(signal.SIGKILL)
        if self._process is not None:
            self._process.wait()

    def _kill_group(self, sig: int = signal.SIGKILL) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    def _last_log_line(self) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if line and not line[0].isspace()]
        return errors[-1][:300] if errors else ""
