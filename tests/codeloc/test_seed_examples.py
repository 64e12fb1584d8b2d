"""Every example of the source document (``asset-definitions.txt``), as written there.

Each is adapted only in its import line (``from codeloc import …``) and its file paths
(``data/`` under a temporary working directory, ``/data/`` under ``tmp_path``). Where an
example calls ``requests`` or ``execute_query``, the stand-ins below record the call.
"""

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict  # noqa: UP035 - as the document writes it

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetSelection,
    Backoff,
    Config,
    ConfigInvalid,
    ConfigurableResource,
    Definitions,
    GroupConflictError,
    Jitter,
    RetryPolicy,
    RunConfig,
    asset,
    build_asset_context,
    define_asset_job,
    load_assets_from_package_module,
    materialize,
)
from codeloc._loading import load_definitions
from codeloc._snapshot import snapshot_of

# -- stand-ins for what the examples call ------------------------------------------------------

QUERIES: list[str] = []
REQUESTED: list[str] = []


def execute_query(query: str) -> None:
    QUERIES.append(query)


def _get(url: str) -> SimpleNamespace:
    REQUESTED.append(url)
    return SimpleNamespace(json=lambda: {"foo": "bar"})


requests = SimpleNamespace(get=_get)


@pytest.fixture(autouse=True)
def _fresh_stand_ins() -> None:
    QUERIES.clear()
    REQUESTED.clear()


@pytest.fixture
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def materialization_events(result: Any) -> dict[AssetKey, Any]:
    return {e.materialization.asset_key: e for e in result.get_asset_materialization_events()}


# -- Defining assets ---------------------------------------------------------------------------


def test_basic_asset_definition(in_tmp_dir: Path) -> None:
    @asset
    def my_asset():
        os.makedirs("data", exist_ok=True)
        with open("data/my_asset.json", "w") as f:
            json.dump([1, 2, 3], f)

    assert my_asset.key == AssetKey("my_asset")
    assert my_asset.spec.deps == ()

    result = materialize([my_asset])

    assert result.success
    assert json.loads((in_tmp_dir / "data" / "my_asset.json").read_text()) == [1, 2, 3]
    assert list(materialization_events(result)) == [AssetKey("my_asset")]


def test_basic_dependencies() -> None:
    @asset
    def sugary_cereals() -> None:
        execute_query("CREATE TABLE sugary_cereals AS SELECT * FROM cereals WHERE sugar_grams > 10")

    @asset(deps=[sugary_cereals])
    def shopping_list() -> None:
        execute_query("CREATE TABLE shopping_list AS SELECT * FROM sugary_cereals")

    assert shopping_list.spec.deps == (AssetKey("sugary_cereals"),)
    # deps= orders the assets but passes no value
    assert shopping_list.inputs == ()

    # listed downstream first: the engine still runs the upstream asset first
    result = materialize([shopping_list, sugary_cereals])

    assert result.success
    assert QUERIES == [
        "CREATE TABLE sugary_cereals AS SELECT * FROM cereals WHERE sugar_grams > 10",
        "CREATE TABLE shopping_list AS SELECT * FROM sugary_cereals",
    ]
    assert set(materialization_events(result)) == {
        AssetKey("sugary_cereals"),
        AssetKey("shopping_list"),
    }


def test_dependencies_across_code_locations(tmp_path: Path) -> None:
    data = tmp_path / "data"  # the document's /data/
    data.mkdir()

    # code_location_1
    @asset
    def code_location_1_asset():
        with open(f"{data}/code_location_1_asset.json", "w+") as f:
            json.dump(5, f)

    defs_1 = Definitions(assets=[code_location_1_asset])

    # code_location_2
    @asset(deps=[AssetKey("code_location_1_asset")])
    def code_location_2_asset():
        with open(f"{data}/code_location_1_asset.json") as f:
            x = json.load(f)

        with open(f"{data}/code_location_2_asset.json", "w+") as f:
            json.dump(x + 6, f)

    defs_2 = Definitions(assets=[code_location_2_asset])

    # Location 2 depends on a key it does not define: an external asset, not an error.
    assert defs_2.graph.external_keys == {AssetKey("code_location_1_asset")}
    assert defs_1.graph.external_keys == frozenset()
    (node,) = snapshot_of(defs_2).assets
    assert [(d.key, d.kind) for d in node.deps] == [(AssetKey("code_location_1_asset"), "order")]

    assert materialize(defs_1.assets).success
    assert materialize(defs_2.assets).success
    assert json.loads((data / "code_location_2_asset.json").read_text()) == 11


