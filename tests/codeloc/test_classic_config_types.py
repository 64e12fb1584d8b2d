"""Classic config's other types: ``Noneable``, ``Array``, ``Shape``, ``Permissive``,
``Selector``, ``Enum`` and the sources.

Every case was run on Dagster 1.13 with the same code; the values and refusals match (the
reference's error texts differ).
"""

from __future__ import annotations

import enum
from typing import Any

import jsonschema
import pytest

from codeloc import Any as ConfigAny
from codeloc import (
    Array,
    Bool,
    BoolSource,
    ConfigInvalid,
    DefinitionError,
    Enum,
    EnumValue,
    Field,
    Float,
    Int,
    IntSource,
    Noneable,
    Permissive,
    RunFailedError,
    Selector,
    Shape,
    String,
    StringSource,
    asset,
    graph_asset,
    materialize,
    op,
    resource,
)
from codeloc._config_schema import ConfigSchema


def run(schema: Any, config: Any = None) -> Any:
    @asset(config_schema=schema)
    def a(context: Any) -> Any:
        return context.op_config

    run_config = None if config is None else {"ops": {"a": {"config": config}}}
    return materialize([a], run_config).output_for_node("a")


def refused(schema: Any, config: Any) -> ConfigInvalid:
    with pytest.raises(ConfigInvalid) as raised:
        run(schema, config)
    assert "asset 'a'" in str(raised.value)
    return raised.value


COLOR = Enum("Color", [EnumValue("RED", python_value=1), EnumValue("BLUE")])


class Shade(enum.Enum):
    LIGHT = "l"
    DARK = 2


# -- Noneable -----------------------------------------------------------------------------------


def test_a_noneable_field_is_optional_and_reads_none() -> None:
    assert run({"x": Noneable(int)}, {}) == {"x": None}
    assert run({"x": Noneable(int)}, {"x": None}) == {"x": None}
    assert run({"x": Noneable(int)}, {"x": 3}) == {"x": 3}
    assert run({"x": Noneable({"a": int})}, {}) == {"x": None}
    assert run({"l": [Noneable(int)]}, {"l": [None, 1]}) == {"l": [None, 1]}


def test_a_noneable_value_is_still_checked() -> None:
    assert refused({"x": Noneable(int)}, {"x": "s"}).field == "x"
    assert refused({"x": int}, {"x": None}).field == "x"


def test_a_noneable_field_can_still_be_required() -> None:
    assert refused({"x": Field(Noneable(int), is_required=True)}, {}).field == "x"
    assert not Field(Noneable(int)).is_required
    assert Field(int).is_required


# -- Shape, Permissive, dicts of optional fields -------------------------------------------------


def test_a_shape_is_a_dict_of_fields() -> None:
    assert run(Shape({"a": int}), {"a": 1}) == {"a": 1}
    assert refused(Shape({"a": int}), {"a": 1, "b": 2}).field == "b"


def test_permissive_passes_other_keys_on_and_checks_its_own() -> None:
    assert run(Permissive({"a": int}), {"a": 1, "b": "z"}) == {"a": 1, "b": "z"}
    assert run(Permissive(), {"b": "z"}) == {"b": "z"}
    assert refused(Permissive({"a": int}), {"b": "z"}).field == "a"
    assert refused(Permissive({"a": int}), {"a": "1"}).field == "a"


def test_a_dict_of_optional_fields_may_be_left_out_and_gets_its_defaults() -> None:
    assert run({"o": {"x": Field(int, default_value=1)}}, {}) == {"o": {"x": 1}}
    assert run({"o": {"x": Field(int, is_required=False)}}, {}) == {"o": {}}
    assert run({"o": Permissive({"x": Field(int, default_value=1)})}, {}) == {"o": {"x": 1}}
    assert run({"o": Permissive()}, {}) == {"o": {}}
    schema = {"o": Field({"a": int, "b": Field(int, default_value=5)}, default_value={"a": 2})}
    assert run(schema, {}) == {"o": {"a": 2, "b": 5}}


# -- Selector -----------------------------------------------------------------------------------


def test_a_selector_takes_exactly_one_of_its_fields() -> None:
    choice = Selector({"a": int, "b": str})
    assert run(choice, {"a": 1}) == {"a": 1}
    assert run(choice, {"b": "x"}) == {"b": "x"}
    assert "exactly one" in str(refused(choice, {"a": 1, "b": "x"}))
    assert "exactly one" in str(refused(choice, {}))
    assert refused(choice, {"c": 1}).field == "c"
    assert refused(choice, {"a": "1"}).field == "a"
    assert refused({"s": Selector({"a": int})}, {"s": {"a": None}}).field == "s.a"


