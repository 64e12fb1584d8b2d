"""Shipping events to the server: batches over HTTP, retries with backoff, spool files.

A run worker appends each event to its spool (``codeloc.grpc._spool``) and hands it to a
``Shipper``, a thread that POSTs whatever has accumulated as one batch, so batches grow by
themselves while a request is in flight. While the destination is down it retries with
backoff; events keep piling up in the spool meanwhile. What a worker could not deliver
before it ended, its location delivers later from the spool (``SpoolDrainer``).

The server answers 200 and is idempotent by ``(run_id, seq)``; 401/403 (bad token) and 404
(unknown run) will not get better by retrying soon, so those are left to the spool and
retried rarely; 5xx and connection errors are retried with backoff. 409 says the run has
ended on the server (it failed it: a lost location, a run stuck starting): it takes no more
events, ever. That is final: the worker stops the run, and its spool is dropped.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from codeloc._runs import EventType
from codeloc.grpc._model import EventDestination
from codeloc.grpc._spool import SUFFIX, Spool, SpoolContents

__all__ = ["Delivery", "HttpSender", "Shipper", "SpoolDrainer", "batch_body", "next_batch"]

MAX_BATCH = 1000
MAX_BATCH_BYTES = 2 * 1024 * 1024
Warn = Callable[[str], None]


class Delivery(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # the destination is down or failing: try again soon
    REJECTED = "rejected"  # bad token or unknown run: try again much later
    ENDED = "ended"  # the run has ended on the server: it takes no more events, ever


def batch_body(run_id: str, lines: list[str]) -> bytes:
    """The ingest body, from events already serialized (they are spooled as JSON anyway)."""
    return f'{{"run_id": {json.dumps(run_id)}, "events": [{", ".join(lines)}]}}'.encode()


def next_batch(pending: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The first events of ``pending``: at most ``MAX_BATCH`` of them, about
    ``MAX_BATCH_BYTES`` of JSON (always at least one)."""
    size = 0
    for count, (_, line) in enumerate(pending[:MAX_BATCH]):
        size += len(line)
        if size > MAX_BATCH_BYTES and count:
            return pending[:count]
    return pending[:MAX_BATCH]


def backoff(attempt: int, cap: float) -> float:
    """0.05 s doubling up to ``cap``, with jitter so that many workers do not retry in step."""
    base = min(cap, 0.05 * 2.0 ** min(attempt, 16))
    return base * (0.5 + random.random() / 2)


class HttpSender:
    """POSTs batches to one destination over a kept-alive connection."""

    def __init__(self, destination: EventDestination, timeout: float = 10.0) -> None:
        parts = urlsplit(destination.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"event destination must be an http(s) URL, got {destination.url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {destination.token}",
        }
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self.last_error = ""

    def send(self, body: bytes) -> Delivery:
        try:
            if self._conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=self._timeout)
            self._conn.request("POST", self._path, body, self._headers)
            response = self._conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.last_error = f"{type(exc).__name__}: {exc}"
            return Delivery.RETRY
        status = response.status
        if 200 <= status < 300:
            return Delivery.DELIVERED
        self.last_error = f"HTTP {status} {response.reason}{_detail(answer)}"
        if response.will_close:
            self.close()
        if status == 409:
            return Delivery.ENDED
        if 400 <= status < 500 and status not in (408, 429):  # 401/403 bad token, 404 no run
            return Delivery.REJECTED
        return Delivery.RETRY

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _detail(answer: bytes) -> str:
    """``": <detail>"`` of a problem+json answer, cut short; empty for any other answer."""
    try:
        detail = json.loads(answer).get("detail")
    except (ValueError, AttributeError):
        return ""
    return f": {detail[:300]}" if isinstance(detail, str) and detail else ""


