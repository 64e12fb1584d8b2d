"""AssetSelection constructors and methods of the reference API, resolved against @asset lists."""

from __future__ import annotations

import pytest

from codeloc import (
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    Definitions,
    asset,
    define_asset_job,
    multi_asset,
)
from codeloc._errors import SelectionError
from codeloc._selection import parse_selection


@asset(key_prefix="raw", group_name="ingest", tags={"pii": ""}, deps=["vendor"])
def orders() -> int:
    return 1


@asset(key_prefix="raw", group_name="ingest", tags={"tier": "gold"})
def customers() -> int:
    return 2


@asset(key=["raw", "eu", "orders"])
def eu_orders() -> int:
    return 3


@asset(key="raw_text")
def raw_text() -> int:
    return 4


@asset(deps=[orders, customers], key_prefix="marts", tags={"tier": "gold"})
def report() -> None: ...


@multi_asset(outs={"left": AssetOut(), "right": AssetOut()}, deps=[report])
def split() -> tuple[int, int]:
    return 1, 2


@multi_asset(outs={"up": AssetOut(), "down": AssetOut()}, can_subset=True)
def subsettable() -> tuple[int, int]:
    return 1, 2


VENDOR = AssetSpec("vendor")
DEFS = [orders, customers, eu_orders, raw_text, report, split, subsettable, VENDOR]


def keys(selection: AssetSelection | str) -> set[str]:
    if isinstance(selection, str):
        selection = parse_selection(selection)
    return {key.to_user_string() for key in selection.resolve(DEFS)}


def test_assets_takes_strings_keys_and_definitions() -> None:
    selection = AssetSelection.assets(
        "raw_text", "raw/orders", AssetKey(["marts", "report"]), split
    )
    assert keys(selection) == {"raw_text", "raw/orders", "marts/report", "left", "right"}


def test_resolve_against_a_list_returns_asset_keys() -> None:
    resolved = AssetSelection.all().resolve(DEFS)
    assert AssetKey(["raw", "orders"]) in resolved
    assert AssetKey("vendor") not in resolved  # an AssetSpec is external: a parent only
    assert all(isinstance(key, AssetKey) for key in resolved)


def test_resolve_refuses_an_unknown_key() -> None:
    with pytest.raises(SelectionError, match="raw/ordrs"):
        AssetSelection.assets("raw/ordrs").resolve(DEFS)
    selection = AssetSelection.assets("raw/ordrs", "raw_text")
    assert selection.resolve(DEFS, allow_missing=True) == {AssetKey("raw_text")}


def test_key_prefixes_take_segments() -> None:
    assert keys(AssetSelection.key_prefixes("raw")) == {
        "raw/orders",
        "raw/customers",
        "raw/eu/orders",
    }
    assert keys(AssetSelection.key_prefixes(["raw", "eu"], "marts")) == {
        "raw/eu/orders",
        "marts/report",
    }
    # A prefix is whole segments: "raw_text" does not start with the segment "raw".
    assert "raw_text" not in keys(AssetSelection.key_prefixes("raw"))
    # A key equal to the prefix has it.
    assert keys(AssetSelection.key_prefixes(["raw", "eu", "orders"])) == {"raw/eu/orders"}


def test_key_prefixes_refuses_empty_segments() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        AssetSelection.key_prefixes("")


def test_sinks_and_roots_are_within_the_selection() -> None:
    # roots: no parent inside the selection (an external parent does not count).
    assert keys(AssetSelection.all().roots()) == {
        "raw/orders",
        "raw/customers",
        "raw/eu/orders",
        "raw_text",
        "up",
        "down",
    }
    assert keys(AssetSelection.all().sinks()) == {
        "raw/eu/orders",
        "raw_text",
        "left",
        "right",
        "up",
        "down",
    }
    # A sink of a selection may have children outside it.
    assert keys(AssetSelection.key_prefixes("raw").sinks()) == {
        "raw/orders",
        "raw/customers",
        "raw/eu/orders",
    }
    assert keys(AssetSelection.assets(report, split).roots()) == {"marts/report"}
    assert keys(AssetSelection.assets(report, split).sinks()) == {"left", "right"}


def test_tag_string() -> None:
    assert keys(AssetSelection.tag_string("tier=gold")) == {"raw/customers", "marts/report"}
    assert keys(AssetSelection.tag_string("pii")) == {"raw/orders"}
    assert AssetSelection.tag_string("a=b=c") == AssetSelection.tag("a", "b=c")
    with pytest.raises(ValueError, match="tag string"):
        AssetSelection.tag_string("=x")


def test_required_multi_asset_neighbors() -> None:
    selection = AssetSelection.assets("left", "up")
    assert keys(selection) == {"left", "up"}
    # split cannot subset: all of it; subsettable can: only what was selected.
    assert keys(selection.required_multi_asset_neighbors()) == {"left", "right", "up"}


@pytest.mark.parametrize(
    ("selection", "text"),
    [
        (AssetSelection.key_prefixes("raw"), "key_prefix:raw"),
        (AssetSelection.key_prefixes(["raw", "eu"]), "key_prefix:raw/eu"),
        (AssetSelection.key_prefixes("a/b"), r'key_prefix:"a\/b"'),
        (AssetSelection.all().sinks(), "sinks(*)"),
        (AssetSelection.groups("ingest").roots(), "roots(group:ingest)"),
        (AssetSelection.keys("a", "b").roots().downstream(), "roots(a or b)+"),
        (AssetSelection.tag_string("tier=gold"), "tag:tier=gold"),
        (AssetSelection.tag_string("pii"), 'tag:pii=""'),
        (
            AssetSelection.assets("left").required_multi_asset_neighbors(),
            "required_multi_asset_neighbors(left)",
        ),
        (AssetSelection.assets(split), "left or right"),
    ],
)
def test_str_round_trip(selection: AssetSelection, text: str) -> None:
    assert str(selection) == text
    assert parse_selection(text) == selection


def test_string_forms_resolve_like_the_methods() -> None:
    assert keys("sinks(key_prefix:raw)") == keys(AssetSelection.key_prefixes("raw").sinks())
    assert keys("roots(*) and not key_prefix:raw") == {"raw_text", "up", "down"}


def test_a_key_named_like_a_function_is_still_a_key() -> None:
    assert parse_selection("sinks") == AssetSelection.keys("sinks")
    assert parse_selection("roots+") == AssetSelection.keys("roots").downstream(1)


def test_a_job_of_new_selections_resolves_on_definitions() -> None:
    selection = AssetSelection.assets("left").required_multi_asset_neighbors() | (
        AssetSelection.key_prefixes("raw").roots() & AssetSelection.tag_string("tier=gold")
    )
    defs = Definitions(assets=DEFS, jobs=[define_asset_job("j", selection=selection)])
    assert defs.job_asset_keys("j") == {
        AssetKey("left"),
        AssetKey("right"),
        AssetKey(["raw", "customers"]),
    }
