from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterable, Mapping, Sequence

import pytest

from codeloc._errors import SelectionError
from codeloc._key import AssetKey
from codeloc._selection import AssetSelection, SelectableGraph, parse_selection


class Graph:
    """A minimal SelectableGraph: each key maps to its parents, which may be external."""

    def __init__(
        self,
        deps: Mapping[str, Iterable[str]],
        groups: Mapping[str, str] | None = None,
        locations: Mapping[str, str] | None = None,
        tags: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._parents = {k(key): [k(p) for p in ps] for key, ps in deps.items()}
        self._children: dict[AssetKey, list[AssetKey]] = {}
        for key, parents in self._parents.items():
            for parent in parents:
                self._children.setdefault(parent, []).append(key)
        self._groups = {k(key): v for key, v in (groups or {}).items()}
        self._locations = {k(key): v for key, v in (locations or {}).items()}
        self._tags = {k(key): v for key, v in (tags or {}).items()}

    @property
    def all_keys(self) -> Collection[AssetKey]:
        return self._parents.keys()

    def parents(self, key: AssetKey) -> Iterable[AssetKey]:
        return self._parents.get(key, [])

    def children(self, key: AssetKey) -> Iterable[AssetKey]:
        return self._children.get(key, [])

    def group_of(self, key: AssetKey) -> str | None:
        return self._groups.get(key)

    def location_of(self, key: AssetKey) -> str | None:
        return self._locations.get(key)

    def tags_of(self, key: AssetKey) -> Mapping[str, str]:
        return self._tags.get(key, {})

    def owners_of(self, key: AssetKey) -> Sequence[str]:
        return ()


def k(text: str) -> AssetKey:
    return AssetKey.from_user_string(text)


# raw/orders (external parent vendor/feed) and raw/customers -> staging/orders
#   -> marts/revenue -> marts/report;   a -> b -> c -> d -> e, and x -> c;   "odd name/x" alone.
GRAPH = Graph(
    deps={
        "raw/orders": ["vendor/feed"],
        "raw/customers": [],
        "staging/orders": ["raw/orders", "raw/customers"],
        "marts/revenue": ["staging/orders"],
        "marts/report": ["marts/revenue"],
        "a": [],
        "b": ["a"],
        "x": [],
        "c": ["b", "x"],
        "d": ["c"],
        "e": ["d"],
        "odd name/x": [],
    },
    groups={"raw/orders": "raw", "raw/customers": "raw", "staging/orders": "staging"}
    | {"marts/revenue": "marts", "marts/report": "marts"},
    locations={"raw/orders": "ingest", "raw/customers": "ingest", "marts/revenue": "finance"},
    tags={"marts/revenue": {"tier": "gold"}, "marts/report": {"tier": "silver", "pii": ""}},
)

PIPELINE = {"raw/orders", "raw/customers", "staging/orders", "marts/revenue", "marts/report"}
EVERYTHING = PIPELINE | {"a", "b", "c", "d", "e", "x", "odd name/x"}


class ChainGraph:
    """k0 -> k1 -> ... -> k{n-1}, built quickly for the performance test."""

    def __init__(self, n: int) -> None:
        self.chain = [AssetKey(f"k{i}") for i in range(n)]
        self.index = {key: i for i, key in enumerate(self.chain)}

    @property
    def all_keys(self) -> Collection[AssetKey]:
        return self.chain

    def parents(self, key: AssetKey) -> Iterable[AssetKey]:
        i = self.index[key]
        return self.chain[i - 1 : i] if i else []

    def children(self, key: AssetKey) -> Iterable[AssetKey]:
        i = self.index[key]
        return self.chain[i + 1 : i + 2]

    def group_of(self, key: AssetKey) -> str | None:
        return None

    def location_of(self, key: AssetKey) -> str | None:
        return None

    def tags_of(self, key: AssetKey) -> Mapping[str, str]:
        return {}

    def owners_of(self, key: AssetKey) -> Sequence[str]:
        return ()


def select(selection: str | AssetSelection, graph: SelectableGraph = GRAPH) -> set[str]:
    if isinstance(selection, str):
        selection = parse_selection(selection)
    return {key.to_user_string() for key in selection.resolve(graph)}


# --- terms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", {"a"}),
        ("raw/orders", {"raw/orders"}),
        ("key:raw/orders", {"raw/orders"}),
        ('"odd name/x"', {"odd name/x"}),
        ('key:"odd name/x"', {"odd name/x"}),
        ("group:raw", {"raw/orders", "raw/customers"}),
        ("group:nobody", set()),
        ("location:ingest", {"raw/orders", "raw/customers"}),
        ("location:finance", {"marts/revenue"}),
        ("tag:tier=gold", {"marts/revenue"}),
        ("tag:tier", {"marts/revenue", "marts/report"}),
        ('tag:pii=""', {"marts/report"}),
        ("tag:pii", {"marts/report"}),
        ("tag:tier=bronze", set()),
        ("key:raw/*", {"raw/orders", "raw/customers"}),
        ("key:*/orders", {"raw/orders", "staging/orders"}),
        ("key:nothing/*", set()),
        ("key:*/ord*", {"raw/orders", "staging/orders"}),
        ("key:raw*", {"raw/orders", "raw/customers"}),
        ('key:"raw/*"', None),
    ],
)
def test_terms(text: str, expected: set[str] | None) -> None:
    if expected is None:  # a quoted key is never a pattern
        with pytest.raises(SelectionError, match=r"no asset with key 'raw/\*'"):
            select(text)
    else:
        assert select(text) == expected


