"""Classic config: ``@asset(config_schema=...)`` read with ``context.op_config``.

Every case was run on Dagster 1.13 with the same code; the values and refusals match.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from codeloc import (
    AssetExecutionContext,
    Config,
    ConfigInvalid,
    DefinitionError,
    Definitions,
    Field,
    asset,
    build_asset_context,
    define_asset_job,
    materialize,
)
from codeloc._snapshot import snapshot_of

SCHEMA = {
    "n": int,
    "name": Field(str, default_value="x", description="who"),
    "ratio": float,
    "flags": [str],
    "opt": Field(int, is_required=False),
    "nested": {"a": int},
}


@asset(config_schema=SCHEMA)
def configured(context: AssetExecutionContext) -> dict[str, Any]:
    return dict(context.op_config)


GOOD = {"n": 1, "ratio": 1.5, "flags": ["a"], "nested": {"a": 1}}


def run(config: Any, *assets: Any) -> Any:
    targets = assets or (configured,)
    name = targets[0].node_name
    result = materialize(targets, {"ops": {name: {"config": config}}})
    return result.output_for_node(name)


def test_op_config_holds_the_run_config_with_defaults() -> None:
    assert run(GOOD) == {**GOOD, "name": "x"}  # "opt" is optional and absent
    assert run({**GOOD, "opt": 3, "name": "y"})["opt"] == 3


def test_an_int_is_taken_for_a_float() -> None:
    value = run({**GOOD, "ratio": 2})["ratio"]
    assert value == 2.0
    assert isinstance(value, float)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"n": True}, "n", "expected an int, got True"),
        ({"n": "1"}, "n", "expected an int, got '1'"),
        ({"extra": 1}, "extra", "not a field of the schema"),
        ({"nested": {"a": "x"}}, "nested.a", "expected an int"),
        ({"flags": "a"}, "flags", "expected a list"),
    ],
)
def test_invalid_config_is_refused_before_the_asset_runs(
    change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigInvalid, match=f"asset 'configured'.*'{field}': {message}") as caught:
        run({**GOOD, **change})
    assert caught.value.field == field


def test_a_missing_required_field_is_refused() -> None:
    with pytest.raises(ConfigInvalid, match="field 'n': field required"):
        run({k: v for k, v in GOOD.items() if k != "n"})


@pytest.mark.parametrize("value", ["true", 1])
def test_a_bool_is_strict(value: object) -> None:
    @asset(config_schema={"b": bool})
    def flag(context: AssetExecutionContext) -> bool:
        return bool(context.op_config["b"])

    with pytest.raises(ConfigInvalid, match="expected a bool"):
        run({"b": value}, flag)
    assert run({"b": True}, flag) is True


def test_a_scalar_schema_gives_the_value_itself() -> None:
    @asset(config_schema=int)
    def number(context: AssetExecutionContext) -> int:
        value: int = context.op_config
        return value

    assert run(5, number) == 5


def test_defaults_alone_need_no_run_config() -> None:
    @asset(config_schema={"n": Field(int, default_value=2)})
    def defaulted(context: AssetExecutionContext) -> dict[str, Any]:
        return dict(context.op_config)

    assert materialize([defaulted]).output_for_node("defaulted") == {"n": 2}


def test_a_schema_of_something_else_is_refused_at_definition() -> None:
    with pytest.raises(
        DefinitionError, match=r"asset 'bad': config_schema at 'n' has <class 'object'>"
    ):

        @asset(config_schema={"n": object})
        def bad() -> None: ...


class Settings(Config):
    n: int = 1


def test_config_schema_and_a_config_parameter_are_not_both_taken() -> None:
    with pytest.raises(DefinitionError, match="either config_schema= or a Config parameter"):

        @asset(config_schema={"n": int})
        def both(config: Settings) -> None: ...


def test_a_field_with_a_default_cannot_be_required() -> None:
    with pytest.raises(DefinitionError, match="default_value cannot also be is_required"):
        Field(int, default_value=1, is_required=True)


def test_the_snapshot_schema_refuses_what_the_run_refuses() -> None:
    (node,) = snapshot_of(Definitions(assets=[configured])).assets
    assert node.config_schema is not None
    validator = jsonschema.Draft202012Validator(dict(node.config_schema))

    assert node.config_schema["properties"]["name"] == {
        "type": "string",
        "description": "who",
        "default": "x",
    }
    assert sorted(node.config_schema["required"]) == ["flags", "n", "nested", "ratio"]
    assert validator.is_valid(GOOD)
    for change in ({"n": True}, {"n": "1"}, {"extra": 1}, {"nested": {"a": "x"}}, {"flags": "a"}):
        assert not validator.is_valid({**GOOD, **change}), change


def test_a_job_config_is_validated_by_validate_loadable() -> None:
    job = define_asset_job(
        "j", selection="configured", config={"ops": {"configured": {"config": {}}}}
    )

    with pytest.raises(DefinitionError, match=r"job 'j'.*field 'n'"):
        Definitions.validate_loadable(Definitions(assets=[configured], jobs=[job]))


def test_direct_invocation_checks_the_config_and_fills_defaults() -> None:
    context = build_asset_context(asset_config=GOOD)

    assert configured(context) == {**GOOD, "name": "x"}
    assert context.op_config == GOOD  # the context handed in is left as it was
    with pytest.raises(ConfigInvalid, match="field 'n': field required"):
        configured(build_asset_context())
    with pytest.raises(ConfigInvalid, match="field 'n': expected an int"):
        configured(context=build_asset_context(asset_config={**GOOD, "n": "x"}))
