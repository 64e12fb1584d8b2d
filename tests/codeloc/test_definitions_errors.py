"""Bad definitions fail when they are built, with a message that names the asset and the cause."""

from pathlib import Path

import pytest

from codeloc import (
    AssetIn,
    AssetKey,
    AssetSpec,
    ConfigurableResource,
    CycleError,
    DefinitionError,
    Definitions,
    DuplicateKeyError,
    ScheduleDefinition,
    SelectionError,
    UnknownResourceError,
    asset,
    define_asset_job,
    materialize,
    sensor,
)
from codeloc.engine import FilesystemIOManager
from codeloc.engine._io import OutputContext

RAN: list[str] = []


@pytest.fixture(autouse=True)
def _nothing_ran_yet() -> None:
    RAN.clear()


class Warehouse(ConfigurableResource):
    dsn: str = "memory"


# -- cycles ------------------------------------------------------------------------------------


def cycle_in(message: str) -> list[str]:
    """The keys of the closed path ``k1 -> k2 -> … -> k1`` in ``message``, sorted."""
    assert "cycle: " in message, message
    path = message.split("cycle: ", 1)[1].strip().split(" -> ")
    assert path[0] == path[-1], message  # the path closes on itself
    assert len(set(path[:-1])) == len(path) - 1, message
    return sorted(path[:-1])


def test_a_cycle_names_the_keys_on_it() -> None:
    @asset
    def a(c):
        RAN.append("a")

    @asset
    def b(a):
        RAN.append("b")

    @asset
    def c(b):
        RAN.append("c")

    @asset
    def outside(a):
        RAN.append("outside")

    with pytest.raises(CycleError) as info:
        Definitions(assets=[a, b, c, outside])
    assert cycle_in(str(info.value)) == ["a", "b", "c"]
    with pytest.raises(CycleError) as info:
        materialize([a, b, c, outside])
    assert cycle_in(str(info.value)) == ["a", "b", "c"]
    assert RAN == []


def test_a_cycle_through_deps_and_prefixed_keys() -> None:
    @asset(key_prefix="s", deps=[AssetKey(["s", "y"])])
    def x():
        return 1

    @asset(key_prefix="s", ins={"x": AssetIn(key_prefix="s")})
    def y(x):
        return 2

    with pytest.raises(CycleError) as info:
        Definitions(assets=[x, y])
    assert cycle_in(str(info.value)) == ["s/x", "s/y"]


# -- duplicate keys ----------------------------------------------------------------------------


def test_a_duplicate_key_names_the_key_and_both_definitions() -> None:
    @asset(name="orders")
    def orders_from_api():
        return 1

    @asset(name="orders")
    def orders_from_files():
        return 2

    with pytest.raises(DuplicateKeyError) as info:
        Definitions(assets=[orders_from_api, orders_from_files])
    message = str(info.value)
    assert "'orders' is defined twice" in message
    assert "orders_from_api" in message
    assert "orders_from_files" in message


def test_a_key_both_defined_and_declared_is_a_duplicate() -> None:
    @asset
    def orders():
        return 1

    with pytest.raises(DuplicateKeyError, match=r"'orders' is declared by an AssetSpec"):
        Definitions(assets=[orders, AssetSpec("orders")])


# -- resources ---------------------------------------------------------------------------------


def test_an_unknown_resource_parameter() -> None:
    @asset
    def loads(warehouse: Warehouse):
        RAN.append("loads")

    with pytest.raises(UnknownResourceError) as info:
        Definitions(assets=[loads], resources={"other": Warehouse()})
    message = str(info.value)
    assert "asset 'loads' requires resource 'warehouse'" in message
    assert "['other']" in message
    assert Definitions(assets=[loads], resources={"warehouse": Warehouse()}).resources


def test_an_unknown_resource_through_required_keys_and_io_manager_keys() -> None:
    @asset(required_resource_keys={"slack"})
    def notifies(context):
        return context.resources.slack

    @asset(io_manager_key="lake")
    def stored():
        return 1

    with pytest.raises(UnknownResourceError, match=r"asset 'notifies' requires resource 'slack'"):
        Definitions(assets=[notifies])
    with pytest.raises(
        UnknownResourceError, match=r"asset 'stored' stores output 'result' with IO manager 'lake'"
    ):
        Definitions(assets=[stored])


def test_materialize_refuses_a_missing_resource_before_any_step() -> None:
    @asset
    def first():
        RAN.append("first")

    @asset
    def loads(first, warehouse: Warehouse):
        RAN.append("loads")

    events: list[object] = []
    with pytest.raises(UnknownResourceError, match=r"'loads' requires resource \['warehouse'\]"):
        materialize([first, loads], on_event=events.append)
    assert RAN == []
    assert events == []


