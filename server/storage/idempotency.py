"""The ``Idempotency-Key`` of launches: what a key was first used for. Functions flush, never
commit; a key inserted twice raises ``IntegrityError`` at the flush."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.storage.models import IdempotencyKeyRow

__all__ = ["find_key", "forget_keys_before", "remember_key"]


def find_key(session: Session, key: str) -> IdempotencyKeyRow | None:
    return session.execute(
        select(IdempotencyKeyRow).where(IdempotencyKeyRow.key == key)
    ).scalar_one_or_none()


def remember_key(
    session: Session, key: str, request_hash: str, run_ids: Sequence[str], now: float
) -> None:
    session.add(
        IdempotencyKeyRow(key=key, request_hash=request_hash, run_ids=list(run_ids), created_at=now)
    )
    session.flush()


def forget_keys_before(session: Session, cutoff: float) -> None:
    """Forget the keys first used before ``cutoff``: they may be used again, for anything."""
    session.execute(
        delete(IdempotencyKeyRow)
        .where(IdempotencyKeyRow.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
