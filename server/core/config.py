"""Settings of the server: flags, then ``TESSERA_*`` environment variables, then defaults.

The SDK reads its own variables (``codeloc._settings``: storage, executor, logging, Celery);
the one both read, ``TESSERA_HOME``, has one default, and on both sides an empty variable
counts as unset. ``TESSERA_LOCATION_SECRET`` is read by both too: the server sends it on
every call to a code location, which checks it (``codeloc.grpc._security``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from codeloc._errors import SettingsInvalid
from codeloc._settings import DEFAULT_HOME, DEFAULT_MAX_LAUNCH_BYTES
from codeloc.grpc._security import ClientSecurity

__all__ = ["SERVER_ONLY_VARIABLES", "Settings", "normalize_database_url"]

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the server can be told. Each field is also ``TESSERA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_", extra="ignore", env_ignore_empty=True)

    home: Path = DEFAULT_HOME
    database_url: str = ""
    workspace: Path | None = None
    host: str = "127.0.0.1"
    port: int = 3000
    #: the address code locations send run events to; derived from host and port if unset
    public_url: str = ""
    #: the bootstrap admin token: with it, every API request but health and ingest needs a
    #: token (``Authorization: Bearer …``); ``tessera token create`` makes more
    api_token: str = ""
    #: how often locations are polled for a new server id or a changed snapshot
    location_poll_seconds: float = Field(default=2.0, gt=0)
    #: the deadline of each call to a location (info, launch, cancel)
    location_timeout_seconds: float = Field(default=10.0, gt=0)
    #: the deadline of a whole snapshot stream: one still sending then is cut off (``error``)
    snapshot_timeout_seconds: float = Field(default=120.0, gt=0)
    #: a location's snapshot larger than this (as received) is cut off (``error``)
    max_snapshot_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    #: a snapshot of more assets than this (or of twice as many distinct keys) is cut off
    max_snapshot_assets: int = Field(default=1_000_000, gt=0)
    #: at most this many runs STARTING/STARTED at once (0 = no limit)
    max_concurrent_runs: int = Field(default=0, ge=0)
    #: at most this many active runs of a location: ``{"location": N}`` (JSON in the variable)
    location_run_limits: dict[str, int] = Field(default_factory=dict)
    #: at most this many active runs carrying a tag: ``{"team=data": N}`` (JSON)
    tag_run_limits: dict[str, int] = Field(default_factory=dict)
    #: a run still STARTING after this many seconds has failed to launch
    starting_timeout_seconds: float = Field(default=30.0, gt=0)
    #: the runs of a location unreachable for this long fail: nobody can report or cancel them
    lost_location_seconds: float = Field(default=60.0, gt=0)
    #: connections kept open to the database, and how many more it may open under load
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    #: how long a request waits for a free connection before it is answered 503
    database_pool_timeout: float = Field(default=30.0, gt=0)
    #: requests at work on the database at once (0: the pool's connections less those the
    #: run coordinator may hold); the others wait for their turn, holding nothing
    api_database_threads: int = Field(default=0, ge=0)
    #: how long a launch's ``Idempotency-Key`` is remembered
    idempotency_key_seconds: float = Field(default=24 * 3600.0, gt=0)
    #: check that the database schema is at head before serving
    check_schema: bool = True
    #: the largest request body the API reads; a larger one is answered 413 unread
    max_request_bytes: int = Field(default=16 * MiB, gt=0)
    #: the same for a run worker's batch of events (up to 10,000 events of user text)
    max_ingest_request_bytes: int = Field(default=64 * MiB, gt=0)
    #: the largest launch message a location receives (the location reads this variable
    #: too): a run whose config makes a larger one is refused at launch, not failed later
    max_launch_bytes: int = Field(default=DEFAULT_MAX_LAUNCH_BYTES, gt=0)
    #: sent on every call to a code location, which must have the same one
    location_secret: str = ""
    #: the CA that signed the code locations' certificates: calls to them go over TLS
    location_tls_ca: Path | None = None
    #: the server's certificate and key, for locations that require mutual TLS
    location_tls_client_cert: Path | None = None
    location_tls_client_key: Path | None = None

    @model_validator(mode="after")
    def _location_tls(self) -> Settings:
        try:
            self.location_client_security()
        except SettingsInvalid as exc:
            raise ValueError(str(exc)) from None
        return self

    def location_client_security(self) -> ClientSecurity:
        """What the server's client of a code location presents, and how."""
        return ClientSecurity(
            secret=self.location_secret or None,
            tls_ca=self.location_tls_ca,
            tls_cert=self.location_tls_client_cert,
            tls_key=self.location_tls_client_key,
        )

    @field_validator("location_run_limits", "tag_run_limits")
    @classmethod
    def _limits(cls, limits: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        for name, limit in limits.items():
            if limit < 0:
                raise ValueError(f"the limit of {name!r} must be 0 or more, got {limit}")
            if info.field_name == "tag_run_limits" and "=" not in name:
                raise ValueError(f"a tag limit is keyed 'key=value', got {name!r}")
        return limits

    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.home / 'tessera.db'}"
        return normalize_database_url(url)

    def resolved_api_database_threads(self, background: int) -> int:
        """The API's share of the pool, when not set: what ``background`` work leaves."""
        if self.api_database_threads:
            return self.api_database_threads
        return max(1, self.database_pool_size + self.database_max_overflow - background)

    def resolved_public_url(self, port: int | None = None) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{port or self.port}"


SHARED_VARIABLES = frozenset({"TESSERA_HOME", "TESSERA_LOCATION_SECRET"})
"""Settings of the server that code locations read as well (``codeloc._settings``)."""

SERVER_ONLY_VARIABLES: frozenset[str] = (
    frozenset(f"TESSERA_{name.upper()}" for name in Settings.model_fields) - SHARED_VARIABLES
)
"""The variables that only the server reads: its database URL, its API token, its TLS client
key, …; derived from the fields, so that a new secret setting is on the list by itself.
``tessera dev`` keeps them from the code locations it starts: user code never sees them."""


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL says (``postgres://`` included)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
