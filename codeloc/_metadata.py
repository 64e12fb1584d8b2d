"""Typed metadata values attached to assets and to materializations.

Plain Python values are normalized once, when a definition is built or a materialization
recorded: ``5`` becomes ``IntMetadataValue(5)``, ``"x"`` a ``TextMetadataValue``, and so on,
so that the UI can plot numbers and the wire format stays typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["MetadataValue", "normalize_metadata"]


@dataclass(frozen=True, slots=True)
class MetadataValue:
    """A typed metadata value; build one with a static constructor: ``MetadataValue.int(3)``.

    ``kind`` is one of ``text``, ``int``, ``float``, ``bool``, ``json``, ``md``, ``url``,
    ``path``, ``null``, ``asset``.
    """

    kind: str
    value: Any

    KINDS: ClassVar[frozenset[str]] = frozenset(
        {"text", "int", "float", "bool", "json", "md", "url", "path", "null", "asset"}
    )

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown metadata kind {self.kind!r}")

    @staticmethod
    def text(value: str) -> MetadataValue:
        return MetadataValue("text", str(value))

    @staticmethod
    def int(value: int) -> MetadataValue:
        return MetadataValue("int", int(value))

    @staticmethod
    def float(value: float) -> MetadataValue:
        return MetadataValue("float", float(value))

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        return MetadataValue("bool", bool(value))

    @staticmethod
    def json(value: Any) -> MetadataValue:
        json.dumps(value)  # refuse what cannot travel, at the point where it is created
        return MetadataValue("json", value)

    @staticmethod
    def md(value: str) -> MetadataValue:
        return MetadataValue("md", str(value))

    @staticmethod
    def url(value: str) -> MetadataValue:
        return MetadataValue("url", str(value))

    @staticmethod
    def path(value: Any) -> MetadataValue:
        return MetadataValue("path", str(value))

    @staticmethod
    def null() -> MetadataValue:
        return MetadataValue("null", None)

    @staticmethod
    def asset(value: Any) -> MetadataValue:
        from codeloc._key import AssetKey

        return MetadataValue("asset", AssetKey.from_coercible(value).to_user_string())

    @staticmethod
    def coerce(value: Any) -> MetadataValue:
        """Turn a raw Python value into a typed one (a ``MetadataValue`` is kept as is)."""
        if isinstance(value, MetadataValue):
            return value
        if value is None:
            return MetadataValue("null", None)
        # bool before int: bool is a subclass of int
        if isinstance(value, bool):
            return MetadataValue("bool", value)
        if isinstance(value, int):
            return MetadataValue("int", value)
        if isinstance(value, float):
            return MetadataValue("float", value)
        if isinstance(value, str):
            return MetadataValue("text", value)
        if isinstance(value, list | dict | tuple):
            from codeloc._key import AssetKey

            if isinstance(value, AssetKey):  # a tuple underneath, but a key: as the reference
                return MetadataValue.asset(value)
            return MetadataValue.json(value)
        raise TypeError(
            f"metadata value {value!r} of type {type(value).__name__} is not supported; "
            "use a str, int, float, bool, list, dict or a MetadataValue"
        )


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    """Normalize a metadata mapping; an empty or missing one gives an empty dict."""
    if not metadata:
        return {}
    return {str(k): MetadataValue.coerce(v) for k, v in metadata.items()}
