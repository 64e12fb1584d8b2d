"""The container deployment, tested without a container engine.

``docker-compose.yml`` is read and checked service by service. Then its commands, with its
environment, run as local processes against a fresh PostgreSQL database: service names
become 127.0.0.1, ports become free ones, volumes become temporary directories, and the
console script ``tessera`` stands for the image's ``ENTRYPOINT ["tessera"]``. Nothing else
about a service is invented here, so a compose file that would not work in containers
fails here too.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from codeloc.grpc import CodeLocationClient, CredentialsRejected
from server.cli import build_parser
from server.core.config import Settings
from server.health import HealthResult, Target, check_all, format_table, parse_location, summary
from server.workspace.config import load_workspace

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
MY_TEAM = ROOT / "examples" / "my_team"
# The console script of this environment stands for the image's ENTRYPOINT.
TESSERA = str(Path(sys.executable).with_name("tessera"))
TESSERA_SERVICES = ("migrate", "server", "code-location-1", "code-location-2")
LOCATION_SERVICES = ("code-location-1", "code-location-2")
LONG_RUNNING = ("postgres", "server", "code-location-1", "code-location-2")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}: what compose expands.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|KEY", re.IGNORECASE)
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


# -- reading the compose file ---------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=VALUE: {line!r}"
            values[name.strip()] = value.strip()
    return values


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """Expand variables in every string of ``value``, the way ``docker compose`` does."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        current = variables.get(name)
        unset_or_empty = not current if op.startswith(":") else current is None
        if op.endswith("-") and unset_or_empty:
            return arg
        if op.endswith("?") and unset_or_empty:
            raise AssertionError(f"{name} is required: {arg}")
        return current or ""

    if isinstance(value, str):
        return VARIABLE.sub(one, value)
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    return value


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def volume_mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Container path -> source (a named volume, or a path for a bind mount)."""
    mounts = {}
    for spec in service.get("volumes") or []:
        source, target, *_ = spec.split(":")
        mounts[target] = source
    return mounts


# -- the compose file, statically -----------------------------------------------------------


def test_every_service_has_image_command_restart_healthcheck_and_conditions() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", *TESSERA_SERVICES}
    for name in TESSERA_SERVICES:
        service = services[name]
        assert service["image"].startswith("tessera:"), name
        assert service["build"]["context"] == "."
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert isinstance(service["command"], list), f"{name}: exec form, no shell"
    # One image for every role: the same tag and the same build.
    assert len({(s["image"], str(s["build"])) for n, s in services.items() if n != "postgres"}) == 1
    assert services["postgres"]["image"].startswith("postgres:")

    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        test = services[name]["healthcheck"]["test"]
        # Exec form: the image has no curl or wget, and needs no shell for a health check.
        assert test[0] == "CMD", name
        assert test[1] == ("pg_isready" if name == "postgres" else "tessera"), name
        for key in ("interval", "timeout", "retries", "start_period"):
            assert key in services[name]["healthcheck"], (name, key)
    assert services["migrate"]["restart"] == "no"  # a one-shot: it exits when done
    assert "healthcheck" not in services["migrate"]

    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            assert spec["condition"] in conditions, (name, dependency)
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["server"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
        "code-location-1": {"condition": "service_started"},
        "code-location-2": {"condition": "service_started"},
    }
    # Locations hold no database credentials and need nothing to start; they share the
    # server's secret, which it presents to them.
    for name in LOCATION_SERVICES:
        assert "depends_on" not in services[name]
        assert set(environment(services[name])) == {
            "TESSERA_STORAGE",
            "TESSERA_EXAMPLE_DATA",
            "TESSERA_LOCATION_SECRET",
        }
        secret = environment(services[name])["TESSERA_LOCATION_SECRET"]
        assert secret == environment(services["server"])["TESSERA_LOCATION_SECRET"]
        assert secret.startswith("${TESSERA_LOCATION_SECRET:?"), "required, never a default"
    assert set(environment(services["migrate"])) == {"TESSERA_DATABASE_URL"}
    server_env = set(environment(services["server"]))
    assert server_env == {
        "TESSERA_DATABASE_URL",
        "TESSERA_WORKSPACE",
        "TESSERA_PUBLIC_URL",
        "TESSERA_API_TOKEN",
        "TESSERA_LOCATION_SECRET",
    }
    # A misspelt setting would be ignored without a word: each must be one the server has.
    assert {key.removeprefix("TESSERA_").lower() for key in server_env} <= set(
        Settings.model_fields
    )


def test_commands_and_health_checks_parse_with_the_tessera_command_line() -> None:
    services = compose()["services"]
    parser = build_parser()
    handlers = {
        "migrate": "_migrate",
        "server": "_server",
        "code-location-1": "_codeloc",
        "code-location-2": "_codeloc",
    }
    for name, handler in handlers.items():
        assert parser.parse_args(services[name]["command"]).handler.__name__ == handler, name

    server = parser.parse_args(services["server"]["command"])
    assert server.host == "0.0.0.0"
    health = parser.parse_args(services["server"]["healthcheck"]["test"][2:])
    assert health.handler.__name__ == "_health"
    assert health.server == f"http://127.0.0.1:{server.port}"

    for name in LOCATION_SERVICES:
        location = parser.parse_args(services[name]["command"])
        assert location.host == "0.0.0.0", f"{name} must be reachable from other containers"
        health = parser.parse_args(services[name]["healthcheck"]["test"][2:])
        assert health.handler.__name__ == "_health"
        [target] = [parse_location(spec) for spec in health.location]
        assert target.address == f"127.0.0.1:{location.port}", name


def test_workspace_volumes_and_addresses_fit_together() -> None:
    config = compose()
    services = config["services"]
    declared = set(config["volumes"])
    for name, service in services.items():
        for source in volume_mounts(service).values():
            assert source.startswith("./") or source in declared, (name, source)
    assert volume_mounts(services["postgres"]) == {"/var/lib/postgresql/data": "pgdata"}

    # Every location sees the same storage and example data, where its environment says.
    dockerfile = (ROOT / "Dockerfile").read_text()
    shared = None
    for name in LOCATION_SERVICES:
        env, mounts = environment(services[name]), volume_mounts(services[name])
        mine = {mounts[env["TESSERA_STORAGE"]], mounts[env["TESSERA_EXAMPLE_DATA"]]}
        assert shared in (None, mine), name
        shared = mine
        # Named volumes take the ownership of the image's directory: it must exist there,
        # owned by the non-root user, or the locations cannot write to it.
        for path in (env["TESSERA_STORAGE"], env["TESSERA_EXAMPLE_DATA"]):
            assert path in dockerfile, path

    # The workspace is mounted from the repository, not baked into the image.
    server = services["server"]
    server_env = environment(server)
    workspace_target = server_env["TESSERA_WORKSPACE"]
    source = volume_mounts(server)[workspace_target]
    assert any(s.endswith(":ro") for s in server["volumes"] if workspace_target in s)
    workspace = load_workspace(ROOT / source)
    parser = build_parser()
    by_address = {}
    for name in LOCATION_SERVICES:
        args = parser.parse_args(services[name]["command"])
        by_address[f"{name}:{args.port}"] = args.name
    assert {loc.grpc: loc.name for loc in workspace.locations} == by_address

    # Workers in the location containers post events to this address.
    server_args = parser.parse_args(server["command"])
    assert server_env["TESSERA_PUBLIC_URL"] == f"http://server:{server_args.port}"
    [published] = server["ports"]
    assert published.endswith(f":{server_args.port}")


def test_no_literal_secrets_and_env_example_defines_every_variable() -> None:
    text = COMPOSE.read_text()
    used = {m["name"] for m in VARIABLE.finditer(text)}
    example = env_example()
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    assert set(example) <= used, f"unused in docker-compose.yml: {sorted(set(example) - used)}"
    # Only ${...} forms: a bare $VAR or $$ would be expanded differently than checked here.
    assert "$" not in VARIABLE.sub("", text)

    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert VARIABLE.fullmatch(value), f"{name}: {key} is a literal"
            # In a URL, the password between "user:" and "@" must be one variable.
            masked = VARIABLE.sub("\0", value)
            for credentials in re.findall(r"://([^@/]+)@", masked):
                _, _, password = credentials.partition(":")
                assert password == "\0", f"{name}: {key} holds a literal password"
    for key, value in example.items():
        if SECRET_NAME.search(key) and value:
            assert value not in text, f"the example value of {key} is written in the compose file"


def test_images_follow_the_documented_recipe() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim AS \w+$", dockerfile, re.MULTILINE)
    assert re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)[-1] == "tessera"
    assert 'ENTRYPOINT ["tessera"]' in dockerfile
    assert "pip install" in dockerfile
    assert ".venv" not in dockerfile
    # The build context is an allow-list: .venv, .env and databases never reach the image.
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line]
    patterns = [line for line in ignore if not line.startswith("#")]
    assert patterns[0] == "**"
    assert not any(p.startswith("!.") for p in patterns)

    team = (MY_TEAM / "Dockerfile").read_text()
    image = compose()["services"]["server"]["image"].split(":")[0]
    assert f"ARG TESSERA_IMAGE={image}:latest" in team
    assert "FROM ${TESSERA_IMAGE}" in team
    assert "pip install /tmp/my_team" in team
    assert re.findall(r"^USER (\S+)$", team, re.MULTILINE)[-1] == "tessera"
    [cmd] = re.findall(r"^CMD (\[.*\])$", team, re.MULTILINE)
    args = build_parser().parse_args(json.loads(cmd))
    assert (args.handler.__name__, args.module, args.host) == ("_codeloc", "my_team", "0.0.0.0")
    assert (MY_TEAM / "pyproject.toml").is_file()


def test_an_installed_server_finds_its_migrations_beside_its_package() -> None:
    # The Dockerfile installs the project (not editable) and copies migrations/ into
    # site-packages next to server/: this is where the server looks for them.
    import server
    from server.storage.migrate import MIGRATIONS

    assert Path(server.__file__).resolve().parents[1] / "migrations" == MIGRATIONS


def test_my_team_location_materializes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "code_location_2_asset.json").write_text("11")
    env = clean_env(tmp_path)
    env.update(TESSERA_EXAMPLE_DATA=str(data), TESSERA_STORAGE=str(tmp_path / "storage"))
    config = {"ops": {"scaled_total": {"config": {"factor": 3}}}}
    args = ["materialize", "-m", "my_team", "-d", str(MY_TEAM), "--select", "*"]
    done = subprocess.run(
        [TESSERA, *args, "--config", json.dumps(config)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "materialized team_report" in done.stdout
    stored = pickle.loads((tmp_path / "storage" / "team_report").read_bytes())
    assert stored == "scaled total: 33"


# -- the health table -----------------------------------------------------------------------


def test_health_table_lines_up_and_says_which_target_is_unhealthy() -> None:
    results = [
        HealthResult(Target("server", "server", "http://127.0.0.1:3000"), True, "ok", 2.345),
        HealthResult(
            Target("location", "code_location_1", "code-location-1:4000"), True, "SERVING", 0.8
        ),
        HealthResult(
            Target("location", "dead", "127.0.0.1:9"),
            False,
            "UNAVAILABLE: failed to connect\nto all addresses",
            1234.56,
        ),
    ]
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["KIND", "NAME", "ADDRESS", "STATUS", "DETAIL", "LATENCY", "MS"]
    assert len(lines) == 4
    # Columns line up: every row's status starts under STATUS, every row is as wide.
    status_at = lines[0].index("STATUS")
    assert [line[status_at:].split()[0] for line in lines[1:]] == [
        "healthy",
        "healthy",
        "UNHEALTHY",
    ]
    assert len({len(line) for line in lines}) == 1
    assert lines[1].endswith(" 2.3")
    assert lines[3].endswith(" 1234.6")
    assert "failed to connect to all addresses" in lines[3]  # one row per target
    assert summary(results) == "1 of 3 unhealthy: dead"
    assert summary(results[:2]) == "all 2 healthy"


def test_health_checks_run_at_once_and_keep_their_order() -> None:
    targets = [Target("location", f"l{i}", f"127.0.0.1:{i}") for i in range(1, 6)]

    def slow(target: Target, timeout: float) -> HealthResult:
        time.sleep(0.3)
        return HealthResult(target, True, "SERVING", 300)

    started = time.monotonic()
    results = check_all(targets, 1.0, slow)
    assert [r.target for r in results] == targets
    assert time.monotonic() - started < 1.0  # not 5 x 0.3 s


def test_health_says_why_a_location_is_not_serving(tmp_path: Path) -> None:
    port = free_port()
    broken = ROOT / "tests" / "resources" / "srv_broken.py"
    # As in the compose file: GetInfo, which says why, needs the secret; health reads it too.
    env = clean_env(tmp_path) | {"TESSERA_LOCATION_SECRET": secrets.token_urlsafe(16)}
    location = Process(["codeloc", "-f", str(broken), "--name", "broken", "--port", str(port)], env)
    check = ["health", "--location", f"broken=127.0.0.1:{port}", "--timeout", "2"]
    try:
        wait_for(lambda: any("serving" in line for line in location.output), "listening")
        # The port answers at once; the import fails a moment later, in the fork server.
        table = wait_for(
            lambda: "failed" in (done := run_tessera(check, env)).stdout and done,
            "the load to fail",
        )
    finally:
        location.stop()
    assert table.returncode == 1
    [row] = table.stdout.splitlines()[1:-1]
    assert "UNHEALTHY" in row
    assert "NOT_SERVING: failed: RuntimeError: the warehouse credentials are missing" in row


@pytest.mark.parametrize("spec", ["loc", "loc=", "=127.0.0.1:4000", "loc=host", "loc=host:x"])
def test_bad_location_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="NAME=HOST:PORT"):
        parse_location(spec)


# -- the compose file, run as local processes -----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(tmp: Path) -> dict[str, str]:
    """This machine's environment without any TESSERA_ setting, plus what the image sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update(PYTHONUNBUFFERED="1", TESSERA_HOME=str(tmp / "home"))
    return env