def test_star_alone_is_every_asset() -> None:
    assert select("*") == EVERYTHING
    assert parse_selection("*") == AssetSelection.all()


def test_key_glob_in_lineage() -> None:
    assert select("key:raw/**") == select("key:raw/*")
    assert select("(key:raw/*)*") == PIPELINE


def test_terms_parse_to_the_python_api() -> None:
    assert parse_selection("raw/orders") == AssetSelection.keys("raw/orders")
    assert parse_selection("key:raw/orders") == AssetSelection.keys(["raw", "orders"])
    assert parse_selection("group:raw") == AssetSelection.groups("raw")
    assert parse_selection("location:ingest") == AssetSelection.locations("ingest")
    assert parse_selection("tag:tier=gold") == AssetSelection.tag("tier", "gold")
    assert parse_selection("tag:tier") == AssetSelection.tag("tier")
    assert AssetSelection.from_string("a or b") == parse_selection("a or b")


def test_quoted_key_escapes() -> None:
    selection = parse_selection(r'"a\/b/c\"d\\e"')
    assert selection == AssetSelection.keys(AssetKey(["a/b", 'c"d\\e']))


def test_keywords_are_case_insensitive() -> None:
    assert parse_selection("a AND NOT b Or c") == parse_selection("a and not b or c")


def test_keyword_lookalike_keys_are_keys() -> None:
    graph = Graph({"android": [], "order": [], "notes": []})
    assert select("android or order or notes", graph) == {"android", "order", "notes"}


def test_digit_keys() -> None:
    graph = Graph({"2": [], "3": ["2"], "4": ["3"]})
    assert select("2+", graph) == {"2", "3"}  # no term follows, so "2" is a key
    assert select("2+4", graph) == {"2", "3", "4"}  # a depth before a term
    assert select('"2"+2', graph) == {"2", "3", "4"}


