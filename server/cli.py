"""``tessera``: the one command line of the project.

Subcommands come from the SDK (``materialize``, ``codeloc``, ``celery-worker``) and from the
server (``server``, ``dev``, ``migrate``, ``health``); each imports its machinery only when it
runs. The SDK's commands and ``health`` need only the base install, which a code location's
image has; ``server``, ``dev`` and ``migrate`` need the ``server`` extra. Every command
configures logging first (``TESSERA_LOG_LEVEL``, ``TESSERA_LOG_FORMAT``).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

from codeloc import cli as codeloc_cli
from codeloc._errors import SettingsInvalid
from codeloc._logging import configure_logging
from codeloc._settings import Settings as SdkSettings

__all__ = ["main"]

log = logging.getLogger(__name__)

#: The top-level modules of the ``server`` extra, and the commands that need them.
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "pydantic_settings",
    "orjson",
    "jsonschema",
)
SERVER_COMMANDS = frozenset({"server", "dev", "migrate", "token"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: software-defined assets across code locations.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    codeloc_cli.register(subparsers)
    _register_server(subparsers)
    return parser


def _register_server(subparsers: Any) -> None:
    server = subparsers.add_parser("server", help="run the central server (production)")
    server.add_argument("--workspace", type=Path, help="workspace.yaml listing the locations")
    server.add_argument("--database-url", help="default: TESSERA_DATABASE_URL, else SQLite")
    server.add_argument("--host", help="default 127.0.0.1 (TESSERA_HOST)")
    server.add_argument("--port", type=int, help="default 3000 (TESSERA_PORT)")
    server.set_defaults(handler=_server)

    migrate = subparsers.add_parser("migrate", help="upgrade the database schema to head")
    migrate.add_argument("--database-url", help="default: TESSERA_DATABASE_URL, else SQLite")
    migrate.set_defaults(handler=_migrate)

    dev = subparsers.add_parser(
        "dev",
        help="everything on one machine: SQLite, a process per code location, server and UI",
    )
    dev.add_argument("-m", "--module", action="append", default=[], help="a code location module")
    dev.add_argument("-f", "--file", action="append", default=[], help="a code location file")
    dev.add_argument("-d", "--working-directory", help="put this directory on sys.path")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1")
    dev.set_defaults(handler=_dev)

    _register_token(subparsers)

    health = subparsers.add_parser(
        "health",
        help="print the health of the server and of every code location in one table",
        description="Check the server (GET /api/v1/health) and code locations (the standard "
        "gRPC health service) at once, one row each. Exits 0 only if every one is healthy, "
        "so it also serves as a container health check.",
    )
    health.add_argument("--server", metavar="URL", help="the server's base URL")
    health.add_argument(
        "--workspace", type=Path, metavar="FILE", help="check every location of a workspace.yaml"
    )
    health.add_argument(
        "--location",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="a code location to check (repeatable)",
    )
    health.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds per check (default 5)"
    )
    health.set_defaults(handler=_health)


def _register_token(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token",
        help="make, list and revoke API tokens (in the database, like migrate)",
        description="API tokens, each with a scope: 'read' lists and reads, 'launch' also "
        "launches and cancels runs (only in its locations, if given), 'admin' also manages "
        "code locations and tokens. Works on the server's database directly.",
    )
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="make a token and print its secret, once")
    create.add_argument("--scope", required=True, choices=["read", "launch", "admin"])
    create.add_argument(
        "--location",
        dest="locations",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="launch and cancel runs only in these locations (scope launch; repeatable)",
    )
    create.add_argument(
        "--expires", metavar="WHEN", help="a duration (90m, 12h, 30d, 2w) or an ISO 8601 date"
    )
    create.add_argument("--name", metavar="LABEL", help="what the token is for")
    create.set_defaults(handler=_token_create)

    listing = actions.add_parser("list", help="every token, without secrets")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    listing.set_defaults(handler=_token_list)

    revoke = actions.add_parser("revoke", help="revoke a token from now on")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=_token_revoke)

    for action in (create, listing, revoke):
        action.add_argument("--database-url", help="default: TESSERA_DATABASE_URL, else SQLite")


def _settings(args: argparse.Namespace) -> Any:
    from server.core.config import Settings

    overrides = {
        k: v
        for k, v in {
            "database_url": getattr(args, "database_url", None),
            "workspace": getattr(args, "workspace", None),
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
        }.items()
        if v is not None
    }
    return Settings(**overrides)


def _migrate(args: argparse.Namespace) -> int:
    from server.storage.migrate import head_revision, upgrade

    settings = _settings(args)
    url = settings.resolved_database_url()
    upgrade(url)
    print(f"database schema is at revision {head_revision()} ({_redact(url)})")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from server.cli_tokens import create

    return create(_settings(args), args)


def _token_list(args: argparse.Namespace) -> int:
    from server.cli_tokens import list_all

    return list_all(_settings(args), args)


def _token_revoke(args: argparse.Namespace) -> int:
    from server.cli_tokens import revoke

    return revoke(_settings(args), args)


def _server(args: argparse.Namespace) -> int:
    import uvicorn

    from server.api.app import create_app
    from server.storage.migrate import SchemaBehind

    settings = _settings(args)
    _log_start(settings)
    app = create_app(settings, port=settings.port)
    try:
        # log_config=None: uvicorn's loggers keep the configuration main() made, so its
        # access and error lines come out in the same format as every other line.
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)
    except SchemaBehind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _log_start(settings: Any) -> None:
    """Say at INFO where the server listens, which database it uses and what it will load."""
    from server.workspace.config import load_workspace

    url = settings.resolved_database_url()
    log.info(
        "tessera server starting on http://%s:%d; database %s; run events arrive at %s",
        settings.host,
        settings.port,
        _redact(url),
        settings.resolved_public_url(),
    )
    if settings.workspace is None:
        log.info("no workspace file: code locations are added through the API")
        return
    try:
        locations = load_workspace(settings.workspace).locations
    except ValueError:
        return  # the application says what is wrong with the file when it loads it
    listed = ", ".join(f"{loc.name} at {loc.grpc}" for loc in locations)
    log.info("workspace %s: %s", settings.workspace, listed or "no code locations")


def _dev(args: argparse.Namespace) -> int:
    from server.devmode import run_dev

    if not args.module and not args.file:
        print("error: give at least one code location: -m MODULE or -f FILE", file=sys.stderr)
        return 2
    return run_dev(
        modules=args.module,
        files=args.file,
        working_directory=args.working_directory,
        host=args.host,
        port=args.port,
    )


def _health(args: argparse.Namespace) -> int:
    from server.health import main as health_main

    return health_main(
        server=args.server,
        workspace=args.workspace,
        locations=args.location,
        timeout=args.timeout,
    )


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def _missing_server_modules() -> list[str]:
    missing = []
    for name in SERVER_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        configure_logging(SdkSettings.from_env())
    except SettingsInvalid as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.command in SERVER_COMMANDS and (missing := _missing_server_modules()):
        print(
            f"error: 'tessera {args.command}' needs the server's libraries "
            f"({', '.join(missing)} missing): pip install 'tessera[server]'",
            file=sys.stderr,
        )
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = _settings_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


def _settings_error(exc: BaseException) -> str | None:
    """A setting that does not parse or validate, said in one line per setting."""
    if isinstance(exc, SettingsInvalid):
        return f"invalid settings: {exc}"
    if "pydantic_settings" not in sys.modules:
        return None  # not the server's settings: a command without the server extra
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        # An error of one field names its variable; one of several (a model validator, with
        # no location) names them in its message.
        problems = [
            f"TESSERA_{str(e['loc'][0]).upper()}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        ]
        return "invalid settings: " + "; ".join(problems)
    if isinstance(exc, SettingsError):
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        return f"invalid settings: {exc}{cause}"
    return None


if __name__ == "__main__":
    sys.exit(main())