# -- Asset configuration -----------------------------------------------------------------------


def test_asset_configuration() -> None:
    class MyDownstreamAssetConfig(Config):
        api_endpoint: str

    @asset
    def my_downstream_asset(config: MyDownstreamAssetConfig):
        data = requests.get(f"{config.api_endpoint}/data").json()
        return data

    result = materialize(
        [my_downstream_asset],
        run_config={"ops": {"my_downstream_asset": {"config": {"api_endpoint": "https://a.test"}}}},
    )
    assert result.success
    assert REQUESTED == ["https://a.test/data"]
    assert result.asset_value("my_downstream_asset") == {"foo": "bar"}

    result = materialize(
        [my_downstream_asset],
        run_config=RunConfig({"my_downstream_asset": MyDownstreamAssetConfig(api_endpoint="b")}),
    )
    assert REQUESTED[-1] == "b/data"

    schema = my_downstream_asset.config_type.model_json_schema()
    assert schema["required"] == ["api_endpoint"]
    assert schema["properties"]["api_endpoint"]["type"] == "string"

    with pytest.raises(ConfigInvalid, match=r"'my_downstream_asset'.*'api_endpoint'"):
        materialize([my_downstream_asset])
    assert len(REQUESTED) == 2  # refused before the asset ran


# -- Asset context -----------------------------------------------------------------------------


def test_asset_context() -> None:
    @asset
    def context_asset(context: AssetExecutionContext):
        context.log.info(f"My run ID is {context.run_id}")

    result = materialize([context_asset])

    logs = [e for e in result.all_events if e.type == "LOG"]
    assert [(e.level, e.step_key, e.message) for e in logs] == [
        ("INFO", "context_asset", f"My run ID is {result.run_id}")
    ]


# -- Asset code versions -----------------------------------------------------------------------


def test_asset_code_versions(in_tmp_dir: Path) -> None:
    os.makedirs("data", exist_ok=True)

    @asset(code_version="1")
    def asset_with_version():
        with open("data/asset_with_version.json", "w") as f:
            json.dump(100, f)

    assert asset_with_version.spec.code_version == "1"

    result = materialize([asset_with_version])

    assert json.loads((in_tmp_dir / "data" / "asset_with_version.json").read_text()) == 100
    event = materialization_events(result)[AssetKey("asset_with_version")]
    # the materialization is tagged with the version
    assert event.materialization.code_version == "1"
    assert event.tags["tessera/code_version"] == "1"


# -- Retrying failed assets --------------------------------------------------------------------


def test_retrying_failed_assets(retry_delays: list[float]) -> None:
    @asset(
        retry_policy=RetryPolicy(
            max_retries=3,
            delay=0.2,  # 200ms
            backoff=Backoff.EXPONENTIAL,
            jitter=Jitter.PLUS_MINUS,
        )
    )
    def retried_asset(context: AssetExecutionContext):
        context.log.info("Retry me!")

    assert retried_asset.retry_policy == RetryPolicy(3, 0.2, Backoff.EXPONENTIAL, Jitter.PLUS_MINUS)

    result = materialize([retried_asset])

    assert result.success
    assert [e.message for e in result.all_events if e.type == "LOG"] == ["Retry me!"]
    # it did not fail, so it was not retried
    assert not [e for e in result.all_events if e.type == "STEP_UP_FOR_RETRY"]
    assert retry_delays == []


# -- Loading assets into the webserver ---------------------------------------------------------


def test_loading_a_module_with_assets(user_code: Path) -> None:
    # dagster dev -m module_with_assets
    defs = load_definitions(module="sdk_module_with_assets")

    assert set(defs.graph.all_keys) == {
        AssetKey("asset_1"),
        AssetKey("asset_2"),
        AssetKey("asset_3"),
        AssetKey("asset_4"),
    }
    assert defs.graph.parents(AssetKey("asset_4")) == (AssetKey("asset_3"),)


def test_definitions_with_assets_and_jobs() -> None:
    @asset
    def asset_1():
        return 1

    @asset
    def asset_2():
        return 2

    defs = Definitions(
        assets=[asset_1, asset_2],
        jobs=[define_asset_job(name="all_assets_job")],
    )

    assert defs.job_asset_keys("all_assets_job") == {AssetKey("asset_1"), AssetKey("asset_2")}
    assert defs.get_assets_def("asset_2") is asset_2


# -- Grouping assets ---------------------------------------------------------------------------


