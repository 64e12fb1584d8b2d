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
    primary  := "(" expr ")" | "*" | key | "key:" key | "key_prefix:" key | "group:" NAME
              | "location:" NAME | "tag:" NAME ["=" NAME] | "kind:" NAME | "owner:" NAME
              | FUNCTION "(" expr ")"
    key      := segment ("/" segment)* | '"' quoted key '"'

Lineage reads as the reference reads it. Around a bare key, each ``+`` is one level and
``*`` every level (``+a``, ``a++``, ``*a``: the reference's clauses); around any other term,
``+`` is every level (``key:a+``, ``+group:g``, ``(a or b)+``: the reference's current
syntax), ``+`` with a number that many (``key:a+1``, ``2+key:a``), and ``++`` is refused.

FUNCTION is ``sinks``, ``roots`` or ``required_multi_asset_neighbors`` (the methods of the
same names). A bare segment is ``[A-Za-z0-9_.-]+``; a quoted key may hold anything, with
``\\"``, ``\\\\`` and ``\\/`` (a slash inside a segment) escaped. Right after ``key:``, ``*``
is a wildcard, not lineage: ``key:raw/*`` is matched with ``fnmatch`` against the
``/``-joined key, and its descendants are written ``(key:raw/*)*``. An owner has a ``:`` or
an ``@`` in it, so it is written quoted: ``owner:"team:data"``.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import string
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from codeloc._errors import SelectionError
from codeloc._key import AssetKey, CoercibleToAssetKey
from codeloc._validation import KIND_TAG_PREFIX

__all__ = ["KEYWORDS", "SEGMENT_CHARS", "AssetSelection", "SelectableGraph", "parse_selection"]

# The lexicon that the parser reads and ``str()`` writes, defined once for both.
SEGMENT_CHARS = string.ascii_letters + string.digits + "_.-"
"""The characters of a key segment or a name that can be written without quotes."""
KEYWORDS = frozenset({"and", "or", "not"})
"""The operators, in lower case; a name spelled like one (in any case) is written quoted."""


@runtime_checkable
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

    def owners_of(self, key: AssetKey) -> Sequence[str]: ...


class _HasAssetKeys(Protocol):
    @property
    def keys(self) -> Iterable[AssetKey]: ...


class _HasAssetKey(Protocol):
    @property
    def key(self) -> AssetKey: ...


def _graph_of(items: Iterable[object]) -> SelectableGraph:
    """The graph of a list of definitions and specs, for ``resolve`` outside ``Definitions``."""
    # Lazy, as the graph module is only needed here; it is as pure as this one.
    from codeloc._graph import AssetGraph

    definitions: list[Any] = []
    specs: list[Any] = []
    for item in items:
        (definitions if hasattr(item, "specs") else specs).append(item)
    return AssetGraph(definitions, specs)


# Binding strength, used by str() to parenthesize only where the parser needs it.
_OR, _AND, _NOT, _LINEAGE, _ATOM = range(5)


class AssetSelection:
    """An immutable, hashable description of a set of assets, resolved against a graph.

    Build one with the class methods and combine with ``|`` (union), ``&`` (intersection),
    ``-`` (difference) and ``~`` (complement), or parse an expression with
    ``AssetSelection.from_string``.
    """

    _precedence: ClassVar[int] = _ATOM

    @staticmethod
    def all() -> AssetSelection:
        """Every asset in the graph."""
        return _All()

    @staticmethod
    def keys(*keys: CoercibleToAssetKey) -> AssetSelection:
        """The given keys: ``AssetKey``s, ``"a/b"`` strings or sequences of segments."""
        if len(keys) == 1:  # the parser's case, once per key it reads
            return _Key(AssetKey.from_coercible(keys[0]))
        return AssetSelection.any_of(*(_Key(AssetKey.from_coercible(key)) for key in keys))

    @staticmethod
    def assets(*items: _HasAssetKeys | CoercibleToAssetKey) -> AssetSelection:
        """The given assets: definitions (all their keys), ``AssetKey``s or ``"a/b"`` strings."""
        return AssetSelection.any_of(
            *(
                _Key(key)
                for item in items
                for key in (
                    sorted(item.keys)  # a frozenset: sorted, for a stable str()
                    if not isinstance(item, (str, AssetKey)) and hasattr(item, "keys")
                    else (AssetKey.from_coercible(item),)
                )
            )
        )

    @staticmethod
    def key_prefixes(*prefixes: str | Sequence[str]) -> AssetSelection:
        """The assets whose key starts with any of ``prefixes``, as ``key_prefix:a/b`` does.

        As in the reference, a string is one segment (``"raw"``; a ``/`` in it is part of
        the segment) and a sequence is several (``["raw", "eu"]``). A key equal to a prefix
        has that prefix: ``key_prefixes("raw")`` selects ``raw`` and ``raw/orders``.
        """
        paths = [(prefix,) if isinstance(prefix, str) else tuple(prefix) for prefix in prefixes]
        for path in paths:
            if not path or not all(path):
                raise ValueError(f"a key prefix needs non-empty segments, got {list(path)!r}")
        return AssetSelection.any_of(*(_KeyPrefix(path) for path in paths))

    @staticmethod
    def tag_string(text: str) -> AssetSelection:
        """The assets tagged as ``"key=value"`` says; ``"key"`` alone means an empty value.

        Split at the first ``=``, as the reference does; a key-only tag (``{"pii": ""}``)
        is the one ``tag_string("pii")`` selects.
        """
        key, _, value = text.partition("=")
        if not key:
            raise ValueError(f"a tag string is 'key' or 'key=value', got {text!r}")
        return _Tag(key, value)

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        """The assets in any of the named groups."""
        return AssetSelection.any_of(*(_Attribute("group", name) for name in names))

    @staticmethod
    def locations(*names: str) -> AssetSelection:
        """The assets defined in any of the named code locations."""
        return AssetSelection.any_of(*(_Attribute("location", name) for name in names))

    @staticmethod
    def tag(key: str, value: str | None = None) -> AssetSelection:
        """The assets tagged ``key=value``, or carrying tag ``key`` at all if value is None."""
        return _Tag(key, value)

    @staticmethod
    def kind(kind: str) -> AssetSelection:
        """The assets of that kind (``kinds={"python"}``), as ``kind:python`` does."""
        return _Kind(kind)

    @staticmethod
    def owner(owner: str) -> AssetSelection:
        """The assets with that owner, as ``owner:"team:data"`` does."""
        return _Owner(owner)

    @staticmethod
    def key_glob(pattern: str) -> AssetSelection:
        """The assets whose ``/``-joined key matches ``pattern``, as ``key:PATTERN`` does.

        ``*`` matches any run of characters, ``/`` included: ``key_glob("raw/*")`` selects
        ``raw/orders`` and ``raw/eu/orders``. Matched with ``fnmatch.fnmatchcase``.

        Raises:
            ValueError: ``pattern`` has no ``*`` (select an exact key with ``keys``), an
                empty segment, or a character other than letters, digits, ``_.-/*``.
        """
        if "*" not in pattern or not _GLOB.fullmatch(pattern):
            raise ValueError(
                "a key glob needs a '*' and non-empty segments of letters, digits, "
                f"'_', '.', '-' and '*', separated by '/'; got {pattern!r}"
            )
        return _KeyGlob(pattern)

    @staticmethod
    def any_of(*selections: AssetSelection) -> AssetSelection:
        """The union of ``selections`` (nothing, if none is given): ``a | b | c`` in one step."""
        if len(selections) == 1:  # the parser's case at nearly every level of its descent
            return selections[0]
        return _combine(_Or, selections) if selections else _Not(_All())

    @staticmethod
    def all_of(*selections: AssetSelection) -> AssetSelection:
        """The intersection of ``selections`` (everything, if none is given): ``a & b & c``."""
        if len(selections) == 1:
            return selections[0]
        return _combine(_And, selections) if selections else _All()

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """Parse a selection expression; the same as ``parse_selection(text)``."""
        return parse_selection(text)

    @staticmethod
    def from_coercible(selection: object) -> AssetSelection:
        """A selection from what ``selection=`` arguments take, as the reference coerces them.

        An ``AssetSelection`` is itself; a string is an expression; in a list, each string is
        an expression too (``["*c", "key:x"]`` is ``*c`` or ``key:x``: lineage, not a key
        named ``*c``), each definition stands for its keys and each ``AssetKey`` for itself.

        Raises:
            SelectionError: A string does not parse.
            TypeError: ``selection`` is none of these.
        """
        if isinstance(selection, AssetSelection):
            return selection
        if isinstance(selection, str):
            return parse_selection(selection)
        if isinstance(selection, Iterable) and not isinstance(selection, Mapping):
            parts: list[AssetSelection] = []
            for item in selection:
                if isinstance(item, str):
                    parts.append(parse_selection(item))
                elif isinstance(item, AssetSelection):
                    parts.append(item)
                else:
                    parts.append(AssetSelection.assets(item))
            return AssetSelection.any_of(*parts)
        raise TypeError(
            "a selection is an AssetSelection, an expression, or a list of expressions, "
            f"asset keys and definitions; got {type(selection).__name__}"
        )

    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection with its ancestors.

        Args:
            depth: How many levels of parents to add (1 = parents only); None for all.
            include_self: False to leave out the assets of this selection itself.
        """
        lineage = self.with_lineage(upstream=_check_depth(depth))
        return lineage if include_self else lineage - self

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection with its descendants.

        Args:
            depth: How many levels of children to add (1 = children only); None for all.
            include_self: False to leave out the assets of this selection itself.
        """
        lineage = self.with_lineage(downstream=_check_depth(depth))
        return lineage if include_self else lineage - self

    def with_lineage(
        self, *, upstream: int | None = 0, downstream: int | None = 0
    ) -> AssetSelection:
        """This selection with ancestors and descendants of its assets, as ``N+sel+M`` does.

        Both are taken from this selection's assets: ``+a+`` is
        ``a.with_lineage(upstream=1, downstream=1)``, the parents and children of ``a``,
        whereas ``a.upstream(1).downstream(1)`` also holds the other children of the parents.

        Args:
            upstream: How many levels of parents to add: 0 for none, None for all.
            downstream: How many levels of children to add: 0 for none, None for all.
        """
        for depth in (upstream, downstream):
            if depth is not None and depth < 0:
                raise ValueError(f"a lineage depth must be at least 0 or None, got {depth}")
        if upstream == downstream == 0:
            return self
        return _Lineage(self, upstream, downstream)

    def sinks(self) -> AssetSelection:
        """The assets of this selection with no child inside it, as ``sinks(sel)`` does.

        A sink may have children outside the selection.
        """
        return _Ends(self, at_sinks=True)

    def roots(self) -> AssetSelection:
        """The assets of this selection with no parent inside it, as ``roots(sel)`` does.

        A root may have parents outside the selection (external ones included).
        """
        return _Ends(self, at_sinks=False)

    def required_multi_asset_neighbors(self) -> AssetSelection:
        """This selection with every key of each multi-asset it touches that can't subset.

        What a run of this selection must execute: a multi-asset with ``can_subset=False``
        computes all its assets or none. Against a graph that does not say which keys run
        together (no ``required_neighbors`` method), it is this selection unchanged.
        """
        return _Neighbors(self)

    def resolve(
        self,
        graph: SelectableGraph | Iterable[_HasAssetKeys | _HasAssetKey],
        allow_missing: bool = False,
    ) -> frozenset[AssetKey]:
        """The keys this selection stands for in ``graph``, or in a list of definitions.

        A list may hold asset definitions and ``AssetSpec``s (external assets: parents
        only, never selected), as ``Definitions(assets=...)`` takes them.

        Args:
            graph: The graph, or the definitions to build it from.
            allow_missing: True to leave out the keys named here that are not in the graph,
                instead of refusing them.

        Raises:
            SelectionError: The selection names a key that is not in the graph.
        """
        if not isinstance(graph, SelectableGraph):
            graph = _graph_of(graph)
        return frozenset(self._resolve(_Resolver(graph, self, allow_missing)))

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _combine(_Or, (self, other))

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _combine(_And, (self, other))

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return self & _Not(other)

    def __invert__(self) -> AssetSelection:
        """Every asset not in this selection, as ``not sel`` does."""
        return _Not(self)

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

    def __init__(
        self, graph: SelectableGraph, root: AssetSelection, allow_missing: bool = False
    ) -> None:
        self.graph = graph
        self.root = root
        self.allow_missing = allow_missing
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
            if r.allow_missing:
                return set()
            raise r.unknown_key(self.key)
        return {self.key}

    def _format(self) -> str:
        return _format_key(self.key.parts)


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
class _KeyPrefix(AssetSelection):
    path: tuple[str, ...]

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        n = len(self.path)
        return r.where(lambda key: key.parts[:n] == self.path)

    def _format(self) -> str:
        return f"key_prefix:{_format_key(self.path)}"


@dataclass(frozen=True, repr=False)
class _Ends(AssetSelection):
    """The sinks (no child in the operand) or roots (no parent in it) of the operand."""

    operand: AssetSelection
    at_sinks: bool

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        base = self.operand._resolve(r)
        step = r.graph.children if self.at_sinks else r.graph.parents
        return {key for key in base if not any(other in base for other in step(key))}

    def _format(self) -> str:
        return f"{'sinks' if self.at_sinks else 'roots'}({self.operand._format()})"


@dataclass(frozen=True, repr=False)
class _Neighbors(AssetSelection):
    operand: AssetSelection

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        base = self.operand._resolve(r)
        neighbors: Callable[[AssetKey], Iterable[AssetKey]] | None = getattr(
            r.graph, "required_neighbors", None
        )
        if neighbors is None:
            return base
        return {other for key in base for other in neighbors(key) if other in r.universe}

    def _format(self) -> str:
        return f"required_multi_asset_neighbors({self.operand._format()})"


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
class _Kind(AssetSelection):
    name: str  # not ``kind``: that is AssetSelection.kind

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        tag = KIND_TAG_PREFIX + self.name
        return r.where(lambda asset: tag in r.graph.tags_of(asset))

    def _format(self) -> str:
        return f"kind:{_format_value(self.name)}"


@dataclass(frozen=True, repr=False)
class _Owner(AssetSelection):
    name: str

    def _resolve(self, r: _Resolver) -> set[AssetKey]:
        return r.where(lambda asset: self.name in r.graph.owners_of(asset))

    def _format(self) -> str:
        return f"owner:{_format_value(self.name)}"


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
        if isinstance(self.operand, _Key):  # the counting form: "*a", "++a", "a+3"
            prefix = {None: "*", 0: "", 1: "+", 2: "++"}.get(self.up, f"{self.up}+")
            suffix = {None: "*", 0: "", 1: "+", 2: "++"}.get(self.down, f"+{self.down}")
        else:  # around any other term, "+" is every level: "+group:g", "(a or b)+2"
            prefix = {None: "+", 0: ""}.get(self.up, f"{self.up}+")
            suffix = {None: "+", 0: ""}.get(self.down, f"+{self.down}")
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


def _check_depth(depth: int | None) -> int | None:
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1 or None, got {depth}")
    return depth


def _wrap(selection: AssetSelection, precedence: int) -> str:
    text = selection._format()
    return f"({text})" if selection._precedence < precedence else text


_SEGMENT = f"[{re.escape(SEGMENT_CHARS)}]+"
_BARE = re.compile(f"{_SEGMENT}(/{_SEGMENT})*")
_GLOB_SEGMENT = f"[{re.escape(SEGMENT_CHARS)}*]+"
_GLOB = re.compile(f"{_GLOB_SEGMENT}(/{_GLOB_SEGMENT})*")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _format_value(text: str) -> str:
    bare = _BARE.fullmatch(text) and text.lower() not in KEYWORDS
    return text if bare else f'"{_escape(text)}"'


def _format_key(path: tuple[str, ...]) -> str:
    text = "/".join(path)
    # A lone number is quoted too: "2+a" reads as two levels of parents of a.
    if _format_value(text) == text and not text.isdigit() and len(path) == text.count("/") + 1:
        return text
    return '"' + "/".join(_escape(segment).replace("/", "\\/") for segment in path) + '"'


def parse_selection(text: str) -> AssetSelection:
    """Parse a selection expression (see the module docstring for the grammar)."""
    # The one import of the parser from here, and lazy on purpose: the parser builds
    # selections through this module's public API, so it imports this module; importing it
    # back at the top would make the two modules a cycle.
    from codeloc._selection_parser import parse_selection as parse

    return parse(text)
