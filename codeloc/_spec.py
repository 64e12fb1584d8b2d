"""Frozen descriptions of assets: ``AssetSpec``, ``AssetDep``, ``AssetIn``, ``AssetOut``."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import EllipsisType, MappingProxyType
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
    "AssetDep",
    "AssetIn",
    "AssetOut",
    "AssetSpec",
    "check_computed_keys",
    "dep_keys",
    "with_compute_kind",
]

DEFAULT_GROUP = "default"
_NO_MAPPINGS: Mapping[AssetKey, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True, init=False)
class AssetDep:
    """An upstream asset as data: an entry of ``deps=`` that says how the asset depends on it.

    ``asset`` is a key (or anything ``AssetKey.from_coercible`` takes), an ``AssetSpec`` or a
    single-asset definition. ``partition_mapping`` is kept on the depending ``AssetSpec``
    (``partition_mappings``) for partitioned assets; until they exist it changes nothing.

    Raises:
        DefinitionError: ``asset`` is a multi-asset (name its keys instead).
        TypeError: ``asset`` is none of the above.
    """

    asset_key: AssetKey
    partition_mapping: Any

    def __init__(self, asset: Any, *, partition_mapping: Any = None) -> None:
        if not isinstance(asset, AssetKey | str | list | tuple | AssetSpec) and not hasattr(
            asset, "specs"
        ):
            raise TypeError(
                f"AssetDep takes an AssetKey, a string, an AssetSpec or an asset definition, "
                f"got {asset!r}"
            )
        keys = dep_keys(asset)
        if len(keys) != 1:
            names = ", ".join(k.to_user_string() for k in keys)
            raise DefinitionError(
                f"AssetDep cannot be made from the multi-asset "
                f"'{getattr(asset, 'node_name', asset)}': name the key you depend on "
                f"(one of {names}), or put the multi-asset itself in deps= to depend on all of them"
            )
        object.__setattr__(self, "asset_key", keys[0])
        object.__setattr__(self, "partition_mapping", partition_mapping)


@dataclass(frozen=True, slots=True, init=False)
class AssetSpec:
    """Everything about one asset except how it is computed.

    Used on its own, an ``AssetSpec`` declares an asset defined elsewhere (an external
    asset, or one of another code location) or serves as an entry of ``deps=``. Inside an
    ``AssetsDefinition`` there is one per key it produces.

    ``group_name`` is ``None`` until someone sets it; it then reads as ``"default"``.
    ``deps`` takes keys, strings, ``AssetDep``s, specs and definitions; a multi-asset stands
    for all of its keys. ``partition_mappings`` holds the ``partition_mapping`` of each
    ``AssetDep`` that gave one. ``metadata`` reads back as given (``spec.metadata["rows"] ==
    3``), as in the reference; the snapshot sent to the server carries it typed (see
    ``definition_metadata``). ``kinds`` are kept as tags ``dagster/kind/<kind>`` and read
    back from them.

    Raises:
        DefinitionError: A segment of the key, or of an upstream key, contains ``/``; the
            asset depends on itself; the group name, a tag, an owner is not valid by the
            reference's rules; more than ten kinds.
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
    partition_mappings: Mapping[AssetKey, Any] = field(repr=False)

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
        partition_mappings: Mapping[AssetKey, Any] | None = None,
    ) -> None:
        asset_key = AssetKey.from_coercible(key)
        dep_keys_, mappings = _resolve_deps(asset_key, deps, partition_mappings or _NO_MAPPINGS)
        # Every definition path (decorators, outs, graph assets, prefixes, deps) builds its
        # keys through here, so this one check refuses a "/" wherever it came from.
        if "/" in _concat(asset_key.parts):
            raise _slash_in_segment(asset_key, asset_key)
        for dep_key in dep_keys_:
            if "/" in _concat(dep_key.parts):
                raise _slash_in_segment(asset_key, dep_key)
        check_group_name(asset_key, group_name)
        set_ = object.__setattr__
        set_(self, "key", asset_key)
        set_(self, "deps", dep_keys_)
        set_(self, "description", description)
        set_(self, "metadata", dict(metadata) if metadata else {})
        set_(self, "group_name", group_name)
        set_(self, "code_version", code_version)
        set_(self, "owners", check_owners(asset_key, owners))
        set_(self, "tags", check_kinds(asset_key, check_tags(asset_key, tags), kinds))
        set_(self, "skippable", skippable)
        set_(self, "partition_mappings", mappings)

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
            # Entries may be AssetDeps or definitions, as for a new spec.
            deps, mappings = _resolve_deps(key, copy.deps, copy.partition_mappings)
            set_(copy, "deps", deps)
            set_(copy, "partition_mappings", mappings)
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
    """How a function parameter maps to an upstream asset: by ``key``, or by name + prefix.

    ``metadata`` is what the IO manager's ``InputContext`` reads; ``input_manager_key`` names
    the IO manager that loads the value, instead of the one the upstream asset is stored by.
    """

    key: CoercibleToAssetKey | None = None
    key_prefix: CoercibleToAssetKeyPrefix = None
    metadata: Mapping[str, Any] | None = None
    input_manager_key: str | None = None

    def __post_init__(self) -> None:
        if self.key is not None and self.key_prefix:
            raise DefinitionError(
                f"AssetIn(key={self.key!r}, key_prefix={self.key_prefix!r}): give key= (the "
                "whole key) or key_prefix= (put before the parameter's name), not both"
            )

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


