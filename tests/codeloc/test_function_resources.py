"""``@resource`` / ``ResourceDefinition``: resources built by a function when a run sets them up."""

from collections.abc import Iterator
from typing import Any

import pytest

from codeloc import (
    AssetExecutionContext,
    Definitions,
    Field,
    InitResourceContext,
    ResourceDefinition,
    RunFailedError,
    asset,
    materialize,
    resource,
)

events: list[str] = []


@resource(config_schema={"url": str, "pool": int})
def database(init_context: InitResourceContext) -> Iterator[dict[str, Any]]:
    events.append(f"open {init_context.resource_key}")
    try:
        yield {
            "url": init_context.resource_config["url"],
            "pool": init_context.resource_config["pool"],
        }
    finally:
        events.append("close")


@resource
def clock(init_context: InitResourceContext) -> str:
    return f"clock of {init_context.run_id}"


@asset(required_resource_keys={"db"})
def rows(context: AssetExecutionContext) -> str:
    events.append("asset")
    return context.resources.db["url"]


@asset(required_resource_keys={"db"})
def failing(context: AssetExecutionContext) -> None:
    raise ValueError("boom")


@asset(required_resource_keys={"clock"})
def timed(context: AssetExecutionContext) -> str:
    return str(context.resources.clock)


DB_CONFIG = {"resources": {"db": {"config": {"url": "pg://x", "pool": 2}}}}


@pytest.fixture(autouse=True)
def _clear() -> None:
    events.clear()


def test_a_generator_resource_is_built_from_run_config_and_closed_after() -> None:
    result = materialize([rows], resources={"db": database}, run_config=DB_CONFIG)
    assert result.asset_value("rows") == "pg://x"
    assert events == ["open db", "asset", "close"]


def test_closed_even_when_the_asset_fails() -> None:
    result = materialize(
        [failing], resources={"db": database}, run_config=DB_CONFIG, raise_on_error=False
    )
    assert not result.success
    assert events == ["open db", "close"]


def test_a_returning_resource_and_definitions() -> None:
    defs = Definitions(assets=[timed], resources={"clock": clock})
    result = materialize(defs.assets, resources=defs.resources, run_id="r7")
    assert result.asset_value("timed") == "clock of r7"


def test_configured_and_hardcoded() -> None:
    configured = database.configured({"url": "pg://c", "pool": 1})
    assert materialize([rows], resources={"db": configured}).asset_value("rows") == "pg://c"
    fixed = ResourceDefinition.hardcoded_resource({"url": "pg://h"})
    assert materialize([rows], resources={"db": fixed}).asset_value("rows") == "pg://h"


def test_config_not_fitting_the_schema_fails_the_run_before_any_asset() -> None:
    with pytest.raises(
        RunFailedError, match="resource 'db' is invalid: field 'pool': field required"
    ):
        materialize(
            [rows],
            resources={"db": database},
            run_config={"resources": {"db": {"config": {"url": "u"}}}},
        )
    with pytest.raises(RunFailedError, match="field 'pool': expected an int, got True"):
        materialize(
            [rows],
            resources={"db": database},
            run_config={"resources": {"db": {"config": {"url": "u", "pool": True}}}},
        )
    with pytest.raises(
        RunFailedError, match="resource 'db' is invalid: field 'url': field required"
    ):
        materialize([rows], resources={"db": database})
    assert "asset" not in events
    assert "open db" not in events


def test_built_in_the_step_process() -> None:
    result = materialize([timed], resources={"clock": clock}, run_id="r8", executor="multiprocess")
    assert result.asset_value("timed") == "clock of r8"


def test_a_resource_schema_takes_field_defaults_as_dagster_does() -> None:
    @resource(config_schema={"pool": Field(int, default_value=5), "dsn": str})
    def pooled(init_context: InitResourceContext) -> dict[str, Any]:
        return dict(init_context.resource_config)

    @asset(required_resource_keys={"db"})
    def settings(context: AssetExecutionContext) -> dict[str, Any]:
        return dict(context.resources.db)

    run_config = {"resources": {"db": {"config": {"dsn": "x"}}}}
    result = materialize([settings], resources={"db": pooled}, run_config=run_config)
    assert result.asset_value("settings") == {"pool": 5, "dsn": "x"}
    with pytest.raises(
        RunFailedError, match="resource 'db' is invalid: field 'dsn': field required"
    ):
        materialize([settings], resources={"db": pooled})
