"""Asset keys: the handle every asset is known by, in one location and across all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["AssetKey", "CoercibleToAssetKey", "CoercibleToAssetKeyPrefix"]


class AssetKey:
    """The key of an asset: a non-empty path of string segments.

    ``AssetKey("a") == AssetKey(["a"])``; ``AssetKey(["one", "two"]).to_user_string()``
    is ``"one/two"``. Keys are immutable, hashable and ordered by their segments.
    """

    __slots__ = ("_hash", "path")

    path: tuple[str, ...]
    _hash: int

    def __init__(self, path: str | Sequence[str]) -> None:
        if isinstance(path, str):
            segments: tuple[str, ...] = (path,)
        else:
            segments = tuple(path)
        if not segments:
            raise ValueError("an AssetKey needs at least one segment")
        for segment in segments:
            if not isinstance(segment, str) or not segment:
                raise ValueError(f"asset key segments must be non-empty strings, got {segment!r}")
        object.__setattr__(self, "path", segments)
        object.__setattr__(self, "_hash", hash(segments))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("AssetKey is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetKey) and self.path == other.path

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: AssetKey) -> bool:
        return self.path < other.path

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"

    def __reduce__(self) -> tuple[type[AssetKey], tuple[tuple[str, ...]]]:
        return (AssetKey, (self.path,))

    def to_user_string(self) -> str:
        """The segments joined by ``/``, as keys appear in URLs and selection expressions."""
        return "/".join(self.path)

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
        return AssetKey(value)

    def with_prefix(self, prefix: CoercibleToAssetKeyPrefix) -> AssetKey:
        """This key with ``prefix`` segments in front."""
        return AssetKey((*prefix_segments(prefix), *self.path))

    @property
    def name(self) -> str:
        """The last segment."""
        return self.path[-1]


CoercibleToAssetKey = AssetKey | str | Sequence[str]
CoercibleToAssetKeyPrefix = str | Sequence[str] | None


def prefix_segments(prefix: CoercibleToAssetKeyPrefix) -> tuple[str, ...]:
    """Normalize a ``key_prefix`` argument (a string, a list, or None) to segments."""
    if prefix is None:
        return ()
    if isinstance(prefix, str):
        return (prefix,)
    return tuple(prefix)


def sorted_keys(keys: Iterable[AssetKey]) -> list[AssetKey]:
    """Keys in a stable order, for messages and snapshots."""
    return sorted(keys, key=lambda k: k.path)
