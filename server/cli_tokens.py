"""``tessera token create|list|revoke``: API tokens, on the server's database directly.

The same service functions as ``/api/v1/tokens`` (``server.services.tokens``), so the rules
are the same whichever way a token is made; a running server sees a new token within a
second. The secret of a new token is printed once, on standard output, alone on its line
after the details, so that a script can take the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from server.core.config import Settings
from server.errors import ServerError
from server.schemas import TokenCreate, TokenPublic
from server.services import tokens
from server.storage.db import Database
from server.storage.migrate import SchemaBehind, check_at_head

__all__ = ["create", "list_all", "revoke"]


def create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        request = TokenCreate(
            scope=args.scope, locations=args.locations, expires=args.expires, name=args.name
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _with_database(settings, lambda db: _create(db, request))


def list_all(settings: Settings, args: argparse.Namespace) -> int:
    return _with_database(settings, lambda db: _list(db, as_json=args.json))


def revoke(settings: Settings, args: argparse.Namespace) -> int:
    return _with_database(settings, lambda db: _revoke(db, args.token_id))


def _create(database: Database, request: TokenCreate) -> int:
    created = tokens.create_token(database, request)
    print(f"created API token {created.id}: {_describe(created)}")
    print("its secret, shown this once (the server keeps only a hash):")
    print(created.secret)
    return 0


def _list(database: Database, *, as_json: bool) -> int:
    listed = tokens.list_tokens(database).tokens
    if as_json:
        print(json.dumps([t.model_dump(mode="json") for t in listed], indent=2))
        return 0
    if not listed:
        print("no API tokens")
        return 0
    header = ("ID", "NAME", "SCOPE", "LOCATIONS", "CREATED", "EXPIRES", "LAST USED", "STATE")
    rows = [
        (
            t.id,
            t.name or "",
            t.scope.value,
            ",".join(t.locations) if t.locations is not None else "all",
            _when(t.created_at),
            _when(t.expires_at) or "never",
            _when(t.last_used_at) or "never",
            _state(t),
        )
        for t in listed
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _revoke(database: Database, token_id: str) -> int:
    revoked = tokens.revoke_token(database, token_id)
    print(f"API token {revoked.id} revoked at {_when(revoked.revoked_at)}")
    return 0


def _with_database(settings: Settings, work: Callable[[Database], int]) -> int:
    database = Database(settings.resolved_database_url())
    try:
        check_at_head(database.engine)
        return work(database)
    except (SchemaBehind, ServerError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    finally:
        database.dispose()


def _describe(token: TokenPublic) -> str:
    label = f" '{token.name}'" if token.name else ""
    where = "" if token.locations is None else f", launches only in {', '.join(token.locations)}"
    expires = _when(token.expires_at) or "never"
    return f"scope {token.scope.value}{label}{where}, expires {expires}"


def _state(token: TokenPublic) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= time.time():
        return "expired"
    return "active"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
