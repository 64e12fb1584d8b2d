"""Definition metadata, kinds, owners, group names and tags, as the reference defines them.

Each expectation was checked against the reference (Dagster 1.13) with the same user code:
metadata reads back as given, kinds are ``dagster/kind/<kind>`` tags (at most ten), owners
are e-mail addresses or ``team:`` names, group names are ``/``-separated
``[A-Za-z0-9_]+``, tag keys and values follow the strict tag rules. Every refusal happens
when the asset is defined and names it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from codeloc import (
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    DefinitionError,
    Definitions,
    MetadataValue,
    asset,
    multi_asset,
)
from codeloc._snapshot import snapshot_of

# -- metadata -----------------------------------------------------------------------------------


def test_definition_metadata_reads_back_as_given() -> None:
    @asset(
        metadata={
            "n": 3,
            "s": "x",
            "f": 1.5,
            "b": True,
            "l": [1, 2],
            "d": {"a": 1},
            "none": None,
            "typed": MetadataValue.int(4),
            "doc": MetadataValue.md("# hi"),
        }
    )
    def orders() -> int:
        return 1

    spec = orders.specs_by_key[orders.key]
    assert spec.metadata["n"] == 3
    assert spec.metadata["l"] == [1, 2]
    assert spec.metadata["none"] is None
    assert spec.metadata["typed"] == MetadataValue.int(4)
    assert spec.metadata["doc"] == MetadataValue.md("# hi")
    assert orders.metadata_by_key == {orders.key: spec.metadata}
    assert orders.descriptions_by_key == {orders.key: None}
    assert orders.code_versions_by_key == {orders.key: None}
    assert list(spec.metadata) == ["n", "s", "f", "b", "l", "d", "none", "typed", "doc"]
    assert AssetSpec("x", metadata={"n": 3}).metadata == {"n": 3}


def test_the_snapshot_carries_metadata_typed() -> None:
    @asset(metadata={"rows": 3, "path": Path("/data/x"), "key": AssetKey(["a", "b"])})
    def typed() -> int:
        return 1

    (node,) = snapshot_of(Definitions(assets=[typed])).assets
    assert node.metadata == {
        "rows": MetadataValue.int(3),
        "path": MetadataValue.path("/data/x"),
        "key": MetadataValue.asset(["a", "b"]),
    }
    assert typed.spec.metadata["path"] == Path("/data/x")  # the code still reads the value


def test_a_value_of_no_known_type_does_not_fail_the_definition() -> None:
    # As in the reference: kept as given, shown as a placeholder (a datetime is not a
    # timestamp unless wrapped in MetadataValue.timestamp).
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    spec = AssetSpec("x", metadata={"when": when, "deep": {"o": object()}})

    assert spec.metadata["when"] is when
    (node,) = snapshot_of(Definitions(assets=[spec])).assets
    assert node.metadata["when"] == MetadataValue.text("[datetime] (unserializable)")
    assert node.metadata["deep"] == MetadataValue.text("[dict] (unserializable)")


def test_more_metadata_value_constructors() -> None:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert MetadataValue.timestamp(when).value == 1704067200.0
    assert MetadataValue.timestamp(1.5).value == 1.5
    assert MetadataValue.notebook(Path("a.ipynb")).value == "a.ipynb"
    assert MetadataValue.dagster_run("abc") == MetadataValue("run", "abc")
    assert MetadataValue.pool("p").value == "p"
    assert MetadataValue.python_artifact(asset).value == {
        "module": "codeloc._assets",
        "name": "asset",
    }
    assert MetadataValue.job("j", "loc").value == {
        "job_name": "j",
        "location_name": "loc",
        "repository_name": None,
    }
    with pytest.raises(ValueError, match="must have timezones"):
        MetadataValue.timestamp(dt.datetime(2024, 1, 1))


# -- kinds --------------------------------------------------------------------------------------


def test_kinds_are_kind_tags() -> None:
    @asset(kinds={"python", "snowflake"}, tags={"tier": "gold"})
    def orders() -> int:
        return 1

    spec = orders.spec
    assert spec.kinds == {"python", "snowflake"}
    assert spec.tags == {"tier": "gold", "dagster/kind/python": "", "dagster/kind/snowflake": ""}
    assert orders.tags_by_key[orders.key] == spec.tags
    # A kind tag written by hand is a kind too (integrations do this).
    assert AssetSpec("x", tags={"dagster/kind/dbt": ""}).kinds == {"dbt"}
    assert AssetSpec("x", kinds=["dbt", "dbt"]).kinds == {"dbt"}
    assert AssetSpec("x", kinds={"dbt cloud"}).kinds == {"dbt cloud"}  # kinds are free text


def test_at_most_ten_kinds() -> None:
    ten = {f"k{i}" for i in range(10)}
    assert len(AssetSpec("ten", kinds=ten).kinds) == 10
    with pytest.raises(
        DefinitionError, match="asset 'eleven': Assets can have at most ten kinds currently"
    ):

        @asset(kinds=ten | {"k10"})
        def eleven() -> int:
            return 1

    with pytest.raises(DefinitionError, match="at most ten kinds"):
        AssetSpec("mixed", kinds=ten, tags={"dagster/kind/extra": ""})


def test_compute_kind_and_kinds_together_are_refused() -> None:
    with pytest.raises(
        DefinitionError, match="asset 'both': Cannot specify compute_kind and kinds"
    ):

        @asset(kinds={"python"}, compute_kind="sql")
        def both() -> int:
            return 1

    @asset(compute_kind="dbt cloud")  # any text, as in the reference
    def modelled() -> int:
        return 1

    assert modelled.spec.kinds == frozenset()


def test_kinds_and_owners_of_multi_asset_outputs() -> None:
    @multi_asset(
        outs={"a": AssetOut(kinds={"python"}, owners=["team:x"]), "b": AssetOut()},
        compute_kind="sql",
    )
    def pair() -> tuple[int, int]:
        return 1, 2

    specs = pair.specs_by_key
    assert specs[AssetKey("a")].kinds == {"python"}
    assert specs[AssetKey("a")].owners == ("team:x",)
    assert specs[AssetKey("b")].kinds == frozenset()


# -- owners -------------------------------------------------------------------------------------


def test_owners_are_emails_or_teams() -> None:
    assert AssetSpec("x", owners=["team:data", "a.b@ex.com"]).owners == ("team:data", "a.b@ex.com")
    for bad in ("bob", "team:", "bob@localhost"):
        with pytest.raises(
            DefinitionError,
            match=f"asset 'orders': Invalid owner '{bad}'. Owner must be an email address or a "
            "team name prefixed with 'team:'",
        ):
            AssetSpec("orders", owners=[bad])
    with pytest.raises(DefinitionError, match="asset 'orders': owners must be a list"):
        AssetSpec("orders", owners="team:x")


def test_owners_of_a_multi_asset_output_are_checked() -> None:
    with pytest.raises(DefinitionError, match="asset 'a': Invalid owner 'nope'"):

        @multi_asset(outs={"a": AssetOut(owners=["nope"])})
        def pair() -> int:
            return 1


# -- group names --------------------------------------------------------------------------------


def test_group_names_follow_the_references_rules() -> None:
    assert AssetSpec("x", group_name="marketing/foo/bar").group_name == "marketing/foo/bar"
    assert AssetSpec("x", group_name="class").group_name == "class"
    for bad in ("my group", "bad-name", "a//b", "/a", "a/"):
        with pytest.raises(
            DefinitionError, match=f"asset 'orders': \"{bad}\" is not a valid asset group name"
        ):
            AssetSpec("orders", group_name=bad)
    with pytest.raises(DefinitionError, match="asset 'orders': Empty asset group name"):
        AssetSpec("orders", group_name="")


def test_a_group_applied_later_is_checked_too() -> None:
    @asset
    def orders() -> int:
        return 1

    with pytest.raises(DefinitionError, match="asset 'orders': \"a b\" is not a valid"):
        orders.with_attributes(group_name="a b")
    assert orders.with_attributes(group_name="sales").spec.group == "sales"


def test_group_of_a_multi_asset_output_is_checked() -> None:
    with pytest.raises(DefinitionError, match="asset 'a': \"a b\" is not a valid asset group"):

        @multi_asset(outs={"a": AssetOut(group_name="a b")})
        def pair() -> int:
            return 1


# -- tags ---------------------------------------------------------------------------------------


def test_tag_keys_follow_the_strict_rules() -> None:
    assert AssetSpec("x", tags={"a/b": "v", "k.-_9": ""}).tags == {"a/b": "v", "k.-_9": ""}
    for bad in ("my key", "k" * 64, "a/b/c", ""):
        with pytest.raises(
            DefinitionError, match=r"asset 'orders': Found invalid tag keys: \[.*\]\. Allowed"
        ):
            AssetSpec("orders", tags={bad: "v"})


def test_tag_values_follow_the_strict_rules() -> None:
    for bad in ("has space", "v" * 64):
        with pytest.raises(
            DefinitionError, match=f"asset 'orders': Invalid tag value: {bad}, for key: k"
        ):
            AssetSpec("orders", tags={"k": bad})
    with pytest.raises(
        DefinitionError, match="asset 'orders': Tag values must be strings, got type <class 'int'>"
    ):
        AssetSpec("orders", tags={"k": 3})  # type: ignore[dict-item]


def test_tags_of_a_decorated_asset_are_checked() -> None:
    with pytest.raises(DefinitionError, match="asset 'raw/orders': Invalid tag value: a b"):

        @asset(key_prefix="raw", tags={"k": "a b"})
        def orders() -> int:
            return 1


# -- selections by kind and owner ----------------------------------------------------------------


def test_select_by_kind_and_owner() -> None:
    @asset(kinds={"python", "snowflake"}, owners=["team:data"])
    def orders() -> int:
        return 1

    @asset(kinds={"python"}, owners=["bob@example.com"])
    def files() -> int:
        return 1

    @asset
    def summary() -> int:
        return 1

    everything = [orders, files, summary]

    def names(selection: AssetSelection) -> list[str]:
        return sorted(k.to_user_string() for k in selection.resolve(everything))

    assert names(AssetSelection.kind("python")) == ["files", "orders"]
    assert names(AssetSelection.owner("team:data")) == ["orders"]
    assert names(AssetSelection.from_string("kind:snowflake")) == ["orders"]
    assert names(AssetSelection.from_string('owner:"bob@example.com"')) == ["files"]
    both = AssetSelection.from_string('kind:python and not owner:"team:data"')
    assert names(both) == ["files"]
    assert str(AssetSelection.owner("team:data")) == 'owner:"team:data"'
    assert AssetSelection.from_string(str(both)) == both


# -- replacing and merging attributes ------------------------------------------------------------


def test_replace_attributes_keeps_kinds_unless_given() -> None:
    spec = AssetSpec("x", kinds={"a"}, tags={"t": "1"}, owners=["team:a"], metadata={"m": 1})

    assert spec.replace_attributes(tags={"u": "2"}).tags == {"u": "2", "dagster/kind/a": ""}
    assert spec.replace_attributes(kinds={"b"}).tags == {"t": "1", "dagster/kind/b": ""}
    assert spec.replace_attributes(metadata={"n": 2}).metadata == {"n": 2}
    assert spec.replace_attributes(group_name="sales").owners == ("team:a",)
    with pytest.raises(DefinitionError, match="asset 'x': \"a b\" is not a valid asset group"):
        spec.replace_attributes(group_name="a b")


def test_merge_attributes_adds_to_what_is_there() -> None:
    spec = AssetSpec("x", kinds={"a"}, tags={"t": "1"}, owners=["team:a"], metadata={"m": 1})

    merged = spec.merge_attributes(
        owners=["team:a", "team:b"], tags={"t": "9"}, kinds={"c"}, metadata={"n": 2}, deps=["up"]
    )
    assert merged.owners == ("team:a", "team:b")
    assert merged.tags == {"t": "9", "dagster/kind/a": "", "dagster/kind/c": ""}
    assert merged.metadata == {"m": 1, "n": 2}
    assert merged.deps == (AssetKey("up"),)
    with pytest.raises(DefinitionError, match="asset 'x': Invalid owner 'nobody'"):
        spec.merge_attributes(owners=["nobody"])


def test_a_compute_kind_survives_replacing_attributes() -> None:
    @asset(compute_kind="dbt cloud", tags={"t": "1"})
    def modelled() -> int:
        return 1

    replaced = modelled.spec.replace_attributes(tags={"u": "2"}, kinds={"dbt"})
    assert replaced.tags == {"compute_kind": "dbt cloud", "u": "2", "dagster/kind/dbt": ""}


def test_a_defined_asset_reads_back_in_the_default_group_as_in_the_reference() -> None:
    @asset
    def ungrouped() -> int:
        return 1

    @asset(group_name="sales")
    def grouped() -> int:
        return 1

    external = AssetSpec("outside")
    assert ungrouped.specs_by_key[AssetKey("ungrouped")].group_name == "default"
    assert grouped.specs_by_key[AssetKey("grouped")].group_name == "sales"
    # A bare spec keeps no group until it is part of a Definitions, as in the reference.
    assert external.group_name is None
    specs = Definitions(assets=[ungrouped, grouped, external]).resolve_all_asset_specs()
    assert [s.group_name for s in specs] == ["default", "sales", "default"]
