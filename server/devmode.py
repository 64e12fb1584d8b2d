"""``tessera dev``: SQLite, one code-location process per module, and the server, on one
machine. Location processes are supervised: one that dies is started again, and the
server's registry notices the new server id and reloads it.

The locations get the server's environment less what only the server reads (its database
URL, its API token, its TLS client key: ``SERVER_ONLY_VARIABLES``), so that user code never
sees the server's credentials, and a ``TESSERA_LOCATION_SECRET`` (one made for the session
when none is set), so that no other process on the machine can call them.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LocationProcess", "location_environment", "run_dev", "start_location"]

_SERVING = re.compile(r"serving (?P<name>\S+) on (?P<host>\S+):(?P<port>\d+)")


@dataclass
class LocationProcess:
    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    address: str = ""
    port: int = 0
    output: list[str] = field(default_factory=list)


def start_location(loc: LocationProcess, timeout: float = 60.0) -> None:
    """Start (or restart) a location process on ``loc.port`` (0 first: any free port) and
    wait until it says where it serves."""
    args = [*loc.args, "--port", str(loc.port)]
    loc.process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "codeloc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=loc.env,
    )
    assert loc.process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = loc.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"code location '{loc.name}' exited before serving:\n" + "".join(loc.output[-30:])
            )
        loc.output.append(line)
        match = _SERVING.search(line)
        if match:
            loc.port = int(match["port"])
            loc.address = f"{match['host']}:{match['port']}"
            threading.Thread(target=_pump, args=(loc,), daemon=True).start()
            return
    raise RuntimeError(f"code location '{loc.name}' did not start within {timeout:.0f}s")


def _pump(loc: LocationProcess) -> None:
    process = loc.process
    assert process is not None
    assert process.stdout is not None
    for line in process.stdout:
        sys.stderr.write(f"[{loc.name}] {line}")


def location_environment(environ: Mapping[str, str], secret: str) -> dict[str, str]:
    """The environment of the location processes: ``environ`` without the variables only
    the server reads, with ``secret`` as their ``TESSERA_LOCATION_SECRET``."""
    from server.core.config import SERVER_ONLY_VARIABLES

    env = {k: v for k, v in environ.items() if k not in SERVER_ONLY_VARIABLES}
    env["TESSERA_LOCATION_SECRET"] = secret
    return env


def run_dev(
    *,
    modules: list[str],
    files: list[str],
    working_directory: str | None,
    host: str,
    port: int,
) -> int:
    import uvicorn

    from server.api.app import create_app
    from server.core.config import Settings
    from server.storage.migrate import upgrade

    settings = Settings(host=host, port=port)
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    upgrade(url)

    # A secret for this session unless one is set: the locations listen on loopback, but
    # any process of any user on the machine could otherwise launch runs on them.
    secret = settings.location_secret or secrets.token_urlsafe(32)
    env = location_environment(os.environ, secret)
    env.setdefault("TESSERA_HOME", str(settings.home))
    workdir = working_directory or os.getcwd()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [workdir, env.get("PYTHONPATH")]))
    locations = [
        LocationProcess(m.rsplit(".", 1)[-1], ["-m", m, "-d", workdir], env) for m in modules
    ] + [LocationProcess(Path(f).stem, ["-f", f, "-d", workdir], env) for f in files]
    for loc in locations:
        loc.args += ["--name", loc.name]
        start_location(loc)
        print(f"code location {loc.name} serving on {loc.address}", flush=True)

    workspace = Path(tempfile.mkstemp(prefix="workspace-", suffix=".yaml", dir=settings.home)[1])
    workspace.write_text(
        "locations:\n"
        + "".join(f"  - name: {loc.name}\n    grpc: {loc.address}\n" for loc in locations)
    )
    stop = threading.Event()
    supervisor = threading.Thread(target=_supervise, args=(locations, stop), daemon=True)
    supervisor.start()
    settings = Settings(
        host=host, port=port, workspace=workspace, database_url=url, location_secret=secret
    )
    print(f"Tessera is at http://{host}:{port}  (API docs: /docs)", flush=True)
    try:
        # log_config=None: uvicorn's lines go through the handler `tessera` configured.
        uvicorn.run(
            create_app(settings, port=port, dev=True),
            host=host,
            port=port,
            log_level="warning",
            log_config=None,
        )
    finally:
        stop.set()
        for loc in locations:
            if loc.process and loc.process.poll() is None:
                loc.process.terminate()
        for loc in locations:
            if loc.process:
                try:
                    loc.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    loc.process.kill()
        workspace.unlink(missing_ok=True)
    return 0


def _supervise(locations: list[LocationProcess], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for loc in locations:
            if loc.process is not None and loc.process.poll() is not None and not stop.is_set():
                print(f"code location {loc.name} exited ({loc.process.returncode}); restarting")
                try:
                    start_location(loc)  # same port: the workspace keeps pointing at it
                except RuntimeError as exc:
                    print(f"restart of {loc.name} failed: {exc}", file=sys.stderr)
