"""What an asset function may return besides a plain value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._metadata import MetadataValue, normalize_metadata

__all__ = ["DataVersion", "MaterializeResult", "Output"]


@dataclass(frozen=True, slots=True)
class DataVersion:
    """The version of an asset's data, given by the asset when it knows it (a hash, an etag).

    Without one the engine derives a version from the code version and the inputs' versions.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise ValueError(f"DataVersion needs a non-empty string, got {self.value!r}")


def _data_version(given: DataVersion | str | None) -> DataVersion | None:
    """A plain string is taken as well, as it was before ``DataVersion`` existed."""
    if given is None or isinstance(given, DataVersion):
        return given
    return DataVersion(given)


@dataclass(frozen=True, slots=True, init=False)
class Output:
    """A value returned by an asset, with metadata for its materialization.

    In a multi-asset, ``output_name`` says which output the value belongs to.
    """

    value: Any
    output_name: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    data_version: DataVersion | None = None

    def __init__(
        self,
        value: Any,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        data_version: DataVersion | str | None = None,
    ) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "output_name", output_name)
        object.__setattr__(self, "metadata", normalize_metadata(metadata))
        object.__setattr__(self, "tags", dict(tags or {}))
        object.__setattr__(self, "data_version", _data_version(data_version))


@dataclass(frozen=True, slots=True, init=False)
class MaterializeResult:
    """Report a materialization whose data the asset stored itself (no IO manager is called).

    In a multi-asset defined with ``specs=``, ``asset_key`` says which asset it reports.
    """

    asset_key: AssetKey | None
    metadata: dict[str, MetadataValue]
    tags: dict[str, str]
    data_version: DataVersion | None

    def __init__(
        self,
        *,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        data_version: DataVersion | str | None = None,
    ) -> None:
        key = None if asset_key is None else AssetKey.from_coercible(asset_key)
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "metadata", normalize_metadata(metadata))
        object.__setattr__(self, "tags", dict(tags or {}))
        object.__setattr__(self, "data_version", _data_version(data_version))
