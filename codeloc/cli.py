"""The SDK's commands: ``tessera materialize`` and ``tessera codeloc``.

``register(subparsers)`` adds them to the ``tessera`` command line; the handlers import what
they need when they run, so that ``tessera --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from codeloc._runs import EXECUTOR_NAMES

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the SDK's subcommands to an ``argparse`` subparsers object."""
    mat = subparsers.add_parser(
        "materialize",
        help="materialize assets in this process, with no server",
        description="Materialize the selected assets of a module in this process.",
    )
    _add_source_args(mat)
    mat.add_argument(
        "--select",
        default="*",
        help="a selection expression, e.g. 'group:sales' or '+my_asset' (default: all)",
    )
    mat.add_argument("--config", help="run config as JSON, or @file.json")
    mat.add_argument("--executor", choices=EXECUTOR_NAMES, default="in_process")
    mat.add_argument("--json", action="store_true", help="print the events as JSON lines")
    mat.set_defaults(handler=_materialize)

    loc = subparsers.add_parser(
        "codeloc",
        help="serve one code location over gRPC",
        description="Serve the definitions of a module over gRPC and run its runs, each in a "
        "worker forked from a process that has already imported the code. Prints "
        "'serving NAME on HOST:PORT' once listening; SIGTERM or SIGINT drains running work, "
        "then exits. Callers must present TESSERA_LOCATION_SECRET when it is set; "
        "TESSERA_LOCATION_TLS_CERT and _KEY (and _CLIENT_CA for mutual TLS) turn on TLS.",
    )
    _add_source_args(loc)
    loc.add_argument("--host", default="127.0.0.1", help="address to listen on")
    loc.add_argument("--port", type=int, default=4000, help="port to listen on; 0 picks a free one")
    loc.add_argument("--name", help="the location's name (default: the module name)")
    loc.add_argument(
        "--shutdown-grace",
        type=float,
        default=30.0,
        help="seconds running work may take to finish on shutdown before it is canceled",
    )
    loc.add_argument(
        "--executor",
        choices=["multiprocess", "in_process", "celery"],
        default=None,
        help="how runs execute their steps unless the launch says otherwise: a process per "
        "step, all in the run's process, or Celery tasks (TESSERA_CELERY_BROKER; workers "
        "started with 'tessera celery-worker'); default: $TESSERA_EXECUTOR or multiprocess",
    )
    loc.set_defaults(handler=_codeloc)

    cel = subparsers.add_parser(
        "celery-worker",
        help="run the steps of a code location's runs as a Celery worker",
        description="Import the code once, then execute the steps that runs of the celery "
        "executor send to the queue (TESSERA_CELERY_BROKER, TESSERA_CELERY_BACKEND, "
        "TESSERA_CELERY_QUEUE). Values pass through TESSERA_STORAGE, which must be the "
        "location's.",
    )
    _add_source_args(cel)
    cel.add_argument("--concurrency", type=int, help="worker processes (default: one per CPU)")
    cel.add_argument(
        "--hostname", help="the worker's node name, unique to it (default: tessera.PID@HOST)"
    )
    cel.set_defaults(handler=_celery_worker)


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-m", "--module", help="a module with a Definitions object or assets")
    source.add_argument("-f", "--file", help="a Python file with a Definitions object or assets")
    source.add_argument("--package", help="a package whose submodules hold assets")
    parser.add_argument("-d", "--working-directory", help="put this directory on sys.path")