# -- parameters that match no asset ------------------------------------------------------------


def test_ins_naming_no_parameter_fails_at_decoration() -> None:
    with pytest.raises(DefinitionError) as info:

        @asset(ins={"upstrem": AssetIn(key="upstream")})
        def typo(upstream):
            return upstream

    message = str(info.value)
    assert "asset 'typo'" in message
    assert "['upstrem']" in message
    assert "['upstream']" in message


def test_materialize_refuses_a_parameter_that_matches_no_asset() -> None:
    @asset
    def present():
        RAN.append("present")
        return 1

    @asset
    def needs(present, absent):
        RAN.append("needs")

    events: list[object] = []
    with pytest.raises(DefinitionError) as info:
        materialize([present, needs], on_event=events.append)
    message = str(info.value)
    assert "asset 'needs': parameter 'absent' matches no asset" in message
    assert RAN == []
    assert events == []


def test_in_definitions_such_a_parameter_is_an_external_asset() -> None:
    @asset
    def needs(elsewhere):
        return elsewhere

    defs = Definitions(assets=[needs])
    assert defs.graph.external_keys == {AssetKey("elsewhere")}
    assert list(defs.graph.parents(AssetKey("needs"))) == [AssetKey("elsewhere")]
    assert list(defs.graph.children(AssetKey("elsewhere"))) == [AssetKey("needs")]


def test_a_declared_spec_lets_materialize_load_the_value_from_storage(storage: Path) -> None:
    FilesystemIOManager().handle_output(OutputContext(AssetKey("elsewhere"), "earlier", "x"), 41)

    @asset
    def needs(elsewhere):
        return elsewhere + 1

    result = materialize([AssetSpec("elsewhere"), needs])
    assert result.asset_value("needs") == 42


def test_a_declared_spec_cannot_be_materialized_here() -> None:
    with pytest.raises(SelectionError, match=r"no asset with key 'elsewhere'"):
        materialize([AssetSpec("elsewhere")], selection=["elsewhere"])


# -- other definition-time checks --------------------------------------------------------------


def test_a_config_parameter_needs_a_config_annotation() -> None:
    with pytest.raises(DefinitionError, match=r"asset 'cfg': parameter 'config' needs a type"):

        @asset
        def cfg(config: dict):
            return config


def test_a_job_selecting_an_unknown_asset_fails_at_definition_time() -> None:
    @asset
    def real():
        return 1

    with pytest.raises(DefinitionError, match=r"job 'bad_job': .*'not_there'"):
        Definitions(assets=[real], jobs=[define_asset_job("bad_job", selection="not_there")])
    with pytest.raises(DefinitionError, match=r"two jobs are named 'j'"):
        Definitions(assets=[real], jobs=[define_asset_job("j"), define_asset_job("j")])


def test_definitions_take_jobs_schedules_and_sensors() -> None:
    @asset(group_name="daily")
    def report():
        return 1

    @asset
    def other():
        return 2

    daily = define_asset_job("daily_job", selection="group:daily")
    hourly = define_asset_job("hourly_job", selection=[other])

    @sensor(job=hourly, minimum_interval_seconds=60)
    def new_files(context):
        """Request a run when files arrive."""
        return None

    defs = Definitions(
        assets=[report, other],
        schedules=[ScheduleDefinition(job=daily, cron_schedule="0 6 * * *")],
        sensors=[new_files],
    )
    # the jobs of schedules and sensors join the location's jobs
    assert [j.name for j in defs.jobs] == ["daily_job", "hourly_job"]
    assert defs.job_asset_keys("daily_job") == {AssetKey("report")}
    assert defs.job_asset_keys("hourly_job") == {AssetKey("other")}
    assert defs.schedules[0].schedule_name == "daily_job_schedule"
    assert defs.sensors[0].description == "Request a run when files arrive."
    with pytest.raises(DefinitionError, match=r"no job named 'nope'"):
        defs.get_job("nope")
    with pytest.raises(DefinitionError, match=r"no asset 'nope'"):
        defs.get_assets_def("nope")


def test_definitions_refuse_what_is_not_an_asset() -> None:
    with pytest.raises(DefinitionError, match=r"takes asset definitions and AssetSpecs, got 42"):
        Definitions(assets=[42])


def test_definitions_accept_nested_lists() -> None:
    @asset
    def one():
        return 1

    @asset
    def two():
        return 2

    defs = Definitions(assets=[[one], (two,), [AssetSpec("three")]])
    assert defs.asset_count == 2
    assert AssetKey("three") in defs.graph.external_keys