# --- lineage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+c", {"b", "x", "c"}),
        ("++d", {"b", "x", "c", "d"}),
        ("2+d", {"b", "x", "c", "d"}),
        ("+++e", {"b", "x", "c", "d", "e"}),
        ("*c", {"a", "b", "x", "c"}),
        ("c+", {"c", "d"}),
        ("c++", {"c", "d", "e"}),
        ("b+2", {"b", "c", "d"}),
        ("c*", {"c", "d", "e"}),
        ("*c+", {"a", "b", "x", "c", "d"}),
        ("2+d+1", {"b", "x", "c", "d", "e"}),
        ("*c*", {"a", "b", "x", "c", "d", "e"}),
        # Around a term that is not a bare key, "+" is every level and "N+" / "+N" N levels,
        # as in the reference's current syntax.
        ("+(a or e)", {"a", "b", "x", "c", "d", "e"}),
        ("1+(a or e)", {"a", "d", "e"}),
        ("(b and c)+", set()),
        ("+(+d)", {"a", "b", "x", "c", "d"}),
        ("1+(+d)", {"b", "x", "c", "d"}),
        ("(+c)+", {"b", "x", "c", "d", "e"}),
        ("(+c)+1", {"b", "x", "c", "d"}),
        ("key:c+", {"c", "d", "e"}),
        ("key:c+1", {"c", "d"}),
        ("+key:c", {"a", "b", "x", "c"}),
        ("2+key:d", {"b", "x", "c", "d"}),
        ("+key:c+", {"a", "b", "x", "c", "d", "e"}),
        ("*group:marts", PIPELINE),
        ("(key:raw/*)+1", {"raw/orders", "raw/customers", "staging/orders"}),
        ("*key:marts/*", PIPELINE),
        ('*"odd name/x"', {"odd name/x"}),
    ],
)
def test_lineage(text: str, expected: set[str]) -> None:
    assert select(text) == expected


def test_lineage_depth_counts_shortest_paths() -> None:
    # d reaches a both through b (2 levels) and directly (1 level): depth 1 must include it.
    graph = Graph({"a": [], "b": ["a"], "c": ["b"], "d": ["c", "a"]})
    assert select("+d", graph) == {"a", "c", "d"}
    assert select("a+", graph) == {"a", "b", "d"}


def test_external_parents_are_ignored() -> None:
    assert select("*raw/orders") == {"raw/orders"}
    assert select("+raw/orders") == {"raw/orders"}
    assert "vendor/feed" not in select("*marts/report")


def test_python_lineage_api() -> None:
    c = AssetSelection.keys("c")
    assert c.upstream(1) == parse_selection("+c")
    assert c.upstream(2) == parse_selection("++c")
    assert c.upstream() == parse_selection("*c")
    assert c.downstream(3) == parse_selection("c+3")
    assert c.downstream() == parse_selection("c*")
    assert select(c.upstream(include_self=False)) == {"a", "b", "x"}
    assert select(c.downstream(depth=1, include_self=False)) == {"d"}
    assert select(c.upstream(1).downstream(1)) == {"b", "x", "c", "d"}


@pytest.mark.parametrize("depth", [0, -1])
def test_python_lineage_depth_must_be_positive(depth: int) -> None:
    with pytest.raises(ValueError, match="depth must be at least 1"):
        AssetSelection.keys("c").upstream(depth)


def test_resolution_is_linear_on_a_long_chain() -> None:
    n = 100_000
    graph = ChainGraph(n)
    started = time.perf_counter()
    ancestors = parse_selection(f"*k{n - 1}").resolve(graph)
    descendants = AssetSelection.keys("k0").downstream().resolve(graph)
    elapsed = time.perf_counter() - started
    assert len(ancestors) == n
    assert len(descendants) == n
    assert elapsed < 2.0


# --- operators and precedence ----------------------------------------------------------------


def test_boolean_operators() -> None:
    raw_and_staging = {"raw/orders", "raw/customers", "staging/orders"}
    assert select("group:raw or group:staging") == raw_and_staging
    assert select("group:raw and location:ingest and raw/orders") == {"raw/orders"}
    assert select("group:marts and not tag:tier=gold") == {"marts/report"}
    assert select("not key:*/*") == {"a", "b", "c", "d", "e", "x"}
    assert select("not not a") == {"a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", {"a"}),
        ("(a or b) and c", set()),
        ("not a and b", {"b"}),
        ("not (a and b)", EVERYTHING),
        ("not a or a", EVERYTHING),
        ("not (a or b) and c", {"c"}),
        ("a or not b and c", {"a", "c"}),
    ],
)
def test_precedence(text: str, expected: set[str]) -> None:
    assert select(text) == expected


def test_precedence_structure() -> None:
    a, b, c = (AssetSelection.keys(name) for name in "abc")
    assert parse_selection("a or b and c") == a | (b & c)
    assert parse_selection("a and b or c") == (a & b) | c
    assert parse_selection("a and not b") == a - b
    assert parse_selection("a or b or c") == (a | b) | c == a | (b | c)