def _load_run_config(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    text = Path(raw[1:]).read_text() if raw.startswith("@") else raw
    value = json.loads(text)
    if not isinstance(value, dict):
        raise SystemExit("error: --config must be a JSON object")
    return value


def _materialize(args: argparse.Namespace) -> int:
    from codeloc._errors import TesseraError
    from codeloc._loading import load_definitions
    from codeloc._selection import parse_selection
    from codeloc.engine import EventType, FilesystemIOManager, materialize
    from codeloc.engine._progress import Progress

    try:
        defs = load_definitions(
            module=args.module,
            file=args.file,
            package=args.package,
            working_directory=args.working_directory,
        )
        selection = parse_selection(args.select).resolve(defs.graph)
        run_config = _load_run_config(args.config)
    except (TesseraError, ImportError, ValueError, OSError) as exc:
        # ImportError: a module that does not exist is a bad argument, not a failed run.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not selection:
        print(f"error: '{args.select}' selects no asset", file=sys.stderr)
        return 2
    progress = Progress(len(selection), enabled=sys.stderr.isatty() and not args.json)
    started = time.perf_counter()

    def on_event(event: Any) -> None:
        if args.json:
            print(json.dumps(event.describe()), flush=True)
        progress.update(event)

    try:
        result = materialize(
            defs.assets,
            run_config,
            # Unlike materialize() in a test, the command line keeps values in storage, so
            # that a later selection can read what an earlier one produced.
            resources={"io_manager": FilesystemIOManager(), **defs.resources},
            selection=sorted(selection),
            raise_on_error=False,
            executor=args.executor,
            on_event=on_event,
        )
    except TesseraError as exc:
        progress.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress.close()
    if not args.json:
        for event in result.all_events:
            if event.type is EventType.ASSET_MATERIALIZATION:
                meta = ", ".join(f"{k}={v.value}" for k, v in event.metadata.items())
                assert event.asset_key is not None
                print(
                    f"materialized {event.asset_key.to_user_string()}"
                    + (f"  {meta}" if meta else "")
                )
            elif event.type is EventType.STEP_FAILURE:
                print(f"FAILED {event.step_key}: {event.error}", file=sys.stderr)
            elif event.type is EventType.ENGINE_EVENT and event.level == "WARNING":
                print(event.message, file=sys.stderr)
        elapsed = time.perf_counter() - started
        state = "succeeded" if result.success else "FAILED"
        print(f"run {result.run_id} {state} in {elapsed:.2f}s")
    return 0 if result.success else 1


def _codeloc(args: argparse.Namespace) -> int:
    from codeloc._settings import Settings
    from codeloc.grpc._model import CodeSource
    from codeloc.grpc._security import LocationSecurity
    from codeloc.grpc.server import serve

    # main() has read the settings once already: a bad one never gets this far.
    settings = Settings.from_env()
    executor = args.executor or settings.executor
    source = CodeSource(
        module=args.module,
        file=args.file,
        package=args.package,
        working_directory=args.working_directory,
    )
    try:
        return serve(
            source,
            name=args.name,
            host=args.host,
            port=args.port,
            shutdown_grace=args.shutdown_grace,
            executor=executor,
            security=LocationSecurity.from_settings(settings),
        )
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _celery_worker(args: argparse.Namespace) -> int:
    import gc
    import socket

    from codeloc._errors import TesseraError
    from codeloc._loading import load_definitions
    from codeloc.engine._celery import CelerySettings, celery_app, register_step_task

    try:
        settings = CelerySettings.from_env()
    except TesseraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Importing builds objects that live as long as the worker: no collections meanwhile.
    gc.disable()
    try:
        defs = load_definitions(
            module=args.module,
            file=args.file,
            package=args.package,
            working_directory=args.working_directory,
        )
    except (TesseraError, ImportError, ValueError, OSError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        gc.enable()
    gc.freeze()  # the pool's forked processes then share these pages
    _leave_logging_to_tessera()
    app = celery_app(settings)
    register_step_task(app, defs)
    # Unique per process: two workers of one node name share its control queue, and one of
    # them then misses revokes (a cancel would not stop its steps).
    hostname = args.hostname or f"tessera.{os.getpid()}@{socket.gethostname()}"
    print(
        f"celery worker {hostname}: {len(defs.graph.all_keys)} assets, queue "
        f"'{settings.queue}' on {_redacted(settings.broker)}",
        flush=True,
    )
    worker = app.Worker(
        hostname=hostname,
        queues=[settings.queue],
        concurrency=args.concurrency,
        pool="prefork",
        loglevel="WARNING",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def _leave_logging_to_tessera() -> None:
    """Keep the logging ``tessera`` configured when the Celery worker starts: a receiver of
    ``setup_logging`` tells Celery not to set the root level or wrap ``print`` in its
    loggers."""
    from celery import signals

    def keep(**_: Any) -> None:
        pass

    signals.setup_logging.connect(keep, weak=False)


def _redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
