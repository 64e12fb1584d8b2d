"""API tokens. Functions flush, never commit. Rows are never deleted: a revoked token stays
listed, with when it was revoked."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.storage.models import ApiTokenRow

__all__ = [
    "any_token",
    "create_token",
    "find_by_hash",
    "get_token",
    "list_tokens",
    "revoke_token",
    "touch_token",
]


def create_token(
    session: Session,
    *,
    token_id: str,
    secret_hash: str,
    scope: str,
    name: str | None,
    locations: Sequence[str] | None,
    created_at: float,
    expires_at: float | None,
) -> ApiTokenRow:
    row = ApiTokenRow(
        id=token_id,
        name=name,
        scope=scope,
        locations=None if locations is None else list(locations),
        created_at=created_at,
        expires_at=expires_at,
        hash=secret_hash,
    )
    session.add(row)
    session.flush()
    return row


def list_tokens(session: Session) -> list[ApiTokenRow]:
    """Every token, the newest first."""
    rows = session.scalars(
        select(ApiTokenRow).order_by(ApiTokenRow.created_at.desc(), ApiTokenRow.id)
    )
    return list(rows)


def get_token(session: Session, token_id: str) -> ApiTokenRow | None:
    return session.get(ApiTokenRow, token_id)


def find_by_hash(session: Session, secret_hash: str) -> ApiTokenRow | None:
    return session.scalars(select(ApiTokenRow).where(ApiTokenRow.hash == secret_hash)).first()


def any_token(session: Session) -> bool:
    """Whether a token was ever made (revoked and expired ones count)."""
    return session.scalars(select(ApiTokenRow.id).limit(1)).first() is not None


def revoke_token(session: Session, token_id: str, now: float) -> bool:
    """Revoke the token; ``False`` if it was revoked already. One conditional ``UPDATE``, so
    the first revocation's time stays."""
    result = session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def touch_token(session: Session, token_id: str, now: float, every: float) -> None:
    """Note that the token was used, unless that was noted less than ``every`` seconds ago:
    a write per request would make every read a write."""
    session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == token_id,
            (ApiTokenRow.last_used_at.is_(None)) | (ApiTokenRow.last_used_at < now - every),
        )
        .values(last_used_at=now)
    )
    session.flush()