def test_python_operators() -> None:
    raw = AssetSelection.groups("raw")
    assert select(raw | AssetSelection.keys("a")) == {"raw/orders", "raw/customers", "a"}
    assert select(raw & AssetSelection.keys("raw/orders", "c")) == {"raw/orders"}
    assert select(raw - AssetSelection.keys("raw/orders")) == {"raw/customers"}
    assert select(AssetSelection.all() - AssetSelection.keys("a").downstream()) == select("not a*")
    assert select(AssetSelection.groups("raw", "staging")) == select("group:raw or group:staging")
    assert select(AssetSelection.locations("ingest", "finance")) == {
        "raw/orders",
        "raw/customers",
        "marts/revenue",
    }


def test_keys_accepts_every_coercible_form() -> None:
    selection = AssetSelection.keys(AssetKey("a"), "raw/orders", ["marts", "report"])
    assert select(selection) == {"a", "raw/orders", "marts/report"}


def test_empty_constructors_select_nothing() -> None:
    assert select(AssetSelection.keys()) == set()
    assert select(AssetSelection.groups()) == set()
    assert parse_selection(str(AssetSelection.keys())) == AssetSelection.keys()


@dataclasses.dataclass(frozen=True)
class FakeAssetsDefinition:
    keys: frozenset[AssetKey]


def test_assets_takes_the_keys_of_definitions() -> None:
    first = FakeAssetsDefinition(frozenset({k("a"), k("b")}))
    second = FakeAssetsDefinition(frozenset({k("raw/orders")}))
    assert select(AssetSelection.assets(first, second)) == {"a", "b", "raw/orders"}


def test_selections_are_frozen_and_hashable() -> None:
    selection = AssetSelection.keys("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        selection.key = k("b")  # type: ignore[attr-defined]
    built = AssetSelection.keys("a") | AssetSelection.groups("raw")
    assert len({built, parse_selection("a or group:raw")}) == 1
    assert AssetSelection.keys("a") != AssetSelection.keys("b")


def test_repr_shows_the_expression() -> None:
    selection = AssetSelection.keys("a").upstream(2) | AssetSelection.groups("raw")
    assert repr(selection) == "AssetSelection.from_string('++a or group:raw')"


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a",
        "raw/orders",
        '"odd name/x"',
        '"and"',
        '"2"',
        '"2"+3',
        "*",
        "(*)+",
        "+(*)",
        "not *",
        "key:raw/*",
        "(key:raw/*)+",
        "+(key:*o*)",
        "group:raw",
        'group:"my group"',
        "location:ingest",
        "tag:tier=gold",
        "tag:pii",
        'tag:"a b"=""',
        "+a",
        "++a",
        "3+a",
        "a+",
        "a++",
        "a+3",
        "*a",
        "a*",
        "*a+",
        "3+a+3",
        "++a++",
        "+(+a)",
        "(a+)+",
        "+(a or b)",
        "a or b and c",
        "(a or b) and c",
        "not a and b",
        "not (a and b)",
        "not not a",
        "a and not (b or c)",
        "+group:marts and not (tag:tier=gold or c+)",
    ],
)
def test_round_trip_of_expressions(text: str) -> None:
    selection = parse_selection(text)
    assert str(selection) == text
    assert parse_selection(str(selection)) == selection


@pytest.mark.parametrize(
    "selection",
    [
        AssetSelection.keys(AssetKey(["a/b", 'c"d\\e'])),
        AssetSelection.keys(AssetKey(["Or"]), AssetKey(["not"]), AssetKey(["12"])),
        AssetSelection.keys("a").upstream(include_self=False),
        AssetSelection.keys("a").upstream(1).downstream(1),
        AssetSelection.all().downstream(2),
        AssetSelection.groups("raw") - AssetSelection.keys("a") - AssetSelection.keys("b"),
        (AssetSelection.keys("a") | AssetSelection.keys("b")) & AssetSelection.tag("t", "v"),
        AssetSelection.tag("team", "data eng") | AssetSelection.locations("x", "y"),
        AssetSelection.keys(),
        AssetSelection.groups("5").downstream(3) | AssetSelection.keys("5").upstream(2),
        AssetSelection.tag("dagster/kind", "5") & AssetSelection.locations("not"),
        AssetSelection.all() - (AssetSelection.keys("a") - AssetSelection.keys("b")),
    ],
)
def test_round_trip_of_built_selections(selection: AssetSelection) -> None:
    assert parse_selection(str(selection)) == selection


