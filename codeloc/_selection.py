"""Asset selections: the Python API and the expression language, resolved against any graph.

The same selection serves ``define_asset_job(selection=...)``, the server's REST API and the
CLI. An expression is parsed into an immutable ``AssetSelection``, whose ``str()`` is an
expression that parses back to an equal selection::

    *raw/orders+ and not group:staging       ancestors and children of raw/orders, minus a group
    2+tag:tier=gold or location:finance       gold assets with parents and grandparents, or ...

Grammar, loosest binding first (keywords are case-insensitive)::

    expr     := and_expr ("or" and_expr)*
    and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | lineage
    lineage  := ["*" | "+"... | N "+"] primary ["*" | "+"... | "+" N]
    primary  := "(" expr ")" | "*" | key | "key:" key | "group:" NAME | "location:" NAME
              | "tag:" NAME ["=" NAME]
    key      := segment ("/" segment)* | '"' quoted key '"'

A bare segment is ``[A-Za-z0-9_.-]+``; a quoted key may hold anything, with ``\\"``, ``\\\\``
and ``\\/`` (a slash inside a segment) escaped. Right after ``key:``, ``*`` is a wildcard, not
lineage: ``key:raw/*`` is matched with ``fnmatch`` against the ``/``-joined key, and its
descendants are written ``(key:raw/*)*``.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import string
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

from codeloc._errors import SelectionError
from codeloc._key import AssetKey, CoercibleToAssetKey

__all__ = ["AssetSelection", "SelectableGraph", "parse_selection"]


class SelectableGraph(Protocol):
    """The view of an asset graph that selections resolve against.

    ``parents`` and ``children`` may yield keys that are not in ``all_keys`` (external
    assets); lineage ignores those.
    """

    @property
    def all_keys(self) -> Collection[AssetKey]: ...

    def parents(self, key: AssetKey) -> Iterable[AssetKey]: ...

    def children(self, key: AssetKey) -> Iterable[AssetKey]: ...

    def group_of(self, key: AssetKey) -> str | None: ...

    def location_of(self, key: AssetKey) -> str | None: ...

    def tags_of(self, key: AssetKey) -> Mapping[str, str]: ...


class _HasAssetKeys(Protocol):
    @property
    def keys(self) -> Iterable[AssetKey]: ...


# Binding strength, used by str() to parenthesize only where the parser needs it.
_OR, _AND, _NOT, _LINEAGE, _ATOM = range(5)


class AssetSelection:
    """An immutable, hashable description of a set of assets, resolved against a graph.

    Build one with the class methods and combine with ``|`` (union), ``&`` (intersection)
    and ``-`` (difference), or parse an expression with ``AssetSelection.from_string``.
    """

    _precedence: ClassVar[int] = _ATOM

    @staticmethod
    def all() -> AssetSelection:
        """Every asset in the graph."""
        return _All()

    @staticmethod
    def keys(*keys: CoercibleToAssetKey) -> AssetSelection:
        """The given keys: ``AssetKey``s, ``"a/b"`` strings or sequences of segments."""
        return _union(_Key(AssetKey.from_coercible(key)) for key in keys)

    @staticmethod
    def assets(*defs: _HasAssetKeys) -> AssetSelection:
        """The keys of the given definitions (anything with a ``keys`` attribute)."""
        return _union(_Key(key) for d in defs for key in d.keys)

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        """The assets in any of the named groups."""
        return _union(_Attribute("group", name) for name in names)

    @staticmethod
    def locations(*names: str) -> AssetSelection:
        """The assets defined in any of the named code locations."""
        return _union(_Attribute("location", name) for name in names)

    @staticmethod
    def tag(key: str, value: str | None = None) -> AssetSelection:
        """The assets tagged ``key=value``, or carrying tag ``key`` at all if value is None."""
        return _Tag(key, value)

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """Parse a selection expression; the same as ``parse_selection(text)``."""
        return parse_selection(text)

    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection with its ancestors.

        Args:
            depth: How many levels of parents to add (1 = parents only); None for all.
            include_self: False to leave out the assets of this selection itself.
        """
        return self._lineage(_check_depth(depth), 0, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection with its descendants.

        Args:
            depth: How many levels of children to add (1 = children only); None for all.
            include_self: False to leave out the assets of this selection itself.
        """
        return self._lineage(0, _check_depth(depth), include_self)

    def _lineage(self, up: int | None, down: int | None, include_self: bool) -> AssetSelection:
        lineage = _Lineage(self, up, down)
        return lineage if include_self else lineage - self

    def resolve(self, graph: SelectableGraph) -> frozenset[AssetKey]:
        """The keys of ``graph`` this selection stands for.

        Raises:
            SelectionError: The selection names a key that is not in the graph.
        """
        return frozenset(self._resolve(_Resolver(graph, self)))

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _combine(_Or, (self, other))

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _combine(_And, (self, other))

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return self & _Not(other)

    def __str__(self) -> str:
        return self._format()

    def __repr__(self) -> str:
        return f"AssetSelection.from_string({str(self)!r})"

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        raise NotImplementedError

    def _format(self) -> str:
        raise NotImplementedError


class _Resolver:
    """What one resolution needs: the graph, its key set, and the root for messages."""

    def __init__(self, graph: SelectableGraph, root: AssetSelection) -> None:
        self.graph = graph
        self.root = root
        self.universe = frozenset(graph.all_keys)

    def where(self, predicate: Callable[[AssetKey], bool]) -> set[AssetKey]:
        return {key for key in self.universe if predicate(key)}

    def lineage(self, start: set[AssetKey], up: bool, depth: int | None) -> set[AssetKey]:
        """Breadth-first, so each key is visited once and ``depth`` counts shortest paths."""
        step = self.graph.parents if up else self.graph.children
        seen = set(start)
        frontier = list(start)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            reached = []
            for key in frontier:
                for nxt in step(key):
                    if nxt not in seen and nxt in self.universe:
                        seen.add(nxt)
                        reached.append(nxt)
            frontier = reached
        return seen

    def unknown_key(self, key: AssetKey) -> SelectionError:
        text = key.to_user_string()
        names = [k.to_user_string() for k in self.universe]
        close = difflib.get_close_matches(text, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return SelectionError(f"no asset with key {text!r}{hint}", expression=str(self.root))


@dataclass(frozen=True, repr=False)
class _All(AssetSelection):
    # Below _ATOM so that lineage writes "(*)+", since "*+" would read as ancestors.
    _precedence: ClassVar[int] = _LINEAGE

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        return set(r.universe)

    def _format(self) -> str:
        return "*"


@dataclass(frozen=True, repr=False)
class _Key(AssetSelection):
    key: AssetKey

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        if self.key not in r.universe:
            raise r.unknown_key(self.key)
        return {self.key}

    def _format(self) -> str:
        return _format_key(self.key.path)


@dataclass(frozen=True, repr=False)
class _KeyGlob(AssetSelection):
    pattern: str
    # Below _ATOM so that lineage wraps it: in "key:a/**" the last "*" would be the glob's.
    _precedence: ClassVar[int] = _LINEAGE

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        return r.where(lambda key: fnmatch.fnmatchcase(key.to_user_string(), self.pattern))

    def _format(self) -> str:
        return f"key:{self.pattern}"


@dataclass(frozen=True, repr=False)
class _Attribute(AssetSelection):
    attribute: str  # "group" or "location"
    name: str

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        lookup = r.graph.group_of if self.attribute == "group" else r.graph.location_of
        return r.where(lambda key: lookup(key) == self.name)

    def _format(self) -> str:
        return f"{self.attribute}:{_format_value(self.name)}"


@dataclass(frozen=True, repr=False)
class _Tag(AssetSelection):
    key: str
    value: str | None

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        def matches(asset: AssetKey) -> bool:
            tags = r.graph.tags_of(asset)
            return self.key in tags and self.value in (None, tags[self.key])

        return r.where(matches)

    def _format(self) -> str:
        value = "" if self.value is None else f"={_format_value(self.value)}"
        return f"tag:{_format_value(self.key)}{value}"


@dataclass(frozen=True, repr=False)
class _Lineage(AssetSelection):
    """The operand with ``up`` levels of parents and ``down`` of children (None: all)."""

    operand: AssetSelection
    up: int | None
    down: int | None
    _precedence: ClassVar[int] = _LINEAGE

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        base = self.operand._resolve(r)
        result = set(base)
        if self.up != 0:
            result |= r.lineage(base, up=True, depth=self.up)
        if self.down != 0:
            result |= r.lineage(base, up=False, depth=self.down)
        return result

    def _format(self) -> str:
        prefix = {None: "*", 0: "", 1: "+", 2: "++"}.get(self.up, f"{self.up}+")
        suffix = {None: "*", 0: "", 1: "+", 2: "++"}.get(self.down, f"+{self.down}")
        return f"{prefix}{_wrap(self.operand, _ATOM)}{suffix}"


@dataclass(frozen=True, repr=False)
class _Not(AssetSelection):
    operand: AssetSelection
    _precedence: ClassVar[int] = _NOT

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        return set(r.universe - self.operand._resolve(r))

    def _format(self) -> str:
        return f"not {_wrap(self.operand, _NOT)}"


@dataclass(frozen=True, repr=False)
class _Combination(AssetSelection):
    operands: tuple[AssetSelection, ...]
    _keyword: ClassVar[str]

    def _format(self) -> str:
        joiner = f" {self._keyword} "
        return joiner.join(_wrap(operand, self._precedence + 1) for operand in self.operands)


@dataclass(frozen=True, repr=False)
class _Or(_Combination):
    _precedence: ClassVar[int] = _OR
    _keyword: ClassVar[str] = "or"

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        result: set[AssetKey] = set()
        for operand in self.operands:
            result |= operand._resolve(r)
        return result


@dataclass(frozen=True, repr=False)
class _And(_Combination):
    _precedence: ClassVar[int] = _AND
    _keyword: ClassVar[str] = "and"

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        # "a and not b" subtracts b instead of building the complement of b.
        kept = [op for op in self.operands if not isinstance(op, _Not)]
        removed = [op.operand for op in self.operands if isinstance(op, _Not)]
        result = kept[0]._resolve(r) if kept else set(r.universe)
        for operand in kept[1:]:
            result &= operand._resolve(r)
        for operand in removed:
            result -= operand._resolve(r)
        return result


def _combine(kind: type[_Combination], items: Iterable[AssetSelection]) -> AssetSelection:
    # Flattened, so that "a or b or c" is one node however it was built or parsed.
    operands = tuple(
        operand
        for item in items
        for operand in (item.operands if isinstance(item, kind) else (item,))
    )
    return operands[0] if len(operands) == 1 else kind(operands)


def _union(selections: Iterable[AssetSelection]) -> AssetSelection:
    items = tuple(selections)
    return _combine(_Or, items) if items else _Not(_All())


def _check_depth(depth: int | None) -> int | None:
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1 or None, got {depth}")
    return depth


def _wrap(selection: AssetSelection, precedence: int) -> str:
    text = selection._format()
    return f"({text})" if selection._precedence < precedence else text


_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_.-/")
_GLOB_CHARS = _WORD_CHARS | {"*"}
_BARE = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
_KEYWORDS = frozenset({"and", "or", "not"})
_ATTRIBUTES = ("key", "group", "location", "tag")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _format_value(text: str) -> str:
    bare = _BARE.fullmatch(text) and text.lower() not in _KEYWORDS
    return text if bare else f'"{_escape(text)}"'


def _format_key(path: tuple[str, ...]) -> str:
    text = "/".join(path)
    # A lone number is quoted too: "2+a" reads as two levels of parents of a.
    if _format_value(text) == text and not text.isdigit() and len(path) == text.count("/") + 1:
        return text
    return '"' + "/".join(_escape(segment).replace("/", "\\/") for segment in path) + '"'


def parse_selection(text: str) -> AssetSelection:
    """Parse a selection expression (see the module docstring for the grammar)."""
    from codeloc._selection_parser import parse_selection as parse

    return parse(text)
