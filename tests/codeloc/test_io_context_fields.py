"""The IO contexts' ``asset_spec``, ``mapping_key``, ``version``, ``log_event`` and
``add_input_metadata``.

Every case was run on Dagster 1.13 with the same IO manager; where the reference's event for
input metadata (``LOADED_INPUT``) does not exist here, the test says where it goes instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from codeloc import (
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    InputContext,
    IOManager,
    OutputContext,
    TesseraError,
    asset,
    build_input_context,
    build_output_context,
    io_manager,
    materialize,
)
from codeloc._runs import EventType

seen: dict[str, Any] = {}


class RecordingIOManager(IOManager):
    def __init__(self) -> None:
        self.values: dict[AssetKey, Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        name = context.asset_key.to_user_string()
        seen[f"spec:{name}"] = context.asset_spec
        seen[f"version:{name}"] = context.version
        seen[f"mapping_key:{name}"] = context.mapping_key
        context.log_event(AssetMaterialization(asset_key=f"{name}_copy", metadata={"n": obj}))
        seen[f"logged:{name}"] = context.get_logged_events()
        self.values[context.asset_key] = obj

    def load_input(self, context: InputContext) -> Any:
        upstream = context.upstream_output
        assert upstream is not None
        seen["upstream_spec"] = upstream.asset_spec
        context.add_input_metadata({"rows": 3})
        return self.values[context.asset_key]


@io_manager
def recording() -> RecordingIOManager:
    return RecordingIOManager()


@asset(
    code_version="v1",
    group_name="g",
    metadata={"m": 1},
    tags={"t": "x"},
    kinds={"python"},
    owners=["a@b.com"],
    description="up desc",
)
def up() -> int:
    return 1


@asset
def down(up: int) -> int:
    return up + 1


@pytest.fixture
def result() -> Any:
    seen.clear()
    return materialize([up, down], resources={"io_manager": recording})


def test_the_output_context_has_the_assets_spec(result: Any) -> None:
    spec = seen["spec:up"]
    assert isinstance(spec, AssetSpec)
    assert (spec.key, spec.group_name, spec.code_version, spec.description) == (
        AssetKey("up"),
        "g",
        "v1",
        "up desc",
    )
    assert dict(spec.metadata) == {"m": 1}
    assert dict(spec.tags) == {"t": "x", "dagster/kind/python": ""}
    assert (set(spec.kinds), list(spec.owners)) == ({"python"}, ["a@b.com"])
    assert seen["spec:down"].key == AssetKey("down")
    # and the upstream's, on the InputContext's upstream_output (it has no asset_spec itself)
    assert seen["upstream_spec"] is spec


def test_version_and_mapping_key_are_none_in_a_run(result: Any) -> None:
    # The reference's too, code_version or not: no memoization versions, no mapped outputs.
    assert [seen[f"{f}:{n}"] for f in ("version", "mapping_key") for n in ("up", "down")] == [
        None
    ] * 4


def test_log_event_in_handle_output_is_a_materialization_before_the_assets(result: Any) -> None:
    keys = [e.asset_key for e in result.get_asset_materialization_events()]
    assert keys == [AssetKey("up_copy"), AssetKey("up"), AssetKey("down_copy"), AssetKey("down")]
    copy = result.asset_materializations_for_node("up")[0]
    assert (copy.asset_key, copy.metadata["n"].value) == (AssetKey("up_copy"), 1)
    assert [e.asset_key for e in seen["logged:up"]] == ["up_copy"]  # as given


def test_input_metadata_goes_on_a_debug_engine_event_of_the_step(result: Any) -> None:
    (event,) = [e for e in result.all_events if e.type is EventType.ENGINE_EVENT]
    assert (event.level, event.step_key, event.asset_key) == ("DEBUG", "down", AssetKey("up"))
    assert event.message == "loaded input 'up' (asset 'up') with IO manager 'io_manager'"
    assert {k: v.value for k, v in event.metadata.items()} == {"rows": 3}


def test_no_event_for_an_input_without_metadata() -> None:
    class Quiet(RecordingIOManager):
        def load_input(self, context: InputContext) -> Any:
            return self.values[context.asset_key]

    result = materialize([up, down], resources={"io_manager": Quiet()})
    assert not [e for e in result.all_events if e.type is EventType.ENGINE_EVENT]


def test_built_output_contexts() -> None:
    bare = build_output_context()
    with pytest.raises(TesseraError, match=r"OutputContext\.asset_spec was not given"):
        bare.asset_spec  # noqa: B018
    assert (bare.version, bare.mapping_key) == (None, None)

    mapped = build_output_context(step_key="s", name="n", run_id="r", mapping_key="mk")
    assert mapped.get_identifier() == ["r", "s", "n", "mk"]
    assert build_output_context(step_key="s", name="n", run_id="r").get_identifier() == [
        "r",
        "s",
        "n",
    ]
    assert build_output_context(version="3").version == "3"

    spec = AssetSpec("z", group_name="g")
    given = build_output_context(asset_spec=spec)
    assert given.asset_spec is spec
    assert not given.has_asset_key  # the spec does not give the key, as in the reference

    given.log_event(AssetMaterialization(asset_key="q"))  # outside a run: only recorded
    assert [e.asset_key for e in given.get_logged_events()] == ["q"]
    with pytest.raises(TesseraError, match="takes an AssetMaterialization, not dict"):
        given.log_event({"asset_key": "q"})  # type: ignore[arg-type]


def test_built_input_context_keeps_its_metadata_until_consumed() -> None:
    context = build_input_context()
    context.add_input_metadata({"a": 1})
    context.add_input_metadata({"b": "x"})
    assert {k: v.value for k, v in context.consume_logged_metadata().items()} == {"a": 1, "b": "x"}
    assert context.consume_logged_metadata() == {}
