"""Asset keys: the handle every asset is known by, in one location and across all of them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import NamedTuple, NoReturn

__all__ = ["AssetKey", "CoercibleToAssetKey", "CoercibleToAssetKeyPrefix"]

_new = tuple.__new__


class _KeyTuple(NamedTuple):
    parts: tuple[str, ...]


class AssetKey(_KeyTuple):
    """The key of an asset: a non-empty path of string segments.

    ``AssetKey("a") == AssetKey(["a"])``; ``AssetKey(["one", "two"]).to_user_string()``
    is ``"one/two"``. Keys are immutable, hashable and ordered by their segments.

    A key is a value, not a sequence: it cannot be iterated, indexed or measured with
    ``len()`` (read ``key.path``), and it equals no tuple or list of its segments.

    Underneath it is the one-item tuple ``(segments,)``, so that hashing and comparing keys
    — which the graphs do millions of times at 100,000 assets — run in C, and its segments
    are read by the named tuple's C accessor.
    """

    __slots__ = ()

    def __new__(cls, path: str | Sequence[str]) -> AssetKey:
        # A one-segment key from a string is by far the most common: a function name.
        if path.__class__ is str and path:
            return _new(cls, ((path,),))
        if isinstance(path, AssetKey):
            raise TypeError(f"AssetKey() takes a string or a list of strings, got {path!r}")
        segments = (path,) if isinstance(path, str) else tuple(path)
        if not segments:
            raise ValueError("an AssetKey needs at least one segment")
        for segment in segments:
            if not isinstance(segment, str) or not segment:
                raise ValueError(f"asset key segments must be non-empty strings, got {segment!r}")
        return _new(cls, (segments,))

    @property
    def path(self) -> list[str]:
        """The segments, as a list (a new one each time: changing it leaves the key alone).

        ``key.parts`` is the same as a tuple.
        """
        return list(self.parts)

    def __repr__(self) -> str:
        return f"AssetKey({self.path!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[AssetKey], tuple[tuple[str, ...]]]:
        return AssetKey, (self.parts,)

    # A key is not a sequence of its segments: these refuse what a tuple would allow.

    def __iter__(self) -> NoReturn:
        raise TypeError("an AssetKey is not iterable; iterate over key.path")

    def __getitem__(self, index: object) -> NoReturn:
        raise TypeError("an AssetKey cannot be indexed; index key.path")

    def __len__(self) -> NoReturn:
        raise TypeError("an AssetKey has no len(); use len(key.path)")

    def __contains__(self, item: object) -> NoReturn:
        raise TypeError("an AssetKey is not a container; look in key.path")

    def __add__(self, other: object) -> NoReturn:
        raise TypeError("AssetKeys do not add up; use key.with_prefix(...)")

    def __mul__(self, other: object) -> NoReturn:
        raise TypeError("an AssetKey cannot be repeated")

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return True

    def to_user_string(self) -> str:
        """The segments joined by ``/``, as keys appear in URLs and selection expressions."""
        return "/".join(self.parts)

    def to_string(self) -> str:
        """The segments as a JSON list: ``'["one", "two"]'``."""
        return json.dumps(self.path)

    def to_python_identifier(self, suffix: str | None = None) -> str:
        """A Python identifier made of the segments: ``one__two``, ``-`` and ``.`` as ``_``."""
        parts = self.parts if suffix is None else (*self.parts, suffix)
        return "__".join(parts).replace("-", "_").replace(".", "_")

    def has_prefix(self, prefix: Sequence[str]) -> bool:
        """Whether the first segments of the key are ``prefix``."""
        return self.parts[: len(prefix)] == tuple(prefix)

    @staticmethod
    def from_user_string(text: str) -> AssetKey:
        """Parse ``"a/b/c"`` into ``AssetKey(["a", "b", "c"])``."""
        return AssetKey(text.split("/"))

    @staticmethod
    def from_coercible(value: CoercibleToAssetKey) -> AssetKey:
        """Accept an ``AssetKey``, a ``/``-joined string or a sequence of segments."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return AssetKey.from_user_string(value) if "/" in value else AssetKey(value)
        if isinstance(value, list | tuple):
            return AssetKey(value)
        raise TypeError(
            f"an asset key is an AssetKey, a string or a list of strings, got {value!r}"
        )

    def with_prefix(self, prefix: CoercibleToAssetKeyPrefix) -> AssetKey:
        """This key with ``prefix`` segments in front."""
        return AssetKey((*prefix_segments(prefix), *self.parts))

    @property
    def name(self) -> str:
        """The last segment."""
        return self.parts[-1]


CoercibleToAssetKey = AssetKey | str | Sequence[str]
CoercibleToAssetKeyPrefix = str | Sequence[str] | None


def prefix_segments(prefix: CoercibleToAssetKeyPrefix) -> tuple[str, ...]:
    """Normalize a ``key_prefix`` argument (a string, a list, or None) to segments."""
    if prefix is None:
        return ()
    if isinstance(prefix, str):
        return (prefix,)
    if isinstance(prefix, AssetKey):
        return prefix.parts
    return tuple(prefix)


def sorted_keys(keys: Iterable[AssetKey]) -> list[AssetKey]:
    """Keys in a stable order, for messages and snapshots."""
    return sorted(keys, key=_parts_of)


_parts_of = attrgetter("parts")
