"""Config (pydantic models filled from run config) and resources (filled from ``resources=``)."""

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetKey,
    Config,
    ConfigInvalid,
    ConfigurableResource,
    Definitions,
    RunConfig,
    asset,
    build_asset_context,
    materialize,
)
from codeloc._snapshot import snapshot_of


class ScaleConfig(Config):
    factor: int
    label: str = "scaled"


class Counter(ConfigurableResource):
    start: int = 0

    def count(self, n: int) -> list[int]:
        return list(range(self.start, self.start + n))


@asset
def base():
    return 10


@asset
def scaled(context: AssetExecutionContext, config: ScaleConfig, base):
    return {"value": base * config.factor, "label": config.label, "raw": context.op_config}


@asset(key_prefix=["deep", "er"])
def prefixed(config: ScaleConfig):
    return config.factor


@asset
def counted(counter: Counter, context: AssetExecutionContext):
    return counter.count(3), context.resources.counter.start


# -- config ------------------------------------------------------------------------------------


def test_config_from_the_run_config_dict() -> None:
    result = materialize([base, scaled], run_config={"ops": {"scaled": {"config": {"factor": 3}}}})
    assert result.asset_value("scaled") == {
        "value": 30,
        "label": "scaled",
        "raw": {"factor": 3},  # context.op_config is the config as given
    }


def test_config_from_a_run_config_object() -> None:
    result = materialize([base, scaled], run_config=RunConfig({"scaled": ScaleConfig(factor=2)}))
    assert result.asset_value("scaled")["value"] == 20
    assert RunConfig({"scaled": ScaleConfig(factor=2)}).to_config_dict() == {
        "ops": {"scaled": {"config": {"factor": 2, "label": "scaled"}}},
        "resources": {},
    }


def test_config_of_a_prefixed_asset_by_node_name_or_asset_name() -> None:
    by_node = materialize(
        [prefixed], run_config={"ops": {"deep__er__prefixed": {"config": {"factor": 4}}}}
    )
    by_name = materialize([prefixed], run_config=RunConfig({"prefixed": ScaleConfig(factor=5)}))
    assert by_node.asset_value(["deep", "er", "prefixed"]) == 4
    assert by_name.asset_value(["deep", "er", "prefixed"]) == 5


def test_invalid_config_is_refused_before_any_step_runs() -> None:
    events: list[object] = []
    with pytest.raises(ConfigInvalid) as info:
        materialize(
            [base, scaled],
            run_config={"ops": {"scaled": {"config": {"factor": "many"}}}},
            on_event=events.append,
        )
    assert info.value.asset == "scaled"
    assert info.value.field == "factor"
    assert "config for asset 'scaled' is invalid: field 'factor'" in str(info.value)
    assert events == []


@pytest.mark.parametrize(
    ("config", "field"),
    [({}, "factor"), ({"factor": 1, "colour": "red"}, "colour")],
)
def test_missing_and_unknown_fields_are_invalid(config: dict, field: str) -> None:
    with pytest.raises(ConfigInvalid, match=rf"field '{field}'"):
        materialize([base, scaled], run_config={"ops": {"scaled": {"config": config}}})


def test_unknown_top_level_run_config_keys_are_invalid() -> None:
    with pytest.raises(ConfigInvalid, match=r"unknown top-level keys \['opps'\]"):
        materialize([base], run_config={"opps": {}})


def test_config_with_defaults_needs_no_run_config() -> None:
    class Optional(Config):
        limit: int = 7

    @asset
    def limited(config: Optional):
        return config.limit

    assert materialize([limited]).asset_value("limited") == 7


def test_the_asset_exposes_its_config_json_schema() -> None:
    assert scaled.config_type is ScaleConfig
    schema = scaled.config_type.model_json_schema()
    assert schema["required"] == ["factor"]
    assert schema["properties"]["factor"]["type"] == "integer"
    assert schema["properties"]["label"]["default"] == "scaled"

    nodes = {n.key: n for n in snapshot_of(Definitions(assets=[base, scaled])).assets}
    assert nodes[AssetKey("scaled")].config_schema == schema
    assert nodes[AssetKey("base")].config_schema is None


# -- resources ---------------------------------------------------------------------------------


def test_a_resource_parameter_is_filled_from_materialize_resources() -> None:
    result = materialize([counted], resources={"counter": Counter(start=5)})
    assert result.asset_value("counted") == ([5, 6, 7], 5)
    assert counted.required_resource_keys == {"counter"}


def test_resources_of_definitions() -> None:
    defs = Definitions(assets=[counted], resources={"counter": Counter(start=1)})
    result = materialize(defs.assets, resources=defs.resources)
    assert result.asset_value("counted") == ([1, 2, 3], 1)


def test_run_config_overrides_resource_fields() -> None:
    result = materialize(
        [counted],
        resources={"counter": Counter(start=1)},
        run_config={"resources": {"counter": {"config": {"start": 100}}}},
    )
    assert result.asset_value("counted") == ([100, 101, 102], 100)


def test_required_resource_keys_reach_plain_objects_through_the_context() -> None:
    @asset(required_resource_keys={"settings"})
    def uses_settings(context: AssetExecutionContext):
        return context.resources.settings["region"]

    result = materialize([uses_settings], resources={"settings": {"region": "eu"}})
    assert result.asset_value("uses_settings") == "eu"


# -- direct invocation -------------------------------------------------------------------------


def test_direct_invocation_with_config_resources_and_context() -> None:
    @asset
    def uses(config: ScaleConfig, counter: Counter):
        return counter.count(config.factor)

    assert uses(config=ScaleConfig(factor=2), counter=Counter(start=3)) == [3, 4]

    context = build_asset_context(
        resources={"counter": Counter(start=9)},
        asset_config={"factor": 1},
        run_id="unit",
        asset_key="counted",
    )
    assert context.resources.counter.start == 9
    assert context.op_config == {"factor": 1}
    assert context.run_id == "unit"
    assert context.asset_key == AssetKey("counted")
    assert counted(context=context, counter=Counter(start=2)) == ([2, 3, 4], 9)


def test_a_context_for_several_assets_has_no_single_asset_key() -> None:
    context = build_asset_context()
    assert context.selected_asset_keys == set()
    with pytest.raises(AttributeError, match="selected_asset_keys"):
        _ = context.asset_key
