"""Who may call a code location: a shared secret, and optionally TLS or mutual TLS.

Two frozen values, one per end of the channel, with no gRPC in them (the client and the
server turn them into gRPC credentials):

=====================================  =====================  ================================
variable                               ``LocationSecurity``   ``ClientSecurity`` (the server)
=====================================  =====================  ================================
``TESSERA_LOCATION_SECRET``            ``secret``             ``secret``
``TESSERA_LOCATION_TLS_CERT``          ``tls_cert``           (location only)
``TESSERA_LOCATION_TLS_KEY``           ``tls_key``            (location only)
``TESSERA_LOCATION_TLS_CLIENT_CA``     ``tls_client_ca``      (location only)
``TESSERA_LOCATION_TLS_CA``            (server only)          ``tls_ca``
``TESSERA_LOCATION_TLS_CLIENT_CERT``   (server only)          ``tls_cert``
``TESSERA_LOCATION_TLS_CLIENT_KEY``    (server only)          ``tls_key``
=====================================  =====================  ================================

The secret travels as ``authorization: Bearer <secret>`` call metadata on every call and is
compared in constant time; without TLS anyone who can watch the network can read it. A
location with a certificate serves TLS only; with a client CA too it also requires a client
certificate signed by that CA (mutual TLS). The server's client speaks TLS when it has a CA
to check the location's certificate with.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codeloc._errors import SettingsInvalid
from codeloc._settings import Settings

__all__ = [
    "METADATA_KEY",
    "ClientSecurity",
    "LocationSecurity",
    "is_loopback",
    "read_pem",
]

METADATA_KEY = "authorization"
"""The call metadata that carries the secret, as ``Bearer <secret>``."""


@dataclass(frozen=True, slots=True)
class LocationSecurity:
    """What a code location asks of its callers. ``LocationSecurity()`` asks nothing."""

    secret: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsInvalid(
                "TESSERA_LOCATION_TLS_CERT and TESSERA_LOCATION_TLS_KEY go together: "
                "set both to serve TLS, or neither"
            )
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise SettingsInvalid(
                "TESSERA_LOCATION_TLS_CLIENT_CA needs TESSERA_LOCATION_TLS_CERT and "
                "TESSERA_LOCATION_TLS_KEY: mutual TLS is TLS first"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> LocationSecurity:
        return cls(
            secret=settings.location_secret,
            tls_cert=settings.location_tls_cert,
            tls_key=settings.location_tls_key,
            tls_client_ca=settings.location_tls_client_ca,
        )

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """What the server's client presents to a code location. ``ClientSecurity()``: nothing,
    over plaintext."""

    secret: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsInvalid(
                "TESSERA_LOCATION_TLS_CLIENT_CERT and TESSERA_LOCATION_TLS_CLIENT_KEY go "
                "together: set both for mutual TLS, or neither"
            )
        if self.tls_cert is not None and self.tls_ca is None:
            raise SettingsInvalid(
                "TESSERA_LOCATION_TLS_CLIENT_CERT needs TESSERA_LOCATION_TLS_CA: a client "
                "certificate is only sent over TLS"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSecurity:
        """Read ``environ`` (default ``os.environ``): for ``tessera health``, which runs
        without the server's settings; the server itself reads ``server.core.config``."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value) if value else None

        return cls(
            secret=get("TESSERA_LOCATION_SECRET"),
            tls_ca=path("TESSERA_LOCATION_TLS_CA"),
            tls_cert=path("TESSERA_LOCATION_TLS_CLIENT_CERT"),
            tls_key=path("TESSERA_LOCATION_TLS_CLIENT_KEY"),
        )

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata every call carries: the secret, if there is one."""
        return ((METADATA_KEY, f"Bearer {self.secret}"),) if self.secret else ()


def read_pem(path: Path, variable: str) -> bytes:
    """The bytes of a PEM file named by a setting; ``SettingsInvalid`` naming the setting
    when it cannot be read, so that a typo fails at start and not at the first call."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SettingsInvalid(f"{variable}: cannot read {path}: {exc.strerror}") from None


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