def test_a_selector_of_one_optional_field_may_be_left_out() -> None:
    assert run(Selector({"a": Field(int, default_value=4)})) == {"a": 4}
    assert run({"s": Selector({"a": Field(int, default_value=4)})}, {}) == {"s": {"a": 4}}
    assert run({"s": Selector({"a": {"k": Field(int, default_value=4)}})}, {}) == {
        "s": {"a": {"k": 4}}
    }
    # With two fields the choice must be made, defaults or not.
    two = Selector({"a": Field(int, default_value=4), "b": str})
    refused(two, {})
    assert run({"o": two}, {"o": {"b": "y"}}) == {"o": {"b": "y"}}
    assert refused({"s": Selector({"a": int})}, {}).field == "s"


# -- Enum ---------------------------------------------------------------------------------------


def test_an_enum_takes_a_config_value_and_gives_its_python_value() -> None:
    assert run({"e": COLOR}, {"e": "RED"}) == {"e": 1}
    assert run({"e": COLOR}, {"e": "BLUE"}) == {"e": "BLUE"}
    assert "GREEN" in str(refused({"e": COLOR}, {"e": "GREEN"}))
    assert refused({"e": COLOR}, {"e": 1}).field == "e"
    assert run({"e": Field(COLOR, default_value="RED")}, {}) == {"e": 1}
    assert run({"e": Noneable(COLOR)}, {"e": None}) == {"e": None}


def test_an_enum_from_a_python_enum_takes_member_names_and_gives_members() -> None:
    shades = Enum.from_python_enum(Shade)
    assert shades.name == "Shade"
    assert shades.config_values == ["LIGHT", "DARK"]
    assert run({"e": shades}, {"e": "DARK"}) == {"e": Shade.DARK}
    refused({"e": shades}, {"e": "l"})  # a value is not a name


