"""Running and checking migrations (Alembic, ``migrations/`` at the top of the repository)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine

import migrations

__all__ = ["SchemaBehind", "check_at_head", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(migrations.__file__).resolve().parent


class SchemaBehind(RuntimeError):
    """The database schema is older than this server; ``tessera migrate`` fixes it."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the schema of the database at ``url`` to ``revision``."""
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_at_head(engine: Engine) -> None:
    """Raise ``SchemaBehind`` unless the schema is at the head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaBehind(
            f"the database schema is {state}, but this server needs revision {head}; "
            "run `tessera migrate` (with the same --database-url) first"
        )


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def engine_for(url: str) -> Engine:
    _ensure_sqlite_dir(url)
    return create_engine(url)
