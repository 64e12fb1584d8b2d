"""``ConfigurableResource.configure_at_launch()``: the resource's config comes from each run.

As in the reference (run with Dagster 1.13 on the same code): the run config gives it as
``{"resources": {key: {"config": {...}}}}``, and a run that leaves a required field out fails
before any asset runs.
"""

from __future__ import annotations

import pytest

from codeloc import (
    ConfigInvalid,
    ConfigurableResource,
    Definitions,
    InitResourceContext,
    asset,
    materialize,
)

RAN: list[str] = []


class Warehouse(ConfigurableResource):
    url: str
    pool: int = 1

    def setup_for_execution(self, context: InitResourceContext) -> None:
        RAN.append(f"setup {self.url}")


@asset
def first() -> int:
    RAN.append("first")
    return 1


@asset
def table(first: int, warehouse: Warehouse) -> str:
    RAN.append("table")
    return f"{warehouse.url}:{warehouse.pool}:{first}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def launch(defs: Definitions, run_config: dict[str, object] | None = None) -> str:
    job = defs.get_implicit_global_asset_job_def()
    value: str = job.execute_in_process(run_config=run_config).output_for_node("table")
    return value


def test_the_config_comes_from_the_run_config() -> None:
    defs = Definitions(
        assets=[first, table], resources={"warehouse": Warehouse.configure_at_launch()}
    )

    value = launch(defs, {"resources": {"warehouse": {"config": {"url": "pg://a", "pool": 4}}}})

    assert value == "pg://a:4:1"
    assert RAN == ["setup pg://a", "first", "table"]  # the built resource is set up


def test_a_missing_field_fails_the_run_before_any_asset() -> None:
    defs = Definitions(
        assets=[first, table], resources={"warehouse": Warehouse.configure_at_launch()}
    )

    with pytest.raises(ConfigInvalid, match=r"resource 'warehouse'.*field 'url'") as caught:
        launch(defs)

    assert caught.value.field == "resources.warehouse.config.url"
    assert RAN == []


def test_an_invalid_value_fails_the_run_before_any_asset() -> None:
    defs = Definitions(
        assets=[first, table], resources={"warehouse": Warehouse.configure_at_launch()}
    )

    with pytest.raises(ConfigInvalid, match="field 'pool'"):
        launch(defs, {"resources": {"warehouse": {"config": {"url": "u", "pool": "many"}}}})
    assert RAN == []


def test_fields_given_now_are_defaults_the_run_config_may_override() -> None:
    resources = {"warehouse": Warehouse.configure_at_launch(url="pg://default")}
    defs = Definitions(assets=[first, table], resources=resources)

    assert launch(defs) == "pg://default:1:1"
    assert launch(defs, {"resources": {"warehouse": {"config": {"url": "pg://b"}}}}) == "pg://b:1:1"


def test_a_run_that_does_not_use_it_needs_no_config() -> None:
    defs = Definitions(
        assets=[first, table], resources={"warehouse": Warehouse.configure_at_launch()}
    )

    result = materialize([first, table], selection=["first"], resources=defs.resources)

    assert result.success
    assert RAN == ["first"]


def test_materialize_takes_it_too() -> None:
    result = materialize(
        [first, table],
        {"resources": {"warehouse": {"config": {"url": "m"}}}},
        resources={"warehouse": Warehouse.configure_at_launch()},
    )

    assert result.asset_value("table") == "m:1:1"