class Shipper:
    """Ships the events of one run as they come, from a thread; see the module docstring."""

    def __init__(
        self,
        spool: Spool,
        destination: EventDestination,
        warn: Warn,
        *,
        max_backoff: float = 2.0,
        on_ended: Callable[[str], None] | None = None,
    ) -> None:
        """``on_ended(reason)`` is called, from the shipper's thread, when the server says the
        run has ended; nothing is shipped after that."""
        self._spool = spool
        self._run_id = spool.run_id
        self._sender = HttpSender(destination)
        self._warn = warn
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self._pending: list[tuple[int, str]] = []
        self._failing = False
        self._rejected = False
        self._closed = False
        self._on_ended = on_ended
        #: Why the server takes no more events of the run, once it said so.
        self.ended_on_server: str | None = None
        self._thread = threading.Thread(target=self._run, name="tessera-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, seq: int, line: str) -> None:
        with self._cond:
            self._pending.append((seq, line))
            self._cond.notify_all()

    def close(self, timeout: float) -> bool:
        """Stop once everything is delivered, the destination fails, or ``timeout`` passes.

        Returns whether everything was delivered; what was not stays in the spool.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._pending and not (self._failing or self._rejected or self.ended_on_server):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            delivered = not self._pending
        # A thread in the middle of a request is not waited for: what it sends is spooled.
        self._thread.join(timeout=0.5)
        return delivered

    def _run(self) -> None:
        try:
            self._ship()
        finally:
            self._sender.close()

    def _ship(self) -> None:
        attempt = 0
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending or self._rejected or self.ended_on_server:
                    return
                if self._closed and self._failing:
                    return
                batch = next_batch(self._pending)
            result = self._sender.send(batch_body(self._run_id, [line for _, line in batch]))
            with self._cond:
                if result is Delivery.DELIVERED:
                    del self._pending[: len(batch)]
                    self._failing = False
                    attempt = 0
                    self._spool.set_acked(batch[-1][0])
                elif result is Delivery.ENDED:
                    self.ended_on_server = self._sender.last_error
                    self._warn(
                        f"run {self._run_id}: the server has ended the run and takes no more "
                        f"of its events ({self._sender.last_error}); stopping it"
                    )
                elif result is Delivery.REJECTED:
                    self._rejected = True
                    self._warn(
                        f"run {self._run_id}: the destination refused events "
                        f"({self._sender.last_error}); they stay in {self._spool.path}"
                    )
                else:
                    if not self._failing:
                        self._warn(
                            f"run {self._run_id}: cannot deliver events "
                            f"({self._sender.last_error}); retrying, spooled meanwhile"
                        )
                    self._failing = True
                    attempt += 1
                self._cond.notify_all()
                if result is Delivery.RETRY and not self._closed:
                    self._cond.wait(backoff(attempt, self._max_backoff))
            if result is Delivery.ENDED:
                if self._on_ended is not None:
                    self._on_ended(self.ended_on_server or "")
                return


class SpoolDrainer:
    """Delivers, from a thread of the location process, the spools that workers left behind.

    The location's reads and writes of spools go through here, under one lock (POSIX locks
    do not keep two threads of one process apart); no request to a destination is made
    under it, so a slow destination never holds up a launch or a worker's exit.
    """

    def __init__(
        self,
        directory: Path,
        is_live: Callable[[str], bool],
        warn: Warn,
        *,
        max_backoff: float = 10.0,
        rejected_backoff: float = 300.0,
    ) -> None:
        self.directory = directory
        self._is_live = is_live
        self._warn = warn
        self._max_backoff = max_backoff
        self._rejected_backoff = rejected_backoff
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._attempts: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, name="tessera-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def _path(self, run_id: str) -> Path:
        return self.directory / f"{run_id}{SUFFIX}"

    def create(self, run_id: str, destination: EventDestination, first_seq: int = 1) -> Path:
        # A new file: no lock of this process can be on it yet.
        return Spool.create(self.directory, run_id, destination, first_seq)

    def discard(self, run_id: str) -> None:
        """Forget the spool of a launch that never started a worker."""
        Spool(self._path(run_id), -1).remove()

    def end_run(
        self, run_id: str, type: EventType, reason: str
    ) -> tuple[SpoolContents, bool] | None:
        """After a worker ended: append the run's final event unless the worker wrote one
        (see ``Spool.end_run``).

        ``None`` when the spool is gone: the worker delivered every event, its last included.
        """
        with self._lock:
            spool = Spool.open(self._path(run_id), wait=5.0)
            if spool is None:
                return None
            with spool:
                return spool.end_run(type, reason)

    def pending_runs(self) -> list[str]:
        return sorted(p.name[: -len(SUFFIX)] for p in self.directory.glob(f"*{SUFFIX}"))

    def drain_once(self) -> None:
        """One pass over the spools of runs that no worker is executing."""
        now = time.monotonic()
        for run_id in self.pending_runs():
            if self._stop.is_set():
                return
            if self._is_live(run_id) or self._not_before.get(run_id, 0.0) > now:
                continue
            with self._lock:
                spool = Spool.open(self._path(run_id))
                if spool is None:
                    continue  # a worker still holds it (one from before a restart)
                with spool:
                    # A worker that left no final event is gone without saying how it ended.
                    contents, _ = spool.end_run(
                        EventType.RUN_FAILURE,
                        "the run worker ended without reporting how the run ended",
                    )
            if self._deliver(spool, contents):
                with self._lock:
                    spool.remove()
                self._attempts.pop(run_id, None)
                self._not_before.pop(run_id, None)

    def _deliver(self, spool: Spool, contents: SpoolContents) -> bool:
        """Send what the destination has not accepted; whether it is done with the spool:
        it has everything, or it has ended the run and will never take the rest."""
        run_id = contents.run_id
        sender = HttpSender(contents.destination)
        pending = contents.pending
        try:
            while pending:
                batch = next_batch(pending)
                result = sender.send(batch_body(run_id, [line for _, line in batch]))
                if result is Delivery.ENDED:
                    self._warn(
                        f"run {run_id}: the server has ended the run and takes no more of its "
                        f"events ({sender.last_error}); {len(pending)} spooled events dropped"
                    )
                    return True
                if result is not Delivery.DELIVERED:
                    self._retry_later(run_id, result, len(pending), sender.last_error)
                    return False
                spool.set_acked(batch[-1][0])
                pending = pending[len(batch) :]
        finally:
            sender.close()
        return True

    def _retry_later(self, run_id: str, result: Delivery, pending: int, error: str) -> None:
        attempt = self._attempts.get(run_id, 0) + 1
        self._attempts[run_id] = attempt
        if result is Delivery.REJECTED:
            delay = self._rejected_backoff
        else:
            delay = backoff(attempt, self._max_backoff)
        self._not_before[run_id] = time.monotonic() + delay
        if attempt == 1 or result is Delivery.REJECTED:
            self._warn(
                f"run {run_id}: {pending} spooled events not delivered yet ({error}); "
                f"retrying in {delay:.1f}s"
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except Exception as exc:  # a damaged spool must not end the thread
                self._warn(f"spool delivery: {type(exc).__name__}: {exc}")
            self._wake.wait(timeout=min(1.0, self._max_backoff))
            self._wake.clear()