def dep_keys(dep: Any) -> tuple[AssetKey, ...]:
    """The keys an entry of ``deps=`` stands for: all those of a multi-asset, else one.

    An entry is a definition, a spec, an ``AssetDep``, a key, or a string.
    """
    if isinstance(dep, AssetKey):
        return (dep,)
    if isinstance(dep, AssetDep):
        return (dep.asset_key,)
    if isinstance(dep, AssetSpec):
        return (dep.key,)
    specs = getattr(dep, "specs", None)
    if specs is not None and not isinstance(dep, Mapping):
        # In the definition's order, not its key set's: snapshots must not depend on hashing.
        return tuple(s.key for s in specs)
    if isinstance(dep, str | list | tuple):
        return (AssetKey.from_coercible(dep),)
    raise TypeError(
        "deps entries must be asset definitions, AssetSpecs, AssetDeps, AssetKeys or strings, "
        f"got {dep!r}"
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
    "partition_mappings",
)


def _resolve_deps(
    asset_key: AssetKey, deps: Iterable[Any] | None, mappings: Mapping[AssetKey, Any]
) -> tuple[tuple[AssetKey, ...], Mapping[AssetKey, Any]]:
    """The upstream keys of ``deps=`` entries, each once, and the partition mappings that
    ``AssetDep`` entries add to ``mappings``.

    Raises ``DefinitionError`` when the asset is among its own upstream keys.
    """
    found: list[AssetKey] = []
    for dep in deps or ():
        # Most entries are keys already (the decorators pass their inputs' keys).
        if type(dep) is AssetKey:
            found.append(dep)
            continue
        if isinstance(dep, AssetDep) and dep.partition_mapping is not None:
            mappings = {**mappings, dep.asset_key: dep.partition_mapping}
        found.extend(dep_keys(dep))
    unique = dict.fromkeys(found)
    if asset_key in unique:
        raise DefinitionError(
            f"asset '{asset_key.to_user_string()}' depends on itself (through deps= or a "
            "parameter named after it); an asset can only depend on other assets"
        )
    return tuple(unique), mappings


# What a segment of a computed asset's key may hold, as in the reference (whose op and input
# names are the keys with "-" and "." made "_", and must match ^[A-Za-z0-9_]+$).
_name_chars = re.compile(r"[A-Za-z0-9_.\-]+").fullmatch


def check_computed_keys(specs: Iterable[AssetSpec], input_keys: Collection[AssetKey]) -> None:
    """Refuse a key segment of a computed asset, or of a ``deps=`` key, that holds a character
    other than a letter, a digit, ``_``, ``-`` or ``.``.

    An ``AssetSpec`` of an asset defined elsewhere may hold any character but ``/``; so may the
    key an ``AssetIn`` maps a parameter to.
    """
    # Once per key of every definition: an ASCII identifier (nearly every key) is told by two
    # C calls; the regular expression reads the others.
    for spec in specs:
        key = spec.key
        text = _concat(key.parts)
        if not (text.isascii() and text.isidentifier()) and not _name_chars(text):
            raise _odd_segment(key, key)
        for dep in spec.deps:
            text = _concat(dep.parts)
            plain = (text.isascii() and text.isidentifier()) or _name_chars(text)
            if not plain and dep not in input_keys:
                raise _odd_segment(key, dep)


def _odd_segment(asset: AssetKey, key: AssetKey) -> DefinitionError:
    segment = next(text for text in key.parts if not _name_chars(text))
    odd = next(char for char in segment if not _name_chars(char))
    where = (
        f"asset {asset.path!r}: key"
        if key is asset
        else f"asset {asset.to_user_string()!r}: upstream key {key.path!r}:"
    )
    return DefinitionError(
        f"{where} segment {segment!r} holds {odd!r}; the segments of the key of a computed "
        "asset, and of its deps, hold letters, digits, '_', '-' and '.' only"
    )


def _slash_in_segment(asset: AssetKey, key: AssetKey) -> DefinitionError:
    """The error for a key segment with ``/`` in it.

    ``/`` joins the segments wherever a key is written as text (REST paths, selection
    expressions, the server's tables), so ``AssetKey(["a/b"])`` would be stored as ``a/b``
    and read back as ``AssetKey(["a", "b"])``: another asset. Refused when it is defined.
    """
    segment = next(text for text in key.parts if "/" in text)
    nested = [part for text in key.parts for part in text.split("/") if part]
    where = (
        f"asset {asset.path!r}: key"
        if key is asset
        else f"asset {asset.to_user_string()!r}: upstream key {key.path!r}:"
    )
    return DefinitionError(
        f"{where} segment {segment!r} contains '/', which separates the segments of a key; "
        f"for a nested key, write {nested!r}"
    )
