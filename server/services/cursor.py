"""Opaque pagination cursors: URL-safe base64 of a small JSON value."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from server.errors import InvalidRequest

__all__ = ["MAX_ROW_ID", "decode_cursor", "decode_id_cursor", "encode_cursor"]

#: The largest row id a cursor may hold: that of a ``BIGINT`` column.
MAX_ROW_ID = 2**63 - 1


def encode_cursor(kind: str, value: Any) -> str:
    raw = json.dumps([kind, value], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> Any:
    """The value of a cursor made by ``encode_cursor(kind, …)``; ``InvalidRequest`` if not."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        # Only the [kind, value] pair encode_cursor makes: a dict or a two-character string
        # would unpack too.
        if not isinstance(decoded, list):
            raise ValueError(decoded)
        found_kind, value = decoded
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidRequest(f"invalid cursor {cursor!r}: pass back a next_cursor as is") from None
    if found_kind != kind:
        raise InvalidRequest(f"this cursor belongs to another listing ({found_kind!r})")
    return value


def decode_id_cursor(cursor: str | None, kind: str) -> int | None:
    """The row id of a cursor made by ``encode_cursor(kind, row.id)``; ``InvalidRequest`` if
    it holds anything else. The id goes to the database as a ``BIGINT``: a ``true`` or a
    ``2**70`` made by hand would make it fail there (a 500), not here (a 400)."""
    value = decode_cursor(cursor, kind)
    if value is None:
        return None
    if value.__class__ is not int or not 0 <= value <= MAX_ROW_ID:  # bool is not an int here
        raise InvalidRequest(f"invalid cursor {cursor!r}: pass back a next_cursor as is")
    return int(value)
