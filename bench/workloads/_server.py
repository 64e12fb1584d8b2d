"""What the server workloads (``launch``, ``ingest``, ``catalog``) share: one session driver per
side on a PostgreSQL database of its own, started on first use and closed with the workload."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench import postgres
from bench.model import Sample, Side
from bench.session import DriverSession
from bench.workloads._common import sdk_unavailable, tessera_command_exists

Args = Callable[[Side], Sequence[str]]
"""The driver's arguments for a side (besides ``--side``, ``--postgres``, ``--database``)."""


class ServerSessions:
    """The driver sessions of one workload: ``drivers`` maps a side name to its driver."""

    def __init__(
        self,
        workload: str,
        drivers: Mapping[str, str],
        args: Args,
        *,
        start_timeout_s: float,
        stop_timeout_s: float = 120.0,
    ) -> None:
        self.workload = workload
        self.drivers = dict(drivers)
        self.args = args
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._sessions: dict[str, DriverSession] = {}
        self._databases: dict[str, tuple[Side, str]] = {}

    def session(self, side: Side) -> DriverSession:
        session = self._sessions.get(side.name)
        if session is None:
            database = postgres.database_name(self.workload, side.name)
            self._databases[side.name] = (side, database)
            args = ["--side", side.name, "--postgres", postgres.ADMIN_URL, "--database", database]
            session = DriverSession(
                side,
                self.drivers[side.name],
                [*args, *self.args(side)],
                log_name=f"{self.workload}-{side.name}",
                start_timeout_s=self.start_timeout_s,
                stop_timeout_s=self.stop_timeout_s,
            )
            self._sessions[side.name] = session
        return session

    def request(self, command: str, side: Side, timeout_s: float) -> Sample:
        return self.session(side).request(command, timeout_s)

    def ready(self) -> dict[str, dict[str, Any]]:
        """Per side: what its driver said when it was set up (sizes and setup timings)."""
        return {name: s.ready for name, s in self._sessions.items() if s.ready}

    def close(self) -> None:
        """Close every session; drop the database of any driver that was killed."""
        for name, session in self._sessions.items():
            session.close()
            if session.killed:
                side, database = self._databases[name]
                postgres.drop_database(side, database)


def server_unavailable(side: Side, dagster: str | None) -> str | None:
    """Why a server workload cannot run on ``side``: Tessera needs ``tessera server``;
    ``dagster`` is what to say for Dagster (``None``: it runs)."""
    if side.name == "tessera":
        if not tessera_command_exists(side, "server"):
            return "not built yet (needs `tessera server`)"
        return sdk_unavailable(side)
    return dagster if dagster is not None else sdk_unavailable(side)


def postgres_skip(sides: Sequence[str] = ("tessera", "dagster")) -> dict[str, str]:
    """A case's ``skip`` when PostgreSQL does not answer: every side says why."""
    reason = postgres.unavailable()
    return dict.fromkeys(sides, reason) if reason else {}
