"""Asset keys in the database: the one codec between an ``AssetKey`` and its column.

A key is stored as its segments joined by ``/`` (``AssetKey(["raw", "orders"])`` is
``raw/orders``): readable in SQL, indexable, and the form the rows of earlier versions
already hold. Every query and row builder of ``server.storage`` goes through
:func:`encode_key` and :func:`decode_key`, and callers only ever see ``AssetKey`` values.

The round trip ``decode_key(encode_key(k)) == k`` holds for every key that
:func:`unstorable` accepts: no segment holds ``/``, and the stored form fits its column.
Keys enter the database through ingest and run creation, and both refuse the others.
"""

from __future__ import annotations

from codeloc._key import AssetKey
from server.storage.models import MaterializationRow

__all__ = ["MAX_KEY_LENGTH", "SEPARATOR", "decode_key", "encode_key", "unstorable"]

SEPARATOR = "/"
#: The longest stored form the key columns hold (they all have the same length).
MAX_KEY_LENGTH: int = MaterializationRow.__table__.c.asset_key.type.length  # type: ignore[attr-defined]


def encode_key(key: AssetKey) -> str:
    """The stored form of a key that :func:`unstorable` accepts."""
    return SEPARATOR.join(key.parts)


def decode_key(stored: str) -> AssetKey:
    """The key of a stored form :func:`encode_key` made."""
    if SEPARATOR in stored:
        return AssetKey(stored.split(SEPARATOR))
    # One segment, by far the most common: AssetKey's fast path for a string.
    return AssetKey(stored)


def unstorable(key: AssetKey) -> str | None:
    """Why ``key`` cannot be stored so as to read back the same, or None if it can."""
    for segment in key.parts:
        if SEPARATOR in segment:
            return (
                f"asset key {key.path!r}: the segment {segment!r} holds {SEPARATOR!r}, "
                "which separates segments; make it segments of their own"
            )
    if sum(map(len, key.parts)) + len(key.parts) - 1 > MAX_KEY_LENGTH:
        return f"asset key {key.path!r} is longer than {MAX_KEY_LENGTH} characters"
    return None
