"""``AssetKey`` is a value, as in the reference: not a sequence of its segments.

Written from what the reference's keys do: ``path`` is a list (changing it leaves the key
alone), ``parts`` a tuple; iterating, indexing or taking ``len()`` of a key is refused; a
key equals another key of the same segments, and no tuple or list of its segments; keys
hash, sort and pickle by their segments.
"""

import copy
import json
import pickle
import re
import types
from typing import Any

import pytest

from codeloc import (
    AssetKey,
    DefinitionError,
    Definitions,
    Output,
    asset,
    load_assets_from_modules,
    materialize,
)


def test_the_segments_read_back_as_a_list_and_as_a_tuple() -> None:
    key = AssetKey(["one", "two"])
    assert key.path == ["one", "two"]
    assert isinstance(key.path, list)
    assert key.parts == ("one", "two")
    key.path.append("three")  # a copy: the key does not change
    assert key.path == ["one", "two"]
    assert AssetKey("one").path == ["one"]


@pytest.mark.parametrize(
    "use",
    [
        lambda k: list(k),
        lambda k: k[0],
        lambda k: k[-1:],
        lambda k: len(k),
        lambda k: "one" in k,
        lambda k: [*k],
        lambda k: k + k,
    ],
)
def test_a_key_is_not_a_sequence(use: Any) -> None:
    with pytest.raises(TypeError, match="AssetKey"):
        use(AssetKey(["one", "two"]))


def test_unpacking_a_key_is_refused() -> None:
    with pytest.raises(TypeError, match="not iterable"):
        _first, _second = AssetKey(["one", "two"])  # type: ignore[misc]


def test_a_key_is_truthy() -> None:
    assert AssetKey("x")


def test_a_key_equals_keys_of_the_same_segments_only() -> None:
    key = AssetKey(["one", "two"])
    assert key == AssetKey(("one", "two"))
    assert AssetKey("a") == AssetKey(["a"])
    assert key != AssetKey(["one"])
    for other in [("one", "two"), ["one", "two"], "one/two", ("one",)]:
        assert key != other
        assert other != key
    assert hash(key) == hash(AssetKey(["one", "two"]))
    assert {key: 1}[AssetKey(["one", "two"])] == 1
    assert AssetKey(["one", "two"]) in {key}


def test_keys_sort_by_their_segments() -> None:
    keys = [AssetKey(["b"]), AssetKey(["a", "z"]), AssetKey(["a"])]
    assert sorted(keys) == [AssetKey(["a"]), AssetKey(["a", "z"]), AssetKey(["b"])]
    assert AssetKey("a") < AssetKey("b")
    assert not AssetKey("a") < AssetKey("a")


def test_a_key_survives_pickle_and_copy() -> None:
    key = AssetKey(["one", "two"])
    for again in (pickle.loads(pickle.dumps(key)), copy.copy(key), copy.deepcopy(key)):
        assert again == key
        assert hash(again) == hash(key)
        assert again.path == ["one", "two"]


def test_text_forms() -> None:
    key = AssetKey(["one", "two-b", "c.d"])
    assert repr(key) == str(key) == "AssetKey(['one', 'two-b', 'c.d'])"
    assert key.to_user_string() == "one/two-b/c.d"
    assert json.loads(key.to_string()) == ["one", "two-b", "c.d"]
    assert key.to_python_identifier() == "one__two_b__c_d"
    assert key.to_python_identifier("out") == "one__two_b__c_d__out"
    assert AssetKey.from_user_string("one/two") == AssetKey(["one", "two"])


def test_prefixes() -> None:
    key = AssetKey(["a", "b"])
    assert key.with_prefix("p") == AssetKey(["p", "a", "b"])
    assert key.with_prefix(["p", "q"]) == AssetKey(["p", "q", "a", "b"])
    assert key.with_prefix(("p",)) == AssetKey(["p", "a", "b"])
    assert key.has_prefix(["a"])
    assert key.has_prefix(["a", "b"])
    assert not key.has_prefix(["b"])
    assert not key.has_prefix(["a", "b", "c"])


def test_from_coercible() -> None:
    key = AssetKey(["a", "b"])
    assert AssetKey.from_coercible(key) is key
    assert AssetKey.from_coercible(["a", "b"]) == key
    assert AssetKey.from_coercible(("a", "b")) == key
    assert AssetKey.from_coercible("a") == AssetKey(["a"])
    assert AssetKey.from_coercible("a/b") == key  # a Tessera difference: see docs/sdk.md
    with pytest.raises(TypeError, match="got 3"):
        AssetKey.from_coercible(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[], "", ["a", ""], [1], ["a", None]])
def test_a_key_needs_non_empty_string_segments(bad: Any) -> None:
    with pytest.raises(ValueError, match="segment"):
        AssetKey(bad)


def test_a_key_is_not_made_from_a_key() -> None:
    with pytest.raises(TypeError, match="string or a list of strings"):
        AssetKey(AssetKey("a"))  # type: ignore[arg-type]


# -- a key where a tuple or a list used to be looked into ---------------------------------------


def test_a_key_at_module_level_is_no_list_of_assets() -> None:
    @asset
    def orders() -> int:
        return 1

    module = types.ModuleType("with_a_key")
    module.__dict__.update(orders=orders, UPSTREAM=AssetKey(["lake", "raw"]))
    assert load_assets_from_modules([module]) == [orders]


def test_definitions_refuse_a_key_given_as_an_asset() -> None:
    with pytest.raises(DefinitionError, match=re.escape("got AssetKey(['lake', 'raw'])")):
        Definitions(assets=[AssetKey(["lake", "raw"])])


def test_a_key_as_metadata_is_an_asset_reference() -> None:
    @asset
    def orders() -> Output:
        return Output(1, metadata={"source": AssetKey(["lake", "raw"])})

    [materialization] = materialize([orders]).asset_materializations_for_node("orders")
    value = materialization.metadata["source"]
    assert (value.kind, value.value) == ("asset", "lake/raw")
