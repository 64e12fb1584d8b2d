"""The database schema, as SQLAlchemy 2 models. Every change here is a migration too."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiTokenRow",
    "Base",
    "IdempotencyKeyRow",
    "LatestMaterializationRow",
    "LocationRow",
    "MaterializationRow",
    "RunEventRow",
    "RunRow",
    "RunTagRow",
]

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(255))
    job_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    asset_keys: Mapped[list[Any]] = mapped_column(JSON)
    run_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: runs of other locations that must succeed before this one starts
    depends_on: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    #: the server id of the location process the run was launched on
    location_server_id: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_runs_status_id", "status", "id"),
        Index("ix_runs_location_status", "location", "status"),
    )


class RunTagRow(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))

    __table_args__ = (Index("ix_run_tags_key_value", "key", "value"),)


class RunEventRow(Base):
    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(32))
    # Free-form text of user code (custom log levels, op names, versions) has no length limit:
    # a value longer than a column would make the database refuse a run's events forever.
    level: Mapped[str] = mapped_column(Text)
    step_key: Mapped[str | None] = mapped_column(Text)
    asset_key: Mapped[str | None] = mapped_column(String(1024))
    message: Mapped[str] = mapped_column(Text)
    event_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_events_run_seq"),)


class MaterializationRow(Base):
    __tablename__ = "asset_materializations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    asset_key: Mapped[str] = mapped_column(String(1024))
    run_id: Mapped[str] = mapped_column(String(64))
    event_seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    code_version: Mapped[str | None] = mapped_column(Text)
    data_version: Mapped[str | None] = mapped_column(Text)
    mat_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_materializations_key_id", "asset_key", "id"),)


class LatestMaterializationRow(Base):
    """One row per asset, replaced in the transaction that stores a new materialization."""

    __tablename__ = "latest_materializations"

    asset_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    materialization_id: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[float] = mapped_column(Float)
    code_version: Mapped[str | None] = mapped_column(Text)
    data_version: Mapped[str | None] = mapped_column(Text)
    mat_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON)


class LocationRow(Base):
    """Locations added at runtime through the API (those of workspace.yaml are not stored)."""

    __tablename__ = "code_locations"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    address: Mapped[str] = mapped_column(String(512))
    added_at: Mapped[float] = mapped_column(Float)


class ApiTokenRow(Base):
    """An API token: its scope, where it may launch, its lifetime, and the SHA-256 of its
    secret (the secret itself is shown once, when it is made, and kept nowhere)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))
    #: the locations it may launch and cancel runs in; null = all
    locations: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class IdempotencyKeyRow(Base):
    """A launch's ``Idempotency-Key``: the request it came with and the runs it created.

    The key is the primary key: of two requests with one key, the second to insert it waits
    for the first to commit and fails, and creates nothing.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: SHA-256 of the request body, canonical JSON
    request_hash: Mapped[str] = mapped_column(String(64))
    run_ids: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)