def test_group_on_an_individual_asset() -> None:
    @asset(group_name="cereal_assets")
    def nabisco_cereals():
        execute_query(
            "CREATE TABLE nabisco_cereals AS SELECT * FROM cereals WHERE manufacturer = 'Nabisco'"
        )

    @asset
    def ungrouped():
        return 1

    assert nabisco_cereals.spec.group == "cereal_assets"
    assert ungrouped.spec.group == "default"

    defs = Definitions(assets=[nabisco_cereals, ungrouped])
    assert AssetSelection.groups("cereal_assets").resolve(defs.graph) == {
        AssetKey("nabisco_cereals")
    }
    assert materialize([nabisco_cereals, ungrouped], selection="group:cereal_assets").success
    assert QUERIES == [
        "CREATE TABLE nabisco_cereals AS SELECT * FROM cereals WHERE manufacturer = 'Nabisco'"
    ]


def test_group_from_assets_in_a_sub_module(user_code: Path) -> None:
    from sdk_my_package import cereal

    cereal_assets = load_assets_from_package_module(
        cereal,
        group_name="cereal_assets",
    )

    by_key = {a.key: a for a in cereal_assets}
    # submodules and nested subpackages are walked
    assert set(by_key) == {
        AssetKey("cereals"),
        AssetKey("sugary_cereals"),
        AssetKey("shopping_list"),
    }
    assert {a.spec.group for a in cereal_assets} == {"cereal_assets"}
    result = materialize(cereal_assets)
    assert result.asset_value("shopping_list") == ["Frosted Flakes", "Honey Smacks"]


def test_group_name_already_exists_on_assets(user_code: Path) -> None:
    import sdk_grouped_package

    with pytest.raises(GroupConflictError, match=r"Group name already exists on assets") as info:
        load_assets_from_package_module(sdk_grouped_package, group_name="cereal_assets")
    assert "campaign_budget" in str(info.value)
    assert "marketing" in str(info.value)


# -- Testing -----------------------------------------------------------------------------------


def test_my_simple_asset() -> None:
    @asset
    def my_simple_asset():
        return [1, 2, 3]

    result = my_simple_asset()
    assert result == [1, 2, 3]


def test_more_complex_asset() -> None:
    @asset
    def more_complex_asset(my_simple_asset):
        return my_simple_asset + [4, 5, 6]  # noqa: RUF005 - as the document writes it

    result = more_complex_asset([0])
    assert result == [0, 4, 5, 6]
    assert more_complex_asset.spec.deps == (AssetKey("my_simple_asset"),)


def test_uses_resource() -> None:
    class MyConfig(Config):
        api_url: str

    class MyAPIResource(ConfigurableResource):
        def query(self, url) -> Dict[str, Any]:  # noqa: UP006 - as the document writes it
            return requests.get(url).json()

    @asset
    def uses_config_and_resource(config: MyConfig, my_api: MyAPIResource):
        return my_api.query(config.api_url)

    result = uses_config_and_resource(
        config=MyConfig(api_url="https://example.test"), my_api=MyAPIResource()
    )
    assert result == {"foo": "bar"}
    assert REQUESTED == ["https://example.test"]

    # "they will be provided automatically during execution"
    run = materialize(
        [uses_config_and_resource],
        run_config=RunConfig({"uses_config_and_resource": MyConfig(api_url="https://run.test")}),
        resources={"my_api": MyAPIResource()},
    )
    assert run.asset_value("uses_config_and_resource") == {"foo": "bar"}
    assert REQUESTED[-1] == "https://run.test"


def test_uses_context() -> None:
    @asset
    def uses_context(context: AssetExecutionContext):
        context.log.info(context.run_id)
        return "bar"

    context = build_asset_context()
    result = uses_context(context)
    assert result == "bar"


# -- Multi-component asset keys ----------------------------------------------------------------


def test_multi_component_asset_keys() -> None:
    @asset(key_prefix=["one", "two", "three"])
    def upstream_asset():
        return [1, 2, 3]

    @asset(ins={"upstream_asset": AssetIn(key_prefix=["one", "two", "three"])})
    def downstream_asset(upstream_asset):
        return upstream_asset + [4]  # noqa: RUF005 - as the document writes it

    assert upstream_asset.key == AssetKey(["one", "two", "three", "upstream_asset"])
    assert upstream_asset.key.to_user_string() == "one/two/three/upstream_asset"
    assert downstream_asset.spec.deps == (upstream_asset.key,)

    result = materialize([upstream_asset, downstream_asset])
    assert result.asset_value(["one", "two", "three", "upstream_asset"]) == [1, 2, 3]
    assert result.asset_value("downstream_asset") == [1, 2, 3, 4]