class Process:
    """A ``tessera`` process whose output is kept; stopped with SIGTERM, as Docker does."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.output: list[str] = []
        # The image's working directory holds examples/, as the repository root does.
        self.popen = subprocess.Popen(
            [TESSERA, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)

    def tail(self) -> str:
        return "".join(self.output[-30:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


@dataclass
class LocalCompose:
    """The compose services as local processes; see the module docstring."""

    tmp: Path
    variables: dict[str, str]
    postgres: str  # host:port of the machine's PostgreSQL
    services: dict[str, Any] = field(init=False)
    ports: dict[tuple[str, int], str] = field(default_factory=dict)
    #: (service, container path) -> the local path mounted there
    paths: dict[tuple[str, str], Path] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.services = interpolate(compose()["services"], self.variables)
        self.ports[("postgres", 5432)] = self.postgres
        for name in TESSERA_SERVICES:
            command = self.services[name]["command"]
            if "--port" in command:
                self.ports[(name, int(option(command, "--port")))] = f"127.0.0.1:{free_port()}"
        for name, service in self.services.items():
            for target, source in volume_mounts(service).items():
                if source.startswith("./"):
                    self.paths[(name, target)] = self._localized_copy(ROOT / source)
                elif name != "postgres":
                    # One directory per named volume: services that share it share it.
                    volume = self.tmp / "volumes" / source
                    volume.mkdir(parents=True, exist_ok=True)
                    self.paths[(name, target)] = volume

    def localize(self, text: str, service: str) -> str:
        def address(match: re.Match[str]) -> str:
            host, port = match["host"], int(match["port"])
            own = host == "127.0.0.1" and (service, port) in self.ports
            return self.ports.get((service if own else host, port), match[0])

        text = re.sub(r"(?P<host>[\w.-]+):(?P<port>\d+)", address, text)
        for (owner, target), path in self.paths.items():
            if owner == service:
                text = text.replace(target, str(path))
        return text

    def command(self, service: str, args: list[str] | None = None) -> list[str]:
        args = list(self.services[service]["command"] if args is None else args)
        if "--port" in args:
            i = args.index("--port") + 1
            args[i] = self.ports[(service, int(args[i]))].rsplit(":", 1)[1]
        return [self.localize(arg, service) for arg in args]

    def env(self, service: str) -> dict[str, str]:
        own = {k: self.localize(v, service) for k, v in environment(self.services[service]).items()}
        for key, value in own.items():
            # A path no volume is mounted at would live and die with the container.
            assert not value.startswith("/") or Path(value).is_relative_to(self.tmp), (
                f"{service}: {key}={value} is not on a volume"
            )
        return clean_env(self.tmp / service) | own

    def start(self, service: str) -> Process:
        process = Process(self.command(service), self.env(service))
        self.processes.append(process)
        return process

    def health_check(self, service: str) -> subprocess.CompletedProcess[str]:
        """The service's own compose health check (``CMD tessera health …``)."""
        test = self.services[service]["healthcheck"]["test"]
        return run_tessera(self.command(service, test[2:]), self.env(service))

    def url(self, service: str) -> str:
        port = int(option(self.services[service]["command"], "--port"))
        return f"http://{self.ports[(service, port)]}"

    def _localized_copy(self, source: Path) -> Path:
        copy = self.tmp / "mounts" / source.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(self.localize(source.read_text(), ""))
        return copy

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def run_tessera(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TESSERA, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g}s")


