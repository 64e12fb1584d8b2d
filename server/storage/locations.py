"""Code locations added through the API, kept so that a restarted server has them again.
Functions flush, never commit. (Those of workspace.yaml are not stored: the file is their
record.)"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.storage.models import LocationRow

__all__ = ["delete_location", "save_location", "saved_locations"]


def saved_locations(session: Session) -> list[tuple[str, str]]:
    """``(name, address)`` of every stored location, by name."""
    rows = session.execute(select(LocationRow.name, LocationRow.address).order_by(LocationRow.name))
    return [(name, address) for name, address in rows]


def save_location(session: Session, name: str, address: str) -> None:
    session.merge(LocationRow(name=name, address=address, added_at=time.time()))
    session.flush()


def delete_location(session: Session, name: str) -> None:
    row = session.get(LocationRow, name)
    if row is not None:
        session.delete(row)
        session.flush()
