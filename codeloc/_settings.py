"""The SDK's settings: the ``TESSERA_*`` environment variables user code and a location read.

One frozen value, read whole and validated by ``Settings.from_env()``; a variable that does
not parse is a ``SettingsInvalid`` naming it. An empty variable counts as unset.

=========================  ====================  ===========================================
variable                   field                 default
=========================  ====================  ===========================================
``TESSERA_HOME``           ``home``              ``.tessera``
``TESSERA_STORAGE``        ``storage``           none: ``storage_location`` is then
                                                 ``$TESSERA_HOME/storage``
``TESSERA_EXECUTOR``       ``executor``          ``multiprocess`` (``tessera codeloc``)
``TESSERA_LOG_LEVEL``      ``log_level``         ``INFO``
``TESSERA_LOG_FORMAT``     ``log_format``        ``text`` (or ``json``)
``TESSERA_CELERY_BROKER``  ``celery_broker``     none (the celery executor requires one)
``TESSERA_CELERY_BACKEND`` ``celery_backend``    ``rpc://``
``TESSERA_CELERY_QUEUE``   ``celery_queue``      ``tessera``
=========================  ====================  ===========================================

A location (``tessera codeloc``) also reads who may call it, ``TESSERA_LOCATION_SECRET`` and
the ``TESSERA_LOCATION_TLS_*`` files: ``location_secret``, ``location_tls_cert``,
``location_tls_key``, ``location_tls_client_ca``, none by default (``codeloc.grpc._security``
says what each does).

The server's own settings (``server.core.config``) are pydantic-settings; the SDK does not
import pydantic unless user code does, so that a location loads fast. The two share
``TESSERA_HOME`` and its default, ``DEFAULT_HOME``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, get_args

from codeloc._errors import SettingsInvalid
from codeloc._runs import EXECUTOR_NAMES, ExecutorName

__all__ = ["DEFAULT_HOME", "DEFAULT_MAX_LAUNCH_BYTES", "LOG_LEVELS", "LogFormat", "Settings"]

DEFAULT_HOME = Path(".tessera")
#: gRPC's own default limit of a message received.
DEFAULT_MAX_LAUNCH_BYTES = 4 * 1024 * 1024
LogFormat = Literal["text", "json"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_T = TypeVar("_T", bound=str)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment tells the SDK. ``Settings()`` holds the defaults."""

    home: Path = DEFAULT_HOME
    storage: str | None = None
    executor: ExecutorName = "multiprocess"
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    celery_broker: str | None = None
    celery_backend: str = "rpc://"
    celery_queue: str = "tessera"
    location_secret: str | None = None
    location_tls_cert: Path | None = None
    location_tls_key: Path | None = None
    location_tls_client_ca: Path | None = None
    #: the largest launch message the location receives; the server reads the same variable
    #: to refuse a larger launch before it creates the run
    max_launch_bytes: int = DEFAULT_MAX_LAUNCH_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``environ`` (default ``os.environ``); raises ``SettingsInvalid``."""
        env = _Environment(os.environ if environ is None else environ)
        defaults = cls()
        home = env.get("TESSERA_HOME")
        return cls(
            home=Path(home) if home else defaults.home,
            storage=env.get("TESSERA_STORAGE"),
            executor=env.choice("TESSERA_EXECUTOR", EXECUTOR_NAMES, defaults.executor),
            log_level=env.choice("TESSERA_LOG_LEVEL", LOG_LEVELS, defaults.log_level, upper=True),
            log_format=env.choice("TESSERA_LOG_FORMAT", get_args(LogFormat), defaults.log_format),
            celery_broker=env.get("TESSERA_CELERY_BROKER"),
            celery_backend=env.get("TESSERA_CELERY_BACKEND") or defaults.celery_backend,
            celery_queue=env.get("TESSERA_CELERY_QUEUE") or defaults.celery_queue,
            location_secret=env.get("TESSERA_LOCATION_SECRET"),
            location_tls_cert=env.path("TESSERA_LOCATION_TLS_CERT"),
            location_tls_key=env.path("TESSERA_LOCATION_TLS_KEY"),
            location_tls_client_ca=env.path("TESSERA_LOCATION_TLS_CLIENT_CA"),
            max_launch_bytes=env.positive_int(
                "TESSERA_MAX_LAUNCH_BYTES", defaults.max_launch_bytes
            ),
        )

    @property
    def storage_location(self) -> str:
        """Where values are stored by default: ``storage``, else ``home/storage``."""
        return self.storage or str(self.home / "storage")


class _Environment:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        """The variable without surrounding blanks; ``None`` when unset or empty."""
        return self._environ.get(name, "").strip() or None

    def path(self, name: str) -> Path | None:
        value = self.get(name)
        return Path(value) if value else None

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not value.isdigit() or int(value) < 1:
            raise SettingsInvalid(f"{name} must be a whole number above 0; got {value!r}")
        return int(value)

    def choice(self, name: str, allowed: tuple[_T, ...], default: _T, upper: bool = False) -> _T:
        """One of ``allowed`` (compared in capitals with ``upper``), else ``default``."""
        value = self.get(name)
        if value is None:
            return default
        for option in allowed:
            if option == (value.upper() if upper else value):
                return option
        raise SettingsInvalid(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