def test_str_of_python_api() -> None:
    selection = AssetSelection.keys("a").upstream(2) | AssetSelection.groups(
        "raw"
    ) - AssetSelection.tag("tier", "gold")
    assert str(selection) == "++a or group:raw and not tag:tier=gold"
    assert str(AssetSelection.keys("c").downstream(include_self=False)) == "c* and not c"
    assert str(AssetSelection.tag("priority", "5")) == "tag:priority=5"
    assert str(AssetSelection.keys("5").upstream(2)) == '++"5"'
    assert str(AssetSelection.keys(["a/b", "c"])) == r'"a\/b/c"'


# --- the public constructors that expressions are built from ----------------------------------


def test_key_glob() -> None:
    glob = AssetSelection.key_glob("raw/*")
    assert glob == parse_selection("key:raw/*")
    assert str(glob) == "key:raw/*"
    assert select(glob) == {"raw/orders", "raw/customers"}
    assert select(AssetSelection.key_glob("*/ord*")) == {"raw/orders", "staging/orders"}
    assert str(glob.downstream(1)) == "(key:raw/*)+1"


@pytest.mark.parametrize("pattern", ["raw/orders", "", "raw//*", "*/", "a b*", 'a"*', "(*)"])
def test_key_glob_refuses_what_the_language_cannot_write(pattern: str) -> None:
    with pytest.raises(ValueError, match="a key glob needs a '\\*' and non-empty segments"):
        AssetSelection.key_glob(pattern)


def test_complement() -> None:
    a = AssetSelection.keys("a")
    assert ~a == parse_selection("not a")
    assert ~~a == parse_selection("not not a")
    assert str(~(a | AssetSelection.keys("b"))) == "not (a or b)"
    assert select(~AssetSelection.groups("raw")) == EVERYTHING - {"raw/orders", "raw/customers"}
    assert AssetSelection.groups("raw") - a == AssetSelection.groups("raw") & ~a


def test_any_of_and_all_of() -> None:
    a, b, c = (AssetSelection.keys(name) for name in "abc")
    assert AssetSelection.any_of(a, b, c) == a | b | c == parse_selection("a or b or c")
    assert AssetSelection.all_of(a, b, c) == a & b & c == parse_selection("a and b and c")
    assert AssetSelection.any_of(a | b, c) == AssetSelection.any_of(a, b | c)  # flattened
    assert AssetSelection.any_of(a) == a == AssetSelection.all_of(a)
    assert select(AssetSelection.any_of()) == set()
    assert AssetSelection.all_of() == AssetSelection.all()
    assert str(AssetSelection.all_of(a | b, ~c)) == "(a or b) and not c"


def test_with_lineage_takes_both_sides_of_one_selection() -> None:
    c = AssetSelection.keys("c")
    assert c.with_lineage(upstream=1, downstream=1) == parse_selection("+c+")
    assert c.with_lineage(upstream=None, downstream=2) == parse_selection("*c++")
    assert c.with_lineage(upstream=3) == parse_selection("3+c") == c.upstream(3)
    assert c.with_lineage() == c
    assert select(c.with_lineage(upstream=1, downstream=1)) == {"b", "x", "c", "d"}
    # p -> one, p -> two: the parents and children of one, not the children of its parent
    siblings = Graph({"p": [], "one": ["p"], "two": ["p"]})
    one = AssetSelection.keys("one")
    assert select(one.with_lineage(upstream=1, downstream=1), siblings) == {"p", "one"}
    assert select(one.upstream(1).downstream(1), siblings) == {"p", "one", "two"}
    with pytest.raises(ValueError, match="at least 0 or None"):
        c.with_lineage(downstream=-1)


