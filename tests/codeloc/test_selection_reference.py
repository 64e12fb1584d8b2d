"""Selection strings resolve as the reference resolves them.

Every expected set below is what Dagster 1.13 (``AssetSelection.from_string`` /
``from_coercible``) resolved for the same assets: ``a -> b -> c -> d``, ``raw/orders -> x``.
"""

from __future__ import annotations

import pytest

from codeloc import AssetSelection, Definitions, asset, define_asset_job, materialize
from codeloc._errors import SelectionError


@asset
def a() -> int:
    return 1


@asset
def b(a: int) -> int:
    return a + 1


@asset
def c(b: int) -> int:
    return b + 1


@asset
def d(c: int) -> int:
    return c + 1


@asset(key_prefix="raw", group_name="ingest")
def orders() -> int:
    return 1


@asset(deps=[orders])
def x() -> int:
    return 1


ASSETS = [a, b, c, d, orders, x]


def resolved(selection: object) -> list[str]:
    keys = AssetSelection.from_coercible(selection).resolve(ASSETS)
    return sorted(key.to_user_string() for key in keys)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A bare key: the reference's clauses, where each "+" is one level.
        ("b+", ["b", "c"]),
        ("+b", ["a", "b"]),
        ("b++", ["b", "c", "d"]),
        ("++c", ["a", "b", "c"]),
        ("*c", ["a", "b", "c"]),
        ("b*", ["b", "c", "d"]),
        ("+b+", ["a", "b", "c"]),
        ("*b*", ["a", "b", "c", "d"]),
        ("raw/orders+", ["raw/orders", "x"]),
        # Any other term: the current syntax, where "+" is every level and a number a depth.
        ("key:b+", ["b", "c", "d"]),
        ("key:b+1", ["b", "c"]),
        ("key:b+2", ["b", "c", "d"]),
        ("+key:c", ["a", "b", "c"]),
        ("1+key:c", ["b", "c"]),
        ("2+key:d", ["b", "c", "d"]),
        ("+key:c+", ["a", "b", "c", "d"]),
        ("1+key:c+1", ["b", "c", "d"]),
        ('key:"b"+', ["b", "c", "d"]),
        ("key:raw/orders+", ["raw/orders", "x"]),
        ("(key:b or key:x)+", ["b", "c", "d", "x"]),
        ("+(key:c)", ["a", "b", "c"]),
        ("key:b+ or key:x", ["b", "c", "d", "x"]),
        ("group:ingest+", ["raw/orders", "x"]),
        ("sinks(key:b+)", ["d"]),
        ("roots(+key:d)", ["a"]),
        ("key:c+ and not key:d", ["c"]),
        ("key:raw/*", ["raw/orders"]),
        ("*", ["a", "b", "c", "d", "raw/orders", "x"]),
    ],
)
def test_a_string_resolves_as_the_reference_resolves_it(text: str, expected: list[str]) -> None:
    assert resolved(text) == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["*c"], ["a", "b", "c"]),  # lineage, not a key named "*c"
        (["*c", "key:x"], ["a", "b", "c", "x"]),
        (["c", "a"], ["a", "c"]),
        (["b+"], ["b", "c"]),
        (["key:b+"], ["b", "c", "d"]),
        (["c*"], ["c", "d"]),
        (["raw/orders"], ["raw/orders"]),
    ],
)
def test_each_string_of_a_list_is_an_expression(entries: list[str], expected: list[str]) -> None:
    assert resolved(entries) == expected
    defs = Definitions(assets=ASSETS, jobs=[define_asset_job("j", selection=entries)])
    assert sorted(k.to_user_string() for k in defs.job_asset_keys("j")) == expected


def test_materialize_reads_a_list_of_strings_as_expressions() -> None:
    result = materialize(ASSETS, selection=["*c"])
    assert result.asset_value("c") == 3
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "a",
        "b",
        "c",
    }


@pytest.mark.parametrize("text", ["key:b++", "++key:c", "(key:b)++"])
def test_counted_pluses_around_another_term_are_refused(text: str) -> None:
    # The reference refuses these too: there "+" already means every level.
    with pytest.raises(SelectionError, match=r"write '(N\+|\+N)' for N levels"):
        AssetSelection.from_string(text)


@pytest.mark.parametrize(
    ("selection", "text"),
    [
        (AssetSelection.groups("ingest").downstream(), "group:ingest+"),
        (AssetSelection.groups("ingest").downstream(1), "group:ingest+1"),
        (AssetSelection.groups("ingest").upstream(), "+group:ingest"),
        (AssetSelection.groups("ingest").upstream(2), "2+group:ingest"),
        (AssetSelection.keys("b").downstream(), "b*"),
        (AssetSelection.keys("b").downstream(1), "b+"),
    ],
)
def test_str_writes_the_lineage_that_parses_back(selection: AssetSelection, text: str) -> None:
    assert str(selection) == text
    assert AssetSelection.from_string(text) == selection


def test_from_coercible_refuses_what_is_no_selection() -> None:
    with pytest.raises(TypeError, match="got int"):
        AssetSelection.from_coercible(3)
