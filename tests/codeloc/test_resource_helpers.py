"""Resources outside a run: build_init_resource_context, build_resources, and the legacy
fs_io_manager / mem_io_manager definitions, as the reference's tests use them."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from codeloc import (
    ConfigInvalid,
    ConfigurableResource,
    DefinitionError,
    Field,
    FilesystemIOManager,
    InMemoryIOManager,
    IOManagerDefinition,
    UnknownResourceError,
    asset,
    build_init_resource_context,
    build_resources,
    fs_io_manager,
    materialize,
    mem_io_manager,
    resource,
)
from codeloc._errors import ResourceSetupError


@resource(config_schema={"x": int, "y": Field(int, default_value=4)})
def adder(context):  # type: ignore[no-untyped-def]
    return context.resource_config["x"] + context.resource_config["y"]


# -- build_init_resource_context ------------------------------------------------------------


def test_a_resource_is_built_from_the_context_config_with_defaults_filled_in() -> None:
    assert adder(build_init_resource_context(config={"x": 1})) == 5
    assert adder(build_init_resource_context(config={"x": 1, "y": 10})) == 11


def test_a_config_that_does_not_fit_the_schema_names_the_field() -> None:
    with pytest.raises(ConfigInvalid, match="x"):
        adder(build_init_resource_context(config={"x": "one"}))


def test_the_context_is_empty_without_arguments() -> None:
    context = build_init_resource_context()
    assert context.resource_config == {}
    assert context.run_id is None
    assert vars(context.resources) == {}


def test_required_resources_come_from_the_context() -> None:
    @resource(required_resource_keys={"base"})
    def doubled(context):  # type: ignore[no-untyped-def]
        return context.resources.base * 2

    assert doubled(build_init_resource_context(resources={"base": 5})) == 10
    # A resource definition given is built, with its own configured config.
    base = adder.configured({"x": 1})
    assert doubled(build_init_resource_context(resources={"base": base})) == 10
    with pytest.raises(UnknownResourceError, match="'base'"):
        doubled(build_init_resource_context())


def test_a_resource_that_takes_a_context_refuses_to_be_called_without_one() -> None:
    with pytest.raises(DefinitionError, match="build_init_resource_context"):
        adder()

    @resource
    def five():  # type: ignore[no-untyped-def]
        return 5

    assert five() == 5


def test_a_generator_resource_called_directly_is_a_context_manager() -> None:
    log: list[str] = []

    @resource
    def connection(context):  # type: ignore[no-untyped-def]
        log.append("open")
        yield "conn"
        log.append("close")

    with connection(build_init_resource_context()) as value:
        assert value == "conn"
        assert log == ["open"]
    assert log == ["open", "close"]


# -- build_resources -----------------------------------------------------------------------


class Counter(ConfigurableResource):
    start: int = 0


def test_build_resources_sets_up_each_kind_and_tears_down_on_exit() -> None:
    log: list[str] = []

    @resource
    def connection(context):  # type: ignore[no-untyped-def]
        log.append("up")
        yield "conn"
        log.append("down")

    resources = {"conn": connection, "plain": 3, "adder": adder, "counter": Counter(start=2)}
    config = {"adder": {"config": {"x": 10}}}
    with build_resources(resources, resource_config=config) as built:
        assert (built.conn, built.plain, built.adder) == ("conn", 3, 14)
        assert isinstance(built.counter, Counter)
        assert built.counter.start == 2
        assert log == ["up"]
    assert log == ["up", "down"]


def test_build_resources_tears_down_when_the_block_raises() -> None:
    log: list[str] = []

    @resource
    def connection(context):  # type: ignore[no-untyped-def]
        try:
            yield "conn"
        finally:
            log.append("down")

    with pytest.raises(RuntimeError, match="boom"), build_resources({"conn": connection}):
        raise RuntimeError("boom")
    assert log == ["down"]


def test_a_teardown_that_raises_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    @resource
    def flaky(context):  # type: ignore[no-untyped-def]
        yield 1
        raise OSError("disk gone")

    with build_resources({"flaky": flaky}) as built:
        assert built.flaky == 1
    assert "resource 'flaky' failed to tear down: OSError: disk gone" in caplog.text


def test_build_resources_sets_up_a_resource_after_the_ones_it_requires() -> None:
    @resource(required_resource_keys={"base"})
    def doubled(context):  # type: ignore[no-untyped-def]
        return context.resources.base * 2

    with build_resources(
        {"doubled": doubled, "base": adder}, resource_config={"base": {"config": {"x": 1}}}
    ) as built:
        assert built.doubled == 10


def test_build_resources_names_the_resource_whose_config_is_missing() -> None:
    with pytest.raises(ResourceSetupError, match="adder"), build_resources({"adder": adder}):
        pass


def test_build_resources_names_the_resource_whose_setup_raised() -> None:
    @resource
    def broken(context):  # type: ignore[no-untyped-def]
        raise OSError("no database")

    with (
        pytest.raises(ResourceSetupError, match=r"'broken'.*no database"),
        build_resources({"broken": broken}),
    ):
        pass


# -- fs_io_manager / mem_io_manager --------------------------------------------------------


@asset
def number() -> int:
    return 3


@asset
def doubled_number(number: int) -> int:
    return number * 2


def test_fs_io_manager_pickles_under_its_configured_base_dir(tmp_path: Path) -> None:
    assert isinstance(fs_io_manager, IOManagerDefinition)
    manager = fs_io_manager.configured({"base_dir": str(tmp_path)})
    result = materialize([number, doubled_number], resources={"io_manager": manager})
    assert result.output_for_node("doubled_number") == 6
    assert pickle.loads((tmp_path / "number").read_bytes()) == 3


def test_fs_io_manager_takes_its_base_dir_from_run_config(tmp_path: Path) -> None:
    run_config = {"resources": {"io_manager": {"config": {"base_dir": str(tmp_path / "x")}}}}
    materialize([number], run_config, resources={"io_manager": fs_io_manager})
    assert pickle.loads((tmp_path / "x" / "number").read_bytes()) == 3


def test_fs_io_manager_defaults_to_the_storage_location(storage: Path) -> None:
    with build_resources({"io": fs_io_manager}) as built:
        assert isinstance(built.io, FilesystemIOManager)
        assert built.io.base_dir == str(storage)


def test_mem_io_manager_keeps_values_in_memory(tmp_path: Path, storage: Path) -> None:
    result = materialize([number, doubled_number], resources={"io_manager": mem_io_manager})
    assert result.output_for_node("doubled_number") == 6
    assert not storage.exists()
    with build_resources({"a": mem_io_manager, "b": mem_io_manager}) as built:
        assert isinstance(built.a, InMemoryIOManager)
        assert built.a is not built.b