def test_a_long_union_parses_in_linear_time() -> None:
    n = 20_000
    text = " or ".join(f"k{i}" for i in range(n))
    started = time.perf_counter()
    selection = parse_selection(text)
    elapsed = time.perf_counter() - started
    assert selection == AssetSelection.keys(*(f"k{i}" for i in range(n)))
    assert str(selection) == text
    assert elapsed < 3.0


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty selection expression"),
        ("   ", 0, "empty selection expression"),
        ("a and", 2, "nothing after 'and'"),
        ("a or", 2, "nothing after 'or'"),
        ("not", 0, "nothing after 'not'"),
        ("a or +", 5, "nothing after '+'"),
        ("and a", 0, "expected an asset selection, found 'and'"),
        ("a and or b", 6, "expected an asset selection, found 'or'"),
        ("()", 1, "expected an asset selection, found ')'"),
        ("(a or b", 0, "unclosed '('"),
        ("a or (b and (c)", 5, "unclosed '('"),
        ("(", 0, "unclosed '('"),
        ("a)", 1, "unmatched ')'"),
        ("a b", 2, "expected 'and' or 'or', found 'b'"),
        ("(a b)", 3, "expected 'and', 'or' or ')', found 'b'"),
        ("a =", 2, "expected 'and' or 'or', found '='"),
        ("a & b", 2, "unexpected character '&'"),
        ("a or b!", 6, "unexpected character '!'"),
        ("grp:x", 0, "unknown attribute 'grp'; did you mean 'group:'? use key:, group:"),
        ("a or colour:red", 5, "unknown attribute 'colour'; use key:, group:, location:, tag:"),
        ("key:", 4, "expected a value after 'key:', found nothing"),
        ("group:and", 6, "expected a value after 'group:', found 'and'"),
        ("location:(x)", 9, "expected a value after 'location:', found '('"),
        ("tag:k=", 6, "expected a value after '=', found nothing"),
        ('a or "abc', 5, "unclosed string"),
        ('"a\\"', 0, "unclosed string"),
        ("a//b", 0, "empty segment in asset key"),
        ("b or /a", 5, "empty segment in asset key"),
        ('""', 0, "empty segment in asset key"),
        ("0+a", 0, "lineage depth must be at least 1"),
        ("a+0", 2, "lineage depth must be at least 1"),
        ("key:a//*", 4, "empty segment in asset key"),
        ("a or 2+a+b", 9, "expected 'and' or 'or', found 'b'"),
    ],
)
def test_syntax_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(SelectionError) as info:
        parse_selection(text)
    assert info.value.position == position
    assert info.value.expression == text
    assert str(info.value).startswith(message)
    if text:
        assert str(info.value).endswith(f"\n  {text}\n  {' ' * position}^")


def test_error_message_points_at_the_offending_token() -> None:
    with pytest.raises(SelectionError) as info:
        parse_selection("group:raw and grp:x")
    assert str(info.value) == (
        "unknown attribute 'grp'; did you mean 'group:'? use key:, group:, location:, tag:,"
        " key_prefix:, kind:, owner: at position 14:\n  group:raw and grp:x\n                ^"
    )


@pytest.mark.parametrize(
    ("text", "position"), [("(" * 150 + "a" + ")" * 150, 100), ("not " * 150 + "a", 400)]
)
def test_nesting_is_bounded(text: str, position: int) -> None:
    with pytest.raises(SelectionError, match="nested too deeply") as info:
        parse_selection(text)
    assert info.value.position == position
    assert parse_selection("(" * 90 + "a" + ")" * 90) == AssetSelection.keys("a")


def test_unknown_key_suggests_a_close_one() -> None:
    with pytest.raises(SelectionError, match=r"no asset with key 'raw/order'; did you mean "):
        parse_selection("a or +raw/order").resolve(GRAPH)
    with pytest.raises(SelectionError, match=r"'raw/orders'\?$"):
        AssetSelection.keys("raw/order").resolve(GRAPH)


def test_unknown_key_without_a_close_one() -> None:
    with pytest.raises(SelectionError) as info:
        parse_selection("a and not zzzzzz").resolve(GRAPH)
    assert str(info.value) == "no asset with key 'zzzzzz'"
    assert info.value.expression == "a and not zzzzzz"


def test_external_key_is_unknown() -> None:
    with pytest.raises(SelectionError, match="no asset with key 'vendor/feed'"):
        select("vendor/feed")
