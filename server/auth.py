"""Who may call the API: scopes, the caller a request authenticates as, and API token secrets.

Pure: nothing here touches the database or a request. ``server.services.tokens`` looks
tokens up; ``server.api.deps.require`` asks every route for the scope it needs.

Scopes are ordered, each holding the ones before it::

    read     list and read everything
    launch   also launch and cancel runs (only in its locations, when it is limited)
    admin    also add, delete and reload code locations, and manage tokens

A token's secret is shown once, when it is created; the database keeps its SHA-256. The
secret holds 256 random bits, so a hash of it needs no salt nor stretching to be safe, and
looking a token up by its hash compares nothing an attacker could time.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

__all__ = [
    "ANONYMOUS",
    "BOOTSTRAP",
    "SECRET_PREFIX",
    "Principal",
    "Scope",
    "hash_secret",
    "is_loopback",
    "new_secret",
    "new_token_id",
    "parse_expiry",
]

#: Every secret starts with this, so that a secret scanner can recognise one in a leak.
SECRET_PREFIX = "tessera_"


class Scope(enum.StrEnum):
    READ = "read"
    LAUNCH = "launch"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Scope).index(self)

    def allows(self, needed: Scope) -> bool:
        """Whether a caller of this scope may do what ``needed`` is required for."""
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Principal:
    """The caller of a request, as authenticated.

    ``locations`` limits where it may launch and cancel runs (``None``: everywhere).
    """

    name: str
    scope: Scope
    locations: frozenset[str] | None = None
    anonymous: bool = False


#: The caller of a server bound to loopback, when no token is configured: may do anything.
ANONYMOUS = Principal(name="anonymous", scope=Scope.ADMIN, anonymous=True)
#: The caller presenting ``TESSERA_API_TOKEN``.
BOOTSTRAP = Principal(name="TESSERA_API_TOKEN", scope=Scope.ADMIN)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(6)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether a server bound to ``host`` can be reached only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


_DURATION = re.compile(r"^(?P<count>\d{1,6})(?P<unit>[mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str, now: float | None = None) -> float:
    """When a token given ``--expires TEXT`` expires, in seconds since the epoch.

    ``TEXT`` is a duration from now (``90m``, ``12h``, ``30d``, ``2w``) or an ISO 8601 date
    or time (``2027-01-31``, ``2027-01-31T12:00:00+01:00``; UTC when it names no zone; a
    date means its midnight UTC). Raises ``ValueError`` naming what it expected, or when the
    moment is already past.
    """
    now = time.time() if now is None else now
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        seconds = int(match["count"]) * _UNIT_SECONDS[match["unit"]]
        if seconds == 0:
            raise ValueError(f"an expiry of {text!r} has already passed")
        return now + seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError(
                f"expiry {text!r} is neither a duration (90m, 12h, 30d, 2w) nor an ISO 8601 "
                "date or time (2027-01-31, 2027-01-31T12:00:00Z)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    expires = moment.timestamp()
    if expires <= now:
        raise ValueError(f"expiry {text!r} is in the past")
    return expires
