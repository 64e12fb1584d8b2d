"""Classic config on ops: ``@op(config_schema=...)`` takes what ``@asset(config_schema=)`` takes
(``Field`` defaults, optional fields, the same strictness), inside graph assets, config
mappings and direct invocation.

Every case was run on Dagster 1.13 with the same code; the values and refusals match.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from codeloc import (
    ConfigInvalid,
    ConfigMapping,
    DefinitionError,
    Definitions,
    Field,
    build_op_context,
    graph,
    graph_asset,
    materialize,
    op,
)
from codeloc._snapshot import snapshot_of


@op(
    config_schema={
        "k": Field(int, default_value=3),
        "name": Field(str, is_required=False),
        "ratio": Field(float, default_value=0.5),
    }
)
def scale(context: Any) -> dict[str, Any]:
    return dict(context.op_config)


@graph
def inner() -> Any:
    return scale()


@graph_asset
def nested() -> Any:
    return inner()


def nested_config(config: Any) -> dict[str, Any]:
    return {"ops": {"nested": {"ops": {"inner": {"ops": {"scale": {"config": config}}}}}}}


def test_field_defaults_fill_the_op_config_of_an_op_inside_a_graph_asset() -> None:
    # no run config at all: the defaults, and the optional field absent
    assert materialize([nested]).asset_value("nested") == {"k": 3, "ratio": 0.5}
    given = materialize([nested], run_config=nested_config({"ratio": 2, "name": "n"}))
    value = given.asset_value("nested")
    assert value == {"k": 3, "ratio": 2.0, "name": "n"}
    assert isinstance(value["ratio"], float)  # an int is taken for a float, as a float


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"k": "1"}, "k", "expected an int, got '1'"),
        ({"k": True}, "k", "expected an int, got True"),
        ({"k": 1.5}, "k", "expected an int, got 1.5"),
        ({"kk": 1}, "kk", "not a field of the schema"),
    ],
)
def test_a_bad_value_is_refused_before_the_run_naming_asset_op_and_field(
    config: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        materialize([nested], run_config=nested_config(config))
    assert str(raised.value) == (
        f"config for asset 'nested', op 'inner.scale' is invalid: field '{field}': {message}"
        + (" (['k', 'name', 'ratio'])" if message == "not a field of the schema" else "")
    )
    assert (raised.value.asset, raised.value.field) == ("nested", field)


def test_a_required_field_without_a_default_is_required() -> None:
    @op(config_schema={"n": int, "k": Field(int, default_value=1)})
    def needs(context: Any) -> int:
        return int(context.op_config["n"] * context.op_config["k"])

    @graph_asset
    def needy() -> Any:
        return needs()

    with pytest.raises(ConfigInvalid, match="op 'needs' is invalid: field 'n': field required"):
        materialize([needy])
    config = {"ops": {"needy": {"ops": {"needs": {"config": {"n": 4}}}}}}
    assert materialize([needy], run_config=config).asset_value("needy") == 4


def test_a_config_mapping_schema_takes_field_defaults_too() -> None:
    mapping = ConfigMapping(
        config_fn=lambda c: {"scale": {"config": {"k": c["factor"]}}},
        config_schema={"factor": Field(int, default_value=7)},
    )

    @graph_asset(config=mapping)
    def mapped() -> Any:
        return scale()

    assert materialize([mapped]).asset_value("mapped") == {"k": 7, "ratio": 0.5}


def test_direct_invocation_fills_the_defaults() -> None:
    assert scale(build_op_context()) == {"k": 3, "ratio": 0.5}
    assert scale(build_op_context(op_config={"k": 1, "name": "n"})) == {
        "k": 1,
        "name": "n",
        "ratio": 0.5,
    }
    context = build_op_context(op_config={"k": 1})
    scale(context=context)
    assert context.op_config == {"k": 1}  # the context handed in is left as it was
    with pytest.raises(ConfigInvalid, match="op 'scale' is invalid: field 'k': expected an int"):
        scale(build_op_context(op_config={"k": "1"}))


def test_an_op_schema_is_checked_when_the_op_is_defined() -> None:
    with pytest.raises(DefinitionError, match="default_value cannot also be is_required"):
        Field(int, default_value=1, is_required=True)
    with pytest.raises(DefinitionError, match=r"op 'odd': config_schema at 'n' has <class 'set'>"):

        @op(config_schema={"n": set})
        def odd() -> None: ...


def test_the_snapshot_schema_of_an_op_asset_has_the_defaults() -> None:
    from codeloc import AssetsDefinition

    (node,) = snapshot_of(Definitions(assets=[AssetsDefinition.from_op(scale)])).assets
    assert node.config_schema == {
        "type": "object",
        "properties": {
            "k": {"type": "integer", "default": 3},
            "name": {"type": "string"},
            "ratio": {"type": "number", "default": 0.5},
        },
        "additionalProperties": False,
    }
    validator = jsonschema.Draft202012Validator(dict(node.config_schema))
    assert [validator.is_valid(c) for c in ({}, {"ratio": 1}, {"k": "1"}, {"kk": 1})] == [
        True,
        True,
        False,
        False,
    ]


def test_the_snapshot_describes_the_config_of_a_graph_assets_ops_under_ops() -> None:
    (node,) = snapshot_of(Definitions(assets=[nested])).assets
    assert node.config_schema is None  # an unmapped graph asset takes no "config" of its own
    assert node.ops_config_schema is not None
    validator = jsonschema.Draft202012Validator(dict(node.ops_config_schema))

    def errors(ops: Any) -> list[list[Any]]:
        return [list(e.absolute_path) for e in validator.iter_errors(ops)]

    assert errors({}) == []  # every field has a default or is optional
    assert errors({"inner": {"ops": {"scale": {"config": {"ratio": 2, "name": "n"}}}}}) == []
    assert errors({"inner": {"ops": {"scale": {"config": {"k": "1"}}}}}) == [
        ["inner", "ops", "scale", "config", "k"]
    ]
    assert errors({"outer": {}}) == [[]]  # no call of that name


def test_an_op_with_a_scalar_schema_needs_its_config_at_the_server_as_at_the_location() -> None:
    @op(config_schema=int)
    def times(context: Any) -> int:
        return 2 * int(context.op_config)

    @graph_asset
    def doubled() -> Any:
        return times()

    config = {"ops": {"doubled": {"ops": {"times": {"config": 4}}}}}
    assert materialize([doubled], run_config=config).asset_value("doubled") == 8
    with pytest.raises(ConfigInvalid, match="op 'times' is invalid: field '<root>': expected an"):
        materialize([doubled])
    (node,) = snapshot_of(Definitions(assets=[doubled])).assets
    assert node.ops_config_schema is not None
    validator = jsonschema.Draft202012Validator(dict(node.ops_config_schema))
    assert not validator.is_valid({})
    assert validator.is_valid(config["ops"]["doubled"]["ops"])
