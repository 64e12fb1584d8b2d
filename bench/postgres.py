"""The PostgreSQL server the server workloads use, seen from the runner (standard library only).

Each session of a server workload works in a database of its own, created by its driver and
dropped by it at the end: ``bench_<workload>_<side>_<pid>_<random>``. The runner only checks
that the server answers, names the databases, and drops a database whose driver was killed
before it could drop it itself.

``BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) is the
maintenance database to connect to; the user must be allowed to create databases.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
import subprocess
from urllib.parse import urlsplit

from bench.model import Side
from bench.sides import WORK_DIR

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

_DROP = """
import sys
url, name = sys.argv[1], sys.argv[2]
try:
    import psycopg
    connection = psycopg.connect(url, autocommit=True)
except ImportError:
    import psycopg2
    connection = psycopg2.connect(url)
    connection.autocommit = True
with connection.cursor() as cursor:
    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
connection.close()
"""


@functools.cache
def unavailable() -> str | None:
    """Why the server workloads cannot run here (PostgreSQL does not answer), else ``None``."""
    parts = urlsplit(ADMIN_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"skipped: no PostgreSQL at {host}:{port} ({exc.strerror or exc})"


def database_name(workload: str, side: str) -> str:
    return f"bench_{workload}_{side}_{os.getpid()}_{secrets.token_hex(3)}"


def drop_database(side: Side, name: str) -> None:
    """Drop ``name`` with ``side``'s interpreter (psycopg or psycopg2); errors are ignored."""
    subprocess.run(
        [str(side.python), "-c", _DROP, ADMIN_URL, name],
        env=dict(side.env),
        cwd=WORK_DIR,
        capture_output=True,
        timeout=60,
        check=False,
    )
