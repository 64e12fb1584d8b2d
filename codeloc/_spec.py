"""Frozen descriptions of assets: ``AssetSpec``, ``AssetIn``, ``AssetOut``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from codeloc._errors import DefinitionError
from codeloc._key import AssetKey, CoercibleToAssetKey, CoercibleToAssetKeyPrefix, prefix_segments
from codeloc._validation import (
    KIND_TAG_PREFIX,
    check_group_name,
    check_kinds,
    check_owners,
    check_tags,
    kinds_of,
)

__all__ = [
    "DEFAULT_GROUP",
    "AssetIn",
    "AssetOut",
    "AssetSpec",
    "coerce_dep_key",
    "with_compute_kind",
]

DEFAULT_GROUP = "default"


@dataclass(frozen=True, slots=True, init=False)
class AssetSpec:
    """Everything about one asset except how it is computed.

    Used on its own, an ``AssetSpec`` declares an asset defined elsewhere (an external
    asset, or one of another code location) or serves as an entry of ``deps=``. Inside an
    ``AssetsDefinition`` there is one per key it produces.

    ``group_name`` is ``None`` until someone sets it; it then reads as ``"default"``.
    ``metadata`` reads back as given (``spec.metadata["rows"] == 3``), as in the reference;
    the snapshot sent to the server carries it typed (see ``definition_metadata``).
    ``kinds`` are kept as tags ``dagster/kind/<kind>`` and read back from them.

    Raises:
        DefinitionError: A segment of the key, or of an upstream key, contains ``/``; the
            group name, a tag, an owner is not valid by the reference's rules; more than
            ten kinds.
    """

    key: AssetKey
    deps: tuple[AssetKey, ...]
    description: str | None
    metadata: Mapping[str, Any]
    group_name: str | None
    code_version: str | None
    owners: tuple[str, ...]
    tags: Mapping[str, str]
    skippable: bool

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        skippable: bool = False,
    ) -> None:
        asset_key = AssetKey.from_coercible(key)
        dep_keys = tuple(dict.fromkeys(coerce_dep_key(d) for d in deps or ()))
        # Every definition path (decorators, outs, graph assets, prefixes, deps) builds its
        # keys through here, so this one check refuses a "/" wherever it came from.
        if "/" in _concat(asset_key.path):
            raise _slash_in_segment(asset_key, asset_key)
        for dep in dep_keys:
            if "/" in _concat(dep.path):
                raise _slash_in_segment(asset_key, dep)
        check_group_name(asset_key, group_name)
        set_ = object.__setattr__
        set_(self, "key", asset_key)
        set_(self, "deps", dep_keys)
        set_(self, "description", description)
        set_(self, "metadata", dict(metadata) if metadata else {})
        set_(self, "group_name", group_name)
        set_(self, "code_version", code_version)
        set_(self, "owners", check_owners(asset_key, owners))
        set_(self, "tags", check_kinds(asset_key, check_tags(asset_key, tags), kinds))
        set_(self, "skippable", skippable)

    @property
    def group(self) -> str:
        """The group, ``"default"`` when none was set."""
        return self.group_name or DEFAULT_GROUP

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of the asset (``kinds=``, or tags ``dagster/kind/<kind>``)."""
        return kinds_of(self.tags)

    def replace_attributes(
        self,
        *,
        key: CoercibleToAssetKey | EllipsisType = ...,
        deps: Iterable[Any] | EllipsisType | None = ...,
        description: str | EllipsisType | None = ...,
        metadata: Mapping[str, Any] | EllipsisType | None = ...,
        group_name: str | EllipsisType | None = ...,
        code_version: str | EllipsisType | None = ...,
        owners: Sequence[str] | EllipsisType | None = ...,
        tags: Mapping[str, str] | EllipsisType | None = ...,
        kinds: Iterable[str] | EllipsisType | None = ...,
        skippable: bool | EllipsisType = ...,
    ) -> AssetSpec:
        """A new spec with the given attributes replaced, checked as a new spec is.

        As in the reference, ``tags=`` replaces the tags but keeps the kinds; ``kinds=``
        replaces the kinds.
        """
        user_tags, compute_kind = self._user_tags()
        spec = AssetSpec(
            self.key if key is ... else key,
            deps=self.deps if deps is ... else deps,
            description=self.description if description is ... else description,
            metadata=self.metadata if metadata is ... else metadata,
            group_name=self.group_name if group_name is ... else group_name,
            code_version=self.code_version if code_version is ... else code_version,
            owners=self.owners if owners is ... else owners,
            tags=user_tags if tags is ... else tags,
            kinds=self.kinds if kinds is ... else kinds,
            skippable=self.skippable if skippable is ... else skippable,
        )
        return with_compute_kind(spec, compute_kind) if compute_kind is not None else spec

    def merge_attributes(
        self,
        *,
        deps: Iterable[Any] | EllipsisType = ...,
        metadata: Mapping[str, Any] | EllipsisType = ...,
        owners: Sequence[str] | EllipsisType = ...,
        tags: Mapping[str, str] | EllipsisType = ...,
        kinds: Iterable[str] | EllipsisType = ...,
    ) -> AssetSpec:
        """A new spec with the given deps, owners and kinds added, and metadata and tags
        merged (a given entry wins), checked as a new spec is."""
        user_tags, compute_kind = self._user_tags()
        spec = AssetSpec(
            self.key,
            deps=[*self.deps, *(() if deps is ... else deps)],
            description=self.description,
            metadata={**self.metadata, **({} if metadata is ... else metadata)},
            group_name=self.group_name,
            code_version=self.code_version,
            owners=list(dict.fromkeys([*self.owners, *(() if owners is ... else owners)])),
            tags={**user_tags, **({} if tags is ... else tags)},
            kinds={*self.kinds, *(() if kinds is ... else kinds)},
            skippable=self.skippable,
        )
        return with_compute_kind(spec, compute_kind) if compute_kind is not None else spec

    def _user_tags(self) -> tuple[dict[str, str], str | None]:
        """The tags but the kinds and ``compute_kind`` (which is not checked as tags are),
        and ``compute_kind``."""
        tags = {k: v for k, v in self.tags.items() if not k.startswith(KIND_TAG_PREFIX)}
        return tags, tags.pop("compute_kind", None)

    def replace(self, **changes: Any) -> AssetSpec:
        """A copy with some fields changed (``key`` and ``deps`` already normalized).

        Only what changes is checked again: the rest was checked when this spec was built,
        and loaders replace the group or the key of every asset of a module.
        """
        copy = object.__new__(AssetSpec)
        set_ = object.__setattr__
        for name in _FIELDS:
            set_(copy, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"AssetSpec has no field {sorted(changes)[0]!r}")
        key = copy.key
        if key is not self.key and "/" in _concat(key.path):
            raise _slash_in_segment(key, key)
        if copy.deps is not self.deps:
            for dep in copy.deps:
                if "/" in _concat(dep.path):
                    raise _slash_in_segment(key, dep)
        if copy.group_name is not self.group_name:
            check_group_name(key, copy.group_name)
        if copy.owners is not self.owners:
            set_(copy, "owners", check_owners(key, copy.owners))
        if copy.tags is not self.tags:
            set_(copy, "tags", check_kinds(key, check_tags(key, copy.tags), None))
        return copy


