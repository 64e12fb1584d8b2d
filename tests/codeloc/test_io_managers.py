"""IO managers as the reference documents them: ``ConfigurableIOManager``, ``@io_manager``,
``ConfigurableIOManagerFactory``, ``io_manager_key=`` / ``io_manager_def=`` on assets,
``AssetIn(input_manager_key=)``, and what ``InputContext`` / ``OutputContext`` say."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeloc import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSpec,
    ConfigurableIOManager,
    ConfigurableIOManagerFactory,
    ConfigurableResource,
    DefinitionError,
    Definitions,
    InitResourceContext,
    InMemoryIOManager,
    InputContext,
    IOManager,
    IOManagerDefinition,
    MetadataValue,
    OutputContext,
    ResourceDefinition,
    TesseraError,
    UnknownResourceError,
    asset,
    build_input_context,
    build_output_context,
    io_manager,
    materialize,
    multi_asset,
)
from codeloc.engine import EventType


class JsonFiles(ConfigurableIOManager):
    """Writes each value as ``<base>/<key segments>.json``, and notes what it was told."""

    base: str

    def _path(self, key: AssetKey) -> Path:
        return Path(self.base, *key.path).with_suffix(".json")

    def _note(self, what: dict[str, Any]) -> None:
        with open(Path(self.base, "notes.jsonl"), "a") as f:
            f.write(json.dumps(what) + "\n")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj))
        self._note(
            {
                "op": "out",
                "key": list(context.asset_key.path),
                "name": context.name,
                "step_key": context.step_key,
                "run_id": context.run_id,
                "metadata": sorted(context.definition_metadata),
                "resource_config": context.resource_config,
                "has_partition_key": context.has_partition_key,
                "pid": os.getpid(),
            }
        )
        context.add_output_metadata({"path": str(path)})
        context.log.info("wrote %s", path.name)

    def load_input(self, context: InputContext) -> Any:
        upstream = context.upstream_output
        assert upstream is not None
        self._note(
            {
                "op": "in",
                "key": list(context.asset_key.path),
                "name": context.name,
                "metadata": dict(context.definition_metadata),
                "upstream": [list(upstream.asset_key.path), upstream.name, upstream.step_key],
                "upstream_metadata": sorted(upstream.definition_metadata),
                "pid": os.getpid(),
            }
        )
        return json.loads(self._path(context.asset_key).read_text())


def notes(base: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (base / "notes.jsonl").read_text().splitlines()]


@asset(metadata={"owner": "sales", "schema": "raw"})
def orders() -> list[int]:
    return [3, 4]


@asset(ins={"orders": AssetIn(metadata={"columns": ["amount"]})})
def total(orders: list[int]) -> int:
    return sum(orders)


def test_a_configurable_io_manager_stores_and_loads_with_what_the_contexts_say(
    tmp_path: Path,
) -> None:
    result = materialize([orders, total], resources={"io_manager": JsonFiles(base=str(tmp_path))})

    assert json.loads((tmp_path / "orders.json").read_text()) == [3, 4]
    assert json.loads((tmp_path / "total.json").read_text()) == 7
    out_orders, load, out_total = notes(tmp_path)
    assert out_orders == {
        "op": "out",
        "key": ["orders"],
        "name": "result",
        "step_key": "orders",
        "run_id": result.run_id,
        "metadata": ["owner", "schema"],
        "resource_config": {"base": str(tmp_path)},
        "has_partition_key": False,
        "pid": os.getpid(),
    }
    assert load == {
        "op": "in",
        "key": ["orders"],
        "name": "orders",
        "metadata": {"columns": ["amount"]},
        "upstream": [["orders"], "result", "orders"],
        "upstream_metadata": ["owner", "schema"],
        "pid": os.getpid(),
    }
    assert out_total["key"] == ["total"]
    assert out_total["metadata"] == []
    # What handle_output added goes on the materialization; its log is the step's.
    by_key = {m.asset_key: m for m in result.asset_materializations_for_node("orders")}
    assert by_key[AssetKey("orders")].metadata["path"].value == str(tmp_path / "orders.json")
    logs = [e.message for e in result.events_of_type(EventType.LOG) if e.step_key == "orders"]
    assert any("wrote orders.json" in m for m in logs)


def test_the_value_of_result_is_the_one_returned_and_an_io_manager_is_a_resource(
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    @asset
    def peek(context: Any) -> list[int]:
        seen["io_manager"] = context.resources.io_manager
        return [1]

    store = JsonFiles(base=str(tmp_path))
    result = materialize([peek], resources={"io_manager": store})
    assert result.asset_value("peek") == [1]
    assert isinstance(seen["io_manager"], JsonFiles)

    # A materialize() without one gets the default, visible to the asset too.
    materialize([peek])
    assert isinstance(seen["io_manager"], IOManager)


def test_a_configurable_io_manager_is_set_up_around_the_run(tmp_path: Path) -> None:
    marks: list[str] = []

    class Tracked(ConfigurableIOManager):
        label: str

        def setup_for_execution(self, context: InitResourceContext) -> None:
            marks.append(f"setup {context.resource_key} {context.resource_config}")

        def teardown_after_execution(self, context: InitResourceContext) -> None:
            marks.append("teardown")

        def handle_output(self, context: OutputContext, obj: Any) -> None:
            marks.append(f"out {context.asset_key.to_user_string()}")
            (tmp_path / context.asset_key.to_user_string()).write_text(json.dumps(obj))

        def load_input(self, context: InputContext) -> Any:
            return json.loads((tmp_path / context.asset_key.to_user_string()).read_text())

    materialize([orders, total], resources={"io_manager": Tracked(label="x")})
    assert marks == [
        "setup io_manager {'label': 'x'}",
        "out orders",
        "out total",
        "teardown",
    ]


def test_a_function_io_manager_gets_its_config_and_required_resources() -> None:
    built: list[Any] = []
    closed: list[str] = []

    @io_manager(config_schema={"prefix": str}, required_resource_keys={"bucket"})
    def prefixed(init_context: InitResourceContext) -> Iterator[IOManager]:
        built.append((init_context.resource_config, init_context.resources.bucket))
        yield InMemoryIOManager()
        closed.append(init_context.resource_key)

    assert isinstance(prefixed, IOManagerDefinition)
    assert isinstance(prefixed, ResourceDefinition)

    @asset(io_manager_key="lake")
    def kept() -> int:
        return 5

    @asset
    def doubled(kept: int) -> int:
        return kept * 2

    bucket = ResourceDefinition.hardcoded_resource("s3://b")
    result = materialize(
        [kept, doubled], resources={"lake": prefixed.configured({"prefix": "p"}), "bucket": bucket}
    )
    assert (result.asset_value("kept"), result.asset_value("doubled")) == (5, 10)
    assert built == [({"prefix": "p"}, "s3://b")]
    assert closed == ["lake"]

    # Run config configures it too; a config that does not fit fails the run before any step.
    run_config = {"resources": {"lake": {"config": {"prefix": "q"}}}}
    materialize([kept], resources={"lake": prefixed, "bucket": bucket}, run_config=run_config)
    assert built[-1] == ({"prefix": "q"}, "s3://b")
    result = materialize(
        [kept], resources={"lake": prefixed, "bucket": bucket}, raise_on_error=False
    )
    assert not result.success
    assert not result.events_of_type(EventType.STEP_START)
    assert "config for resource 'lake' is invalid: field 'prefix': field required" in (
        result.outcome.error or ""
    )


def test_a_factory_builds_the_io_manager_from_its_fields() -> None:
    made: list[Any] = []

    class Warehouse(ConfigurableIOManagerFactory):
        schema_name: str

        def create_io_manager(self, context: InitResourceContext) -> IOManager:
            made.append(context.resource_config)
            return InMemoryIOManager()

    result = materialize([orders, total], resources={"io_manager": Warehouse(schema_name="s")})
    assert result.asset_value("total") == 7
    assert made == [{"schema_name": "s"}]


def test_io_manager_def_binds_a_manager_to_the_asset_under_a_generated_key(tmp_path: Path) -> None:
    @asset(key_prefix="sales", io_manager_def=JsonFiles(base=str(tmp_path)))
    def own() -> dict[str, bool]:
        return {"own": True}

    assert own.io_manager_key_for(own.key) == "sales__own__io_manager"
    assert set(own.resource_defs) == {"sales__own__io_manager"}
    materialize([own])
    assert json.loads((tmp_path / "sales" / "own.json").read_text()) == {"own": True}

    @asset(key=["raw-data", "x"], io_manager_def=InMemoryIOManager())
    def dashed() -> int:
        return 1

    assert dashed.io_manager_key_for(dashed.key) == "raw_data__x__io_manager"

    with pytest.raises(DefinitionError, match=r"asset 'both'.*io_manager_key= or io_manager_def="):

        @asset(io_manager_key="lake", io_manager_def=InMemoryIOManager())
        def both() -> int:
            return 1


def test_an_input_manager_loads_the_input_instead_of_the_upstream_io_manager() -> None:
    told: list[Any] = []

    class FromArchive(IOManager):
        def handle_output(self, context: OutputContext, obj: Any) -> None:
            raise AssertionError("an input manager stores nothing")

        def load_input(self, context: InputContext) -> Any:
            assert context.upstream_output is not None
            told.append((context.name, context.asset_key, context.upstream_output.asset_key))
            return [10, 20]

    @asset(ins={"orders": AssetIn(input_manager_key="archive")})
    def archived_total(orders: list[int]) -> int:
        return sum(orders)

    store = InMemoryIOManager()
    result = materialize(
        [orders, archived_total], resources={"archive": FromArchive(), "io_manager": store}
    )
    assert result.asset_value("archived_total") == 30
    assert told == [("orders", AssetKey("orders"), AssetKey("orders"))]
    assert store.values[AssetKey("orders")] == [3, 4]  # stored by its own manager all the same

    with pytest.raises(
        UnknownResourceError,
        match=r"asset 'archived_total' loads input 'orders' with input manager 'archive', "
        r"which is not provided",
    ):
        Definitions(assets=[orders, archived_total])
    with pytest.raises(UnknownResourceError, match=r"input manager 'archive'"):
        materialize([orders, archived_total])


def test_io_manager_keys_that_name_nothing_or_no_io_manager_are_refused_when_defined() -> None:
    @asset(io_manager_key="lake")
    def lakeside() -> int:
        return 1

    with pytest.raises(
        UnknownResourceError,
        match=r"asset 'lakeside' stores output 'result' with IO manager 'lake', which is not "
        r"provided; the IO managers given are \['io_manager', 'other'\]",
    ):
        Definitions(assets=[lakeside], resources={"other": InMemoryIOManager()})

    class Client(ConfigurableResource):
        url: str = "x"

    with pytest.raises(DefinitionError, match=r"resource 'lake' is Client, not an IO manager"):
        Definitions(assets=[lakeside], resources={"lake": Client()})
    with pytest.raises(DefinitionError, match=r"resource 'io_manager' is Client, not an IO"):
        Definitions(assets=[orders], resources={"io_manager": Client()})
    with pytest.raises(DefinitionError, match=r"resource 'lake' is Client, not an IO manager"):
        materialize([lakeside], resources={"lake": Client()})

    @io_manager(required_resource_keys={"bucket"})
    def needs_bucket(init_context: InitResourceContext) -> IOManager:
        return InMemoryIOManager()

    with pytest.raises(
        UnknownResourceError, match=r"resource 'lake' requires resource 'bucket', which is not"
    ):
        Definitions(assets=[lakeside], resources={"lake": needs_bucket})


def test_a_failing_load_fails_the_step_naming_the_asset_and_the_input() -> None:
    class Offline(InMemoryIOManager):
        def load_input(self, context: InputContext) -> Any:
            raise OSError("disk gone")

    result = materialize([orders, total], resources={"io_manager": Offline()}, raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "total"
    assert failure.message == (
        "'total' failed: TesseraError: 'total' could not load input 'orders' (asset 'orders') "
        "with IO manager 'io_manager': OSError: disk gone"
    )
    assert "OSError: disk gone" in (failure.error or "")


def test_a_failing_store_fails_the_step_naming_the_asset() -> None:
    class Full(InMemoryIOManager):
        def handle_output(self, context: OutputContext, obj: Any) -> None:
            raise OSError("disk full")

    result = materialize([orders], resources={"io_manager": Full()}, raise_on_error=False)
    [failure] = result.get_step_failure_events()
    assert "could not store asset 'orders' (output 'result') with IO manager 'io_manager'" in (
        failure.message or ""
    )
    assert not result.get_asset_materialization_events()


def test_a_function_io_manager_that_builds_no_io_manager_fails_before_any_step() -> None:
    @io_manager
    def not_one(init_context: InitResourceContext) -> Any:
        return 3

    result = materialize([orders], resources={"io_manager": not_one}, raise_on_error=False)
    assert not result.success
    assert not result.events_of_type(EventType.STEP_START)
    assert "IO manager 'io_manager' built int, not an IOManager" in (result.outcome.error or "")


def test_steps_in_their_own_processes_use_the_io_manager_there(tmp_path: Path) -> None:
    result = materialize(
        [orders, total],
        resources={"io_manager": JsonFiles(base=str(tmp_path))},
        executor="multiprocess",
    )
    assert result.success
    pids = {note["pid"] for note in notes(tmp_path)}
    assert os.getpid() not in pids
    # The values were stored in other processes: read back through the manager.
    assert result.asset_value("total") == 7

    class InMemoryOnly(ConfigurableIOManager):
        persistent = False

        def handle_output(self, context: OutputContext, obj: Any) -> None: ...

        def load_input(self, context: InputContext) -> Any: ...

    with pytest.raises(TesseraError, match=r"'io_manager' is InMemoryOnly"):
        materialize(
            [orders, total], resources={"io_manager": InMemoryOnly()}, executor="multiprocess"
        )


def test_contexts_built_for_a_direct_call(tmp_path: Path) -> None:
    manager = JsonFiles(base=str(tmp_path))
    out = build_output_context(
        asset_key="orders", name="result", step_key="orders", definition_metadata={"a": 1}
    )
    manager.handle_output(out, [1, 2])
    assert out.get_logged_metadata() == {"path": MetadataValue.text(str(tmp_path / "orders.json"))}
    assert out.metadata == {"a": 1}
    assert out.get_asset_identifier() == ["orders"]
    loaded = manager.load_input(
        build_input_context(name="orders", asset_key="orders", upstream_output=out)
    )
    assert loaded == [1, 2]

    bare = build_output_context()
    assert not bare.has_asset_key
    with pytest.raises(TesseraError, match=r"OutputContext.asset_key was not given"):
        bare.asset_key  # noqa: B018
    with pytest.raises(TesseraError, match=r"InputContext.name was not given"):
        build_input_context().name  # noqa: B018
    assert build_input_context().upstream_output is None
    assert build_input_context(resources={"db": "conn"}).resources.db == "conn"


def test_partition_keys_answer_for_what_is_not_partitioned() -> None:
    out = build_output_context(asset_key="orders")
    assert not out.has_partition_key
    with pytest.raises(TesseraError, match=r"asset 'orders' is not partitioned"):
        out.partition_key  # noqa: B018

    # The slot partitions will fill: given, it is read back and ends the identifier.
    dated = build_input_context(asset_key=["sales", "orders"], partition_key="2024-01-01")
    assert dated.has_partition_key
    assert dated.partition_key == "2024-01-01"
    assert dated.get_asset_identifier() == ["sales", "orders", "2024-01-01"]


def test_each_output_of_a_multi_asset_goes_to_its_own_io_manager() -> None:
    names: dict[str, list[tuple[str, str]]] = {"lake": [], "io_manager": []}

    class Noting(InMemoryIOManager):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

        def handle_output(self, context: OutputContext, obj: Any) -> None:
            names[self.key].append((context.name, context.asset_key.to_user_string()))
            super().handle_output(context, obj)

    @multi_asset(outs={"left": AssetOut(io_manager_key="lake"), "right": AssetOut()})
    def split() -> tuple[int, int]:
        return 1, 2

    @asset
    def joined(left: int, right: int) -> int:
        return left * 10 + right

    lake = Noting("lake")
    result = materialize(
        [split, joined], resources={"lake": lake, "io_manager": Noting("io_manager")}
    )
    assert names == {
        "lake": [("left", "left")],
        "io_manager": [("right", "right"), ("result", "joined")],
    }
    assert lake.values == {AssetKey("left"): 1}
    assert result.asset_value("joined") == 12


def test_the_upstream_output_of_an_asset_declared_elsewhere_has_its_metadata() -> None:
    told: list[Any] = []

    class Warehouse(IOManager):
        def handle_output(self, context: OutputContext, obj: Any) -> None: ...

        def load_input(self, context: InputContext) -> Any:
            upstream = context.upstream_output
            assert upstream is not None
            told.append((upstream.asset_key, upstream.name, dict(upstream.definition_metadata)))
            return 41

    @asset
    def reads(raw_events: int) -> int:
        return raw_events + 1

    declared = AssetSpec("raw_events", metadata={"table": "events"})
    result = materialize(
        [declared, reads], resources={"io_manager": Warehouse()}, selection=[reads]
    )
    assert result.asset_value("reads") == 42
    [(key, name, metadata)] = told
    assert (key, name) == (AssetKey("raw_events"), "result")
    assert {k: getattr(v, "value", v) for k, v in metadata.items()} == {"table": "events"}
