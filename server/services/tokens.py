"""API tokens: making, listing and revoking them, and telling who a request's caller is.

Used by the API (``/api/v1/tokens``, and every route through ``server.api.deps.require``)
and by ``tessera token``, which works on the database directly. These functions block.

Who an anonymous caller is depends on whether the server has any token at all:

- some token exists (``TESSERA_API_TOKEN``, or any row, revoked and expired ones included):
  every call needs one. Revoking the last token does not open the server again.
- none, bound to loopback (``tessera dev``): the caller may do anything, as before tokens.
- none, bound to another address: the caller may read; launching, canceling and managing
  locations and tokens are refused, naming how to make a token.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Sequence

from server.auth import (
    ANONYMOUS,
    BOOTSTRAP,
    Principal,
    Scope,
    hash_secret,
    is_loopback,
    new_secret,
    new_token_id,
    parse_expiry,
)
from server.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from server.schemas import TokenCreate, TokenCreatedPublic, TokenPublic, TokensPublic
from server.storage import tokens as token_store
from server.storage.db import Database
from server.storage.models import ApiTokenRow

__all__ = [
    "HOW_TO_MAKE_A_TOKEN",
    "Authenticator",
    "check_locations",
    "create_token",
    "list_tokens",
    "revoke_token",
]

log = logging.getLogger(__name__)

HOW_TO_MAKE_A_TOKEN = (
    "set TESSERA_API_TOKEN, or run `tessera token create --scope admin` against this "
    "server's database, and send 'Authorization: Bearer <token>'"
)

#: ``last_used_at`` is written at most this often per token.
TOUCH_EVERY_SECONDS = 60.0
#: How long a server without tokens trusts that answer before asking the database again.
NO_TOKENS_KEPT_SECONDS = 1.0


def create_token(database: Database, request: TokenCreate) -> TokenCreatedPublic:
    """A new token, with its secret: the one time the secret is shown."""
    if request.locations is not None and request.scope is not Scope.LAUNCH:
        raise InvalidRequest(
            "locations limit where a token launches and cancels runs: they go with scope "
            f"'launch', not '{request.scope}' (reads are never limited; admin reaches all)"
        )
    now = time.time()
    try:
        expires_at = None if request.expires is None else parse_expiry(request.expires, now)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    secret = new_secret()
    with database.transaction() as session:
        row = token_store.create_token(
            session,
            token_id=new_token_id(),
            secret_hash=hash_secret(secret),
            scope=request.scope.value,
            name=request.name,
            locations=None if request.locations is None else sorted(set(request.locations)),
            created_at=now,
            expires_at=expires_at,
        )
        public = _token(row)
    log.info("API token %s created (scope %s)", public.id, public.scope)
    return TokenCreatedPublic(**public.model_dump(), secret=secret)


def list_tokens(database: Database) -> TokensPublic:
    with database.transaction() as session:
        return TokensPublic(tokens=[_token(r) for r in token_store.list_tokens(session)])


def revoke_token(database: Database, token_id: str) -> TokenPublic:
    """The token, revoked from now on (or since it was revoked already)."""
    with database.transaction() as session:
        if token_store.get_token(session, token_id) is None:
            raise NotFound(f"no API token '{token_id}'")
        if token_store.revoke_token(session, token_id, time.time()):
            log.info("API token %s revoked", token_id)
        row = token_store.get_token(session, token_id)
        assert row is not None
        session.refresh(row)
        return _token(row)


class Authenticator:
    """Tells who the caller of a request is, from its ``Authorization`` header."""

    def __init__(self, database: Database, *, bootstrap_token: str, host: str) -> None:
        self.database = database
        self.bootstrap_token = bootstrap_token
        self.host = host
        self.loopback = is_loopback(host)
        # Tokens are never deleted: once one exists, it always will. Until then the answer
        # "none" is kept a moment: `tessera token create` may add one to the database of a
        # running server, which then needs tokens within that moment.
        self._tokens_exist = bool(bootstrap_token)
        self._none_until = 0.0

    def tokens_exist(self) -> bool:
        """Whether calls need a token."""
        if not self._tokens_exist and time.monotonic() >= self._none_until:
            with self.database.transaction() as session:
                self._tokens_exist = token_store.any_token(session)
            self._none_until = time.monotonic() + NO_TOKENS_KEPT_SECONDS
        return self._tokens_exist

    def needs_database(self, authorization: str | None) -> bool:
        """Whether :meth:`authenticate` would ask the database (and so should run off the
        event loop)."""
        if authorization:
            return not self._is_bootstrap(authorization)
        return not self._tokens_exist and time.monotonic() >= self._none_until

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller. Raises ``Unauthorized`` for a missing token where one is needed, and
        for an unknown, expired or revoked one."""
        if not authorization:
            if self.tokens_exist():
                raise Unauthorized("this server needs 'Authorization: Bearer <token>'")
            if self.loopback:
                return ANONYMOUS
            return Principal(name="anonymous", scope=Scope.READ, anonymous=True)
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        if self._is_bootstrap(authorization):
            return BOOTSTRAP
        return self._token_principal(secret)

    def _is_bootstrap(self, authorization: str) -> bool:
        scheme, _, secret = authorization.partition(" ")
        return (
            bool(self.bootstrap_token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(secret.strip().encode(), self.bootstrap_token.encode())
        )

    def _token_principal(self, secret: str) -> Principal:
        now = time.time()
        with self.database.transaction() as session:
            row = token_store.find_by_hash(session, hash_secret(secret))
            if row is None:
                raise Unauthorized("unknown API token")
            if row.revoked_at is not None:
                raise Unauthorized(f"API token '{row.id}' was revoked")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthorized(f"API token '{row.id}' expired")
            token_store.touch_token(session, row.id, now, TOUCH_EVERY_SECONDS)
            self._tokens_exist = True
            return Principal(
                name=f"token '{row.id}'",
                scope=Scope(row.scope),
                locations=None if row.locations is None else frozenset(row.locations),
            )

    def authorize(self, principal: Principal, needed: Scope) -> None:
        """Raise ``Forbidden`` unless ``principal`` may do what needs ``needed``."""
        if principal.scope.allows(needed):
            return
        if principal.anonymous:
            raise Forbidden(
                f"anonymous callers may only read on a server bound to {self.host}; this "
                f"needs scope '{needed}': {HOW_TO_MAKE_A_TOKEN}",
                required_scope=needed.value,
            )
        raise Forbidden(
            f"this needs scope '{needed}'; {principal.name} has scope '{principal.scope}'",
            required_scope=needed.value,
        )


def check_locations(allowed: frozenset[str] | None, locations: Sequence[str], what: str) -> None:
    """Raise ``Forbidden`` naming the first of ``locations`` outside ``allowed``."""
    if allowed is None:
        return
    outside = sorted(set(locations) - allowed)
    if outside:
        raise Forbidden(
            f"{what} in location '{outside[0]}': this token may only launch and cancel "
            f"runs in {', '.join(repr(n) for n in sorted(allowed))}",
            location=outside[0],
        )


def _token(row: ApiTokenRow) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        scope=Scope(row.scope),
        locations=row.locations,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
