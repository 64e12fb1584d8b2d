"""Run config is strict about scalars, as the reference's run config is.

``"true"`` and ``1`` are no ``bool``; ``"3"``, ``3.0`` and ``True`` no ``int``; ``3`` and
``True`` no ``str``; an ``int`` is a ``float``. A ``Config`` built in Python (``RunConfig``)
is taken as built, and values JSON has a form for (a nested model, a date, an enum's value,
a list for a tuple) are read from that form.
"""

import datetime
import enum
from typing import Any

import pytest

from codeloc import Config, ConfigInvalid, ConfigurableResource, RunConfig, asset, materialize


class Color(enum.Enum):
    RED = "red"


class Inner(Config):
    depth: int = 0


class Settings(Config):
    flag: bool = False
    count: int = 0
    ratio: float = 0.0
    label: str = ""
    inner: Inner = Inner()
    sizes: tuple[int, ...] = ()
    color: Color = Color.RED
    day: datetime.date = datetime.date(2024, 1, 1)


@asset
def configured(config: Settings) -> Settings:
    return config


def run_with(config: Any) -> Settings:
    result = materialize([configured], run_config={"ops": {"configured": {"config": config}}})
    value: Settings = result.output_for_node("configured")
    return value


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"flag": "true"}, "flag", "valid boolean"),
        ({"flag": 1}, "flag", "valid boolean"),
        ({"count": "3"}, "count", "valid integer"),
        ({"count": 3.0}, "count", "valid integer"),
        ({"count": True}, "count", "valid integer"),
        ({"label": 3}, "label", "valid string"),
        ({"label": True}, "label", "valid string"),
        ({"ratio": "0.5"}, "ratio", "valid number"),
        ({"inner": {"depth": "2"}}, "inner.depth", "valid integer"),
    ],
)
def test_a_scalar_of_another_type_is_refused(
    config: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigInvalid, match=message) as info:
        run_with(config)
    assert info.value.field == field
    assert f"config for asset 'configured' is invalid: field '{field}'" in str(info.value)


def test_values_of_their_own_type_and_json_forms_are_taken() -> None:
    value = run_with(
        {
            "flag": True,
            "count": 3,
            "ratio": 2,
            "label": "x",
            "inner": {"depth": 2},
            "sizes": [1, 2],
            "color": "red",
            "day": "2025-02-03",
        }
    )
    assert value == Settings(
        flag=True,
        count=3,
        ratio=2.0,
        label="x",
        inner=Inner(depth=2),
        sizes=(1, 2),
        color=Color.RED,
        day=datetime.date(2025, 2, 3),
    )


def test_python_values_without_a_json_form_are_taken_as_given() -> None:
    assert run_with({"day": datetime.date(2025, 2, 3), "color": Color.RED}).day == datetime.date(
        2025, 2, 3
    )


def test_a_config_built_in_python_is_taken_as_built() -> None:
    # Building the model is pydantic's own (lax) validation, as in the reference.
    built = Settings(flag="true")  # type: ignore[arg-type]
    result = materialize([configured], run_config=RunConfig(ops={"configured": built}))
    assert result.output_for_node("configured").flag is True


class Warehouse(ConfigurableResource):
    read_only: bool = False
    port: int = 5432
    schemas: tuple[str, ...] = ()


@asset
def uses_warehouse(warehouse: Warehouse) -> tuple[bool, int, tuple[str, ...]]:
    return warehouse.read_only, warehouse.port, warehouse.schemas


def run_with_resource(config: dict[str, Any]) -> Any:
    result = materialize(
        [uses_warehouse],
        resources={"warehouse": Warehouse()},
        run_config={"resources": {"warehouse": {"config": config}}},
    )
    return result.output_for_node("uses_warehouse")


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"read_only": "true"}, "read_only", "valid boolean"),
        ({"port": "5433"}, "port", "valid integer"),
        ({"schemas": ["a", 1]}, "schemas.1", "valid string"),
        ({"unknown": 1}, "unknown", "Extra inputs"),
    ],
)
def test_resource_run_config_is_strict_too(
    config: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigInvalid, match=message) as info:
        run_with_resource(config)
    assert info.value.field == field
    assert f"config for resource 'warehouse' is invalid: field '{field}'" in str(info.value)


def test_resource_run_config_of_its_own_types_is_taken() -> None:
    assert run_with_resource({"read_only": True, "port": 5433, "schemas": ["a"]}) == (
        True,
        5433,
        ("a",),
    )