@pytest.fixture
def database() -> Iterator[tuple[str, Any]]:
    """A fresh, uniquely named database on the machine's PostgreSQL, dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    base = os.environ.get(
        "TESSERA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tessera_deploy_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield name, make_url(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def local_compose(tmp_path: Path, database: tuple[str, Any]) -> Iterator[LocalCompose]:
    name, url = database
    variables = env_example()
    variables.update(
        POSTGRES_USER=url.username or "postgres",
        # The machine's PostgreSQL trusts local connections; any password then does.
        POSTGRES_PASSWORD=url.password or "unused-under-trust-auth",
        POSTGRES_DB=name,
        TESSERA_API_TOKEN=secrets.token_urlsafe(16),
        TESSERA_LOCATION_SECRET=secrets.token_urlsafe(16),
    )
    deployment = LocalCompose(tmp_path, variables, f"{url.host}:{url.port or 5432}")
    yield deployment
    deployment.close()


def test_compose_services_run_the_cross_location_pair(local_compose: LocalCompose) -> None:
    stack = local_compose
    password = stack.variables["POSTGRES_PASSWORD"]

    migrated = run_tessera(stack.command("migrate"), stack.env("migrate"))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "database schema is at revision" in migrated.stdout
    assert password not in migrated.stdout + migrated.stderr

    locations = {name: stack.start(name) for name in LOCATION_SERVICES}
    for name, process in locations.items():
        wait_for(lambda p=process: any("serving" in line for line in p.output), f"{name} up")
    server = stack.start("server")
    token = {"Authorization": f"Bearer {stack.variables['TESSERA_API_TOKEN']}"}
    with httpx.Client(base_url=stack.url("server"), headers=token, timeout=30) as client:
        try:
            wait_for(lambda: client.get("/api/v1/health").status_code == 200, "server health")
            listed = wait_for(
                lambda: (
                    (answer := client.get("/api/v1/code-locations").json())
                    and all(loc["status"] == "loaded" for loc in answer)
                    and answer
                ),
                "both locations loaded",
            )
        except AssertionError:
            raise AssertionError(server.tail()) from None
        # The server reads the mounted workspace: the locations at their service addresses.
        assert {loc["name"]: loc["address"] for loc in listed} == {
            "code_location_1": stack.ports[("code-location-1", 4000)],
            "code_location_2": stack.ports[("code-location-2", 4000)],
        }
        # TESSERA_API_TOKEN from the environment is in force.
        assert httpx.get(f"{stack.url('server')}/api/v1/code-locations").status_code == 401
        # So is TESSERA_LOCATION_SECRET: the server was let in, a caller without it is not.
        for name in LOCATION_SERVICES:
            with (
                CodeLocationClient(stack.ports[(name, 4000)]) as intruder,
                pytest.raises(CredentialsRejected),
            ):
                intruder.runs()

        downstream = client.get("/api/v1/assets/code_location_2_asset").json()
        assert downstream["location"] == "code_location_2"
        assert downstream["deps"] == [["code_location_1_asset"]]
        upstream = client.get("/api/v1/assets/code_location_1_asset").json()
        assert upstream["dependents"] == [["code_location_2_asset"]]

        answer = client.post("/api/v1/runs", json={"selection": "+code_location_2_asset"})
        assert answer.status_code == 201, answer.text
        runs = answer.json()["runs"]
        assert [r["location"] for r in runs] == ["code_location_1", "code_location_2"]
        for run in runs:
            done = wait_for(
                lambda r=run: (
                    (got := client.get(f"/api/v1/runs/{r['run_id']}").json())["status"] in TERMINAL
                    and got
                ),
                f"run {run['run_id']} to end",
            )
            assert done["status"] == "SUCCESS", (done, server.tail())

    # The downstream location read the upstream's file: the example data volume is shared,
    # and so is value storage.
    volumes = stack.tmp / "volumes"
    assert (volumes / "example-data" / "code_location_2_asset.json").read_text().strip() == "11"
    stored = {p.name for p in (volumes / "storage").iterdir()}
    assert {"code_location_1_asset", "code_location_2_asset"} <= stored

    # Each service's own compose health check passes.
    for name in ("server", *LOCATION_SERVICES):
        checked = stack.health_check(name)
        assert checked.returncode == 0, (name, checked.stdout, checked.stderr)
        assert "all 1 healthy" in checked.stdout

    # The operator's table: everything at once, then with a location that is not there.
    workspace = stack.paths[("server", "/etc/tessera/workspace.yaml")]
    everything = ["health", "--server", stack.url("server"), "--workspace", str(workspace)]
    table = run_tessera(everything, stack.env("server"))
    assert table.returncode == 0, table.stdout + table.stderr
    rows = table.stdout.splitlines()[1:-1]
    assert [row.split()[:2] for row in rows] == [
        ["server", "server"],
        ["location", "code_location_1"],
        ["location", "code_location_2"],
    ]
    assert all(" healthy " in row for row in rows)

    dead = f"127.0.0.1:{free_port()}"
    table = run_tessera([*everything, "--location", f"gone={dead}"], stack.env("server"))
    assert table.returncode == 1
    [gone] = [row for row in table.stdout.splitlines() if row.startswith("location  gone")]
    assert dead in gone
    assert "UNHEALTHY" in gone
    assert table.stdout.rstrip().endswith("1 of 4 unhealthy: gone")