@dataclass(frozen=True, slots=True)
class AssetIn:
    """How a function parameter maps to an upstream asset: by ``key``, or by name + prefix."""

    key: CoercibleToAssetKey | None = None
    key_prefix: CoercibleToAssetKeyPrefix = None
    metadata: Mapping[str, Any] | None = None

    def resolve_key(self, param_name: str) -> AssetKey:
        if self.key is not None:
            return AssetKey.from_coercible(self.key)
        return AssetKey((*prefix_segments(self.key_prefix), param_name))


@dataclass(frozen=True, slots=True)
class AssetOut:
    """One output of a ``multi_asset``: the asset it materializes and its properties."""

    key: CoercibleToAssetKey | None = None
    key_prefix: CoercibleToAssetKeyPrefix = None
    description: str | None = None
    metadata: Mapping[str, Any] | None = None
    group_name: str | None = None
    code_version: str | None = None
    io_manager_key: str | None = None
    owners: Sequence[str] | None = None
    tags: Mapping[str, str] | None = None
    is_required: bool = True
    dagster_type: Any = None
    kinds: Iterable[str] | None = None

    def resolve_key(self, output_name: str) -> AssetKey:
        if self.key is not None:
            return AssetKey.from_coercible(self.key)
        return AssetKey((*prefix_segments(self.key_prefix), output_name))


def with_compute_kind(spec: AssetSpec, compute_kind: str) -> AssetSpec:
    """``spec`` with a tag ``compute_kind`` (unless its tags set one).

    Not checked as tags are: the reference keeps ``compute_kind`` apart from the asset's
    tags and takes any text for it (``"dbt cloud"``).
    """
    copy = spec.replace()
    object.__setattr__(copy, "tags", {"compute_kind": compute_kind, **spec.tags})
    return copy


def coerce_dep_key(dep: Any) -> AssetKey:
    """The key of an entry of ``deps=``: a definition, a spec, a key, or a string."""
    if isinstance(dep, AssetSpec):
        return dep.key
    keys = getattr(dep, "keys", None)
    if keys is not None and not isinstance(dep, Mapping):
        found = list(keys)
        if len(found) != 1:
            raise TypeError(
                f"deps entry {dep!r} produces {len(found)} assets; "
                "list the keys you depend on instead"
            )
        key = found[0]
        if isinstance(key, AssetKey):
            return key
    if isinstance(dep, AssetKey | str | list | tuple):
        return AssetKey.from_coercible(dep)
    raise TypeError(
        f"deps entries must be asset definitions, AssetSpecs, AssetKeys or strings, got {dep!r}"
    )


# One C call per key finds a "/" in any of its segments, cheaper than a loop over them.
_concat = "".join
_FIELDS = (
    "key",
    "deps",
    "description",
    "metadata",
    "group_name",
    "code_version",
    "owners",
    "tags",
    "skippable",
)


def _slash_in_segment(asset: AssetKey, key: AssetKey) -> DefinitionError:
    """The error for a key segment with ``/`` in it.

    ``/`` joins the segments wherever a key is written as text (REST paths, selection
    expressions, the server's tables), so ``AssetKey(["a/b"])`` would be stored as ``a/b``
    and read back as ``AssetKey(["a", "b"])``: another asset. Refused when it is defined.
    """
    segment = next(text for text in key.path if "/" in text)
    nested = [part for text in key.path for part in text.split("/") if part]
    where = (
        f"asset {list(asset.path)!r}: key"
        if key is asset
        else f"asset {asset.to_user_string()!r}: upstream key {list(key.path)!r}:"
    )
    return DefinitionError(
        f"{where} segment {segment!r} contains '/', which separates the segments of a key; "
        f"for a nested key, write {nested!r}"
    )