def test_an_enum_value_is_a_string() -> None:
    with pytest.raises(TypeError, match="config_value"):
        EnumValue(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EnumValue"):
        Enum("E", ["A"])  # type: ignore[list-item]


# -- Array and the scalar names ------------------------------------------------------------------


def test_array_is_a_list_of_its_type() -> None:
    assert run({"l": Array(int)}, {"l": [1, 2]}) == {"l": [1, 2]}
    assert refused({"l": Array(int)}, {"l": [1, "2"]}).field == "l.1"


def test_the_scalar_names_are_the_python_types() -> None:
    schema = {"a": ConfigAny, "s": String, "i": Int, "f": Float, "b": Bool}
    config = {"a": [1], "s": "x", "i": 1, "f": 1, "b": True}
    assert run(schema, config) == {**config, "f": 1.0}
    assert refused({"i": Int}, {"i": True}).field == "i"
    assert refused({"x": ConfigAny}, {}).field == "x"  # Any is required, None is a value
    assert run({"x": ConfigAny}, {"x": None}) == {"x": None}


# -- sources ------------------------------------------------------------------------------------


def test_a_source_takes_a_value_or_reads_the_environment_at_run_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = {"s": StringSource, "i": IntSource, "b": BoolSource}

    @asset(config_schema=schema)
    def a(context: Any) -> Any:
        return context.op_config

    config = {"s": {"env": "T_S"}, "i": {"env": "T_I"}, "b": {"env": "T_B"}}
    # Defining the asset read nothing: the variables are set only now.
    monkeypatch.setenv("T_S", "hello")
    monkeypatch.setenv("T_I", "42")
    monkeypatch.setenv("T_B", "true")
    got = materialize([a], {"ops": {"a": {"config": config}}}).output_for_node("a")
    assert got == {"s": "hello", "i": 42, "b": True}
    assert run(schema, {"s": "lit", "i": 5, "b": False}) == {"s": "lit", "i": 5, "b": False}


@pytest.mark.parametrize(
    ("raw", "value"), [("false", False), ("0", False), ("", False), ("x", True)]
)
def test_a_bool_source_reads_the_reference_s_false_words(
    monkeypatch: pytest.MonkeyPatch, raw: str, value: bool
) -> None:
    monkeypatch.setenv("T_B", raw)
    assert run({"b": BoolSource}, {"b": {"env": "T_B"}}) == {"b": value}


def test_a_source_refuses_what_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_MISSING", raising=False)
    monkeypatch.setenv("T_SECRET", "hunter2")
    missing = refused({"s": StringSource}, {"s": {"env": "T_MISSING"}})
    assert missing.field == "s"
    assert "'T_MISSING' is not set" in str(missing)
    not_int = refused({"i": IntSource}, {"i": {"env": "T_SECRET"}})
    assert "'T_SECRET' does not hold an int" in str(not_int)
    assert "hunter2" not in str(not_int)
    assert refused({"s": StringSource}, {"s": 3}).field == "s"
    assert refused({"s": StringSource}, {"s": {"env": "T_SECRET", "x": 1}}).field == "s"


def test_a_source_default_is_read_at_run_time_too(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {"i": Field(IntSource, default_value={"env": "T_DEFAULT"})}
    monkeypatch.delenv("T_DEFAULT", raising=False)

    @asset(config_schema=schema)
    def a(context: Any) -> Any:
        return context.op_config

    monkeypatch.setenv("T_DEFAULT", "7")
    assert materialize([a]).output_for_node("a") == {"i": 7}


# -- definition ---------------------------------------------------------------------------------


def test_a_default_that_does_not_fit_is_refused_at_definition() -> None:
    with pytest.raises(DefinitionError, match=r"asset 'bad'.*field 'e'.*'GREEN'"):

        @asset(name="bad", config_schema={"e": Field(COLOR, default_value="GREEN")})
        def _bad() -> None: ...

    with pytest.raises(DefinitionError, match=r"op 'o'.*field 'x'"):

        @op(name="o", config_schema={"x": Field(Noneable(int), default_value="x")})
        def _o() -> None: ...


def test_ops_and_resources_take_the_same_types() -> None:
    @op(config_schema={"mode": Selector({"fast": bool, "slow": int})})
    def scale(context: Any) -> Any:
        return context.op_config

    @graph_asset
    def scaled() -> Any:
        return scale()

    @resource(config_schema={"who": Noneable(str), "e": COLOR})
    def res(context: Any) -> Any:
        return context.resource_config

    @asset(required_resource_keys={"res"})
    def uses(context: Any) -> Any:
        return context.resources.res

    ops = {"scaled": {"ops": {"scale": {"config": {"mode": {"slow": 2}}}}}}
    assert materialize([scaled], {"ops": ops}).output_for_node("scaled") == {"mode": {"slow": 2}}
    with pytest.raises(ConfigInvalid, match="op 'scale'"):
        materialize([scaled], {"ops": {"scaled": {"ops": {"scale": {"config": {"mode": {}}}}}}})
    config = {"resources": {"res": {"config": {"e": "RED"}}}}
    got = materialize([uses], config, resources={"res": res}).output_for_node("uses")
    assert got == {"who": None, "e": 1}
    # A resource's config is checked as the run starts its resources.
    with pytest.raises(RunFailedError, match=r"resource 'res'.*'X' is not one of enum Color"):
        materialize([uses], {"resources": {"res": {"config": {"e": "X"}}}}, resources={"res": res})


# -- the JSON Schema of the snapshot --------------------------------------------------------------


def accepts(schema: Any, value: Any) -> bool:
    json = ConfigSchema(schema, "asset 'a'").json_schema()
    return jsonschema.Draft202012Validator(json).is_valid(value)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"x": Noneable(int)}, [{}, {"x": None}, {"x": 1}], [{"x": "s"}]),
        (Permissive({"a": int}), [{"a": 1, "b": "z"}], [{"b": "z"}, {"a": "1"}]),
        (Shape({"a": int}), [{"a": 1}], [{"a": 1, "b": 2}]),
        (
            Selector({"a": int, "b": str}),
            [{"a": 1}, {"b": "x"}],
            [{}, {"a": 1, "b": "x"}, {"c": 1}],
        ),
        (Selector({"a": Field(int, default_value=4)}), [{}, {"a": 1}], [{"a": "1"}]),
        ({"e": COLOR}, [{"e": "RED"}, {"e": "BLUE"}], [{"e": "GREEN"}, {"e": 1}]),
        ({"l": Array(int)}, [{"l": [1]}], [{"l": ["1"]}]),
        ({"s": StringSource}, [{"s": "x"}, {"s": {"env": "V"}}], [{"s": 3}, {"s": {"env": 3}}]),
        (
            {"i": IntSource},
            [{"i": 1}, {"i": {"env": "V"}}],
            [{"i": "1"}, {"i": {"env": "V", "x": 1}}],
        ),
        ({"b": BoolSource}, [{"b": True}, {"b": {"env": "V"}}], [{"b": "true"}, {"b": {}}]),
        ({"o": {"x": Field(int, default_value=1)}}, [{}, {"o": {}}], [{"o": {"x": "1"}}]),
    ],
)
def test_the_json_schema_takes_what_the_run_takes(
    schema: Any, good: list[Any], bad: list[Any]
) -> None:
    for value in good:
        assert accepts(schema, value), value
    for value in bad:
        assert not accepts(schema, value), value


def test_the_json_schema_names_enum_values_and_defaults() -> None:
    json = ConfigSchema(
        {"e": Field(COLOR, default_value="RED", description="the color")}, "asset 'a'"
    ).json_schema()
    assert json["properties"]["e"] == {
        "type": "string",
        "enum": ["RED", "BLUE"],
        "description": "the color",
        "default": "RED",
    }
    assert "required" not in json
