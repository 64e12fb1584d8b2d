"""Jobs on Definitions, as the reference documents them: resolved jobs that execute in process,
the job of every asset, merging and validating definitions, and reading stored values back.

Each behaviour was run on Dagster 1.13 with the same user code (``dagster`` for ``codeloc``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codeloc import (
    AssetExecutionContext,
    AssetSpec,
    Config,
    DefinitionError,
    Definitions,
    FilesystemIOManager,
    InMemoryIOManager,
    JobDefinition,
    RetryPolicy,
    RunFailedError,
    ScheduleDefinition,
    asset,
    define_asset_job,
    materialize,
    materialize_to_memory,
)


class Scale(Config):
    n: int


@asset
def base(config: Scale) -> int:
    return config.n


@asset
def doubled(base: int) -> int:
    return base * 2


@asset
def unrelated() -> str:
    return "u"


SEEN_TAGS: list[dict[str, str]] = []


@asset
def tagged(context: AssetExecutionContext) -> int:
    SEEN_TAGS.append(dict(context.run.tags))
    return 1


JOB = define_asset_job(
    "doubling",
    selection=["*doubled"],
    config={"ops": {"base": {"config": {"n": 3}}}},
    description="doubles the base",
    tags={"team": "data"},
)


def defs_with(*jobs: Any, **kwargs: Any) -> Definitions:
    return Definitions(assets=[base, doubled, unrelated, tagged], jobs=list(jobs), **kwargs)


# -- get_job_def and execute_in_process ----------------------------------------------------------


def test_get_job_def_executes_the_job_in_process() -> None:
    job = defs_with(JOB).get_job_def("doubling")

    result = job.execute_in_process()

    assert isinstance(job, JobDefinition)
    assert (job.name, job.description, job.tags) == (
        "doubling",
        "doubles the base",
        {"team": "data"},
    )
    assert result.success
    assert result.output_for_node("doubled") == 6  # the job's config: n=3
    assert result.asset_value("base") == 3
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"base", "doubled"}  # "*doubled" is lineage; unrelated is not run


def test_run_config_is_laid_over_the_job_config() -> None:
    job = defs_with(JOB).get_job_def("doubling")

    result = job.execute_in_process(run_config={"ops": {"base": {"config": {"n": 5}}}})

    assert result.output_for_node("doubled") == 10


def test_runs_carry_the_job_tags_and_their_own() -> None:
    job = define_asset_job("tags", selection="tagged", tags={"team": "data", "tier": "1"})
    SEEN_TAGS.clear()

    defs_with(job).get_job_def("tags").execute_in_process(tags={"tier": "2", "who": "me"})

    assert SEEN_TAGS == [{"team": "data", "tier": "2", "who": "me"}]


def test_run_tags_replace_the_job_tags_on_its_runs() -> None:
    job = define_asset_job("tags", selection="tagged", tags={"team": "data"}, run_tags={"r": "1"})
    SEEN_TAGS.clear()

    defs_with(job).get_job_def("tags").execute_in_process()

    assert SEEN_TAGS == [{"r": "1"}]


def test_asset_selection_runs_part_of_the_job() -> None:
    job = defs_with(JOB).get_job_def("doubling")

    result = job.execute_in_process(asset_selection=[base.key])

    assert [e.asset_key for e in result.get_asset_materialization_events()] == [base.key]
    with pytest.raises(DefinitionError, match="job 'doubling' has no asset 'unrelated'"):
        job.execute_in_process(asset_selection=["unrelated"])


def test_raise_on_error() -> None:
    @asset
    def broken() -> int:
        raise ValueError("no data")

    defs = Definitions(assets=[broken], jobs=[define_asset_job("b", selection=[broken])])

    with pytest.raises(RunFailedError, match="no data"):
        defs.get_job_def("b").execute_in_process()
    result = defs.get_job_def("b").execute_in_process(raise_on_error=False)
    assert not result.success
    assert [e.step_key for e in result.get_step_failure_events()] == ["broken"]


def test_op_retry_policy_retries_the_assets_without_their_own(retry_delays: list[float]) -> None:
    attempts = {"flaky": 0, "own": 0}

    @asset
    def flaky() -> int:
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise RuntimeError("not yet")
        return 1

    @asset(retry_policy=RetryPolicy(max_retries=0))
    def own() -> int:
        attempts["own"] += 1
        raise RuntimeError("never")

    job = define_asset_job("j", op_retry_policy=RetryPolicy(max_retries=2))
    defs = Definitions(assets=[flaky, own], jobs=[job])

    result = defs.get_job_def("j").execute_in_process(raise_on_error=False)

    assert attempts == {"flaky": 3, "own": 1}  # the asset's own policy wins
    assert [e.step_key for e in result.get_step_failure_events()] == ["own"]
    assert defs.get_job_def("j").op_retry_policy == RetryPolicy(max_retries=2)


def test_op_retry_policy_must_be_a_retry_policy() -> None:
    with pytest.raises(DefinitionError, match="op_retry_policy must be a RetryPolicy"):
        define_asset_job("j", op_retry_policy=3)  # type: ignore[arg-type]


def test_a_job_config_must_be_run_config() -> None:
    with pytest.raises(DefinitionError, match="config must be run config"):
        define_asset_job("j", config=lambda cfg: cfg)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="unknown top-level keys"):
        define_asset_job("j", config={"opz": {}})


def test_an_unknown_job_is_refused_naming_the_jobs() -> None:
    with pytest.raises(DefinitionError, match=r"no job named 'nope'.*doubling"):
        defs_with(JOB).get_job_def("nope")


def test_the_implicit_job_materializes_every_asset() -> None:
    defs = Definitions(assets=[doubled, unrelated, base, AssetSpec("vendor")])

    job = defs.get_implicit_global_asset_job_def()
    result = job.execute_in_process(run_config={"ops": {"base": {"config": {"n": 1}}}})

    assert job.name == "__ASSET_JOB"
    assert defs.get_job_def("__ASSET_JOB").asset_keys == job.asset_keys
    assert {k.to_user_string() for k in job.asset_keys} == {"base", "doubled", "unrelated"}
    assert result.asset_value("doubled") == 2


# -- resolving, validating, merging ---------------------------------------------------------------


def test_resolve_all_asset_keys_and_specs_include_external_assets() -> None:
    defs = Definitions(assets=[base, doubled, AssetSpec("vendor", group_name="ext")])

    assert {k.to_user_string() for k in defs.resolve_all_asset_keys()} == {
        "base",
        "doubled",
        "vendor",
    }
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    assert isinstance(specs["vendor"], AssetSpec)
    assert specs["vendor"].group_name == "ext"
    assert specs["doubled"].deps == (base.key,)


def test_validate_loadable_accepts_good_definitions() -> None:
    Definitions.validate_loadable(defs_with(JOB))


def test_validate_loadable_refuses_a_job_config_that_does_not_fit() -> None:
    job = define_asset_job("bad", selection=["base"], config={"ops": {"base": {"config": {}}}})

    with pytest.raises(DefinitionError, match=r"job 'bad'.*'base'.*field 'n'"):
        Definitions.validate_loadable(defs_with(job))


def test_a_broken_definition_is_refused_when_built() -> None:
    # The reference refuses it at validate_loadable; Tessera already when it is built.
    with pytest.raises(DefinitionError, match=r"job 'z'.*'nope'"):
        Definitions.validate_loadable(
            Definitions(assets=[unrelated], jobs=[define_asset_job("z", selection=["nope"])])
        )


def test_merge_combines_and_counts_the_same_objects_once() -> None:
    resource = InMemoryIOManager()
    first = Definitions(assets=[base, doubled], jobs=[JOB], resources={"io_manager": resource})
    second = Definitions(
        assets=[doubled, unrelated], jobs=[JOB], resources={"io_manager": resource}
    )

    merged = Definitions.merge(first, second)

    assert {k.to_user_string() for k in merged.resolve_all_asset_keys()} == {
        "base",
        "doubled",
        "unrelated",
    }
    assert [j.name for j in merged.jobs] == ["doubling"]
    assert merged.resources["io_manager"] is resource
    assert merged.get_job_def("doubling").execute_in_process().output_for_node("doubled") == 6


def test_merge_refuses_two_resources_under_one_key() -> None:
    with pytest.raises(
        DefinitionError, match="objects 0 and 1 have different resources with the same key 'x'"
    ):
        Definitions.merge(Definitions(resources={"x": 1}), Definitions(resources={"x": 2}))


def test_merge_refuses_two_jobs_of_one_name() -> None:
    first = Definitions(assets=[unrelated], jobs=[define_asset_job("k")])
    second = Definitions(assets=[base], jobs=[define_asset_job("k")])

    with pytest.raises(
        DefinitionError, match="objects 0 and 1 have different jobs with the same name 'k'"
    ):
        Definitions.merge(first, second)


# -- load_asset_value -----------------------------------------------------------------------------


def test_load_asset_value_reads_through_the_io_manager_resource(tmp_path: Path) -> None:
    io_manager = FilesystemIOManager(tmp_path)
    materialize(
        [base, doubled],
        {"ops": {"base": {"config": {"n": 4}}}},
        resources={"io_manager": io_manager},
    )
    defs = Definitions(
        assets=[base, doubled], resources={"io_manager": FilesystemIOManager(tmp_path)}
    )

    assert defs.load_asset_value("doubled") == 8
    assert defs.load_asset_value(["base"]) == 4


def test_load_asset_value_uses_the_asset_io_manager_key(tmp_path: Path) -> None:
    @asset(io_manager_key="lake")
    def stored() -> list[int]:
        return [1, 2]

    materialize([stored], resources={"lake": FilesystemIOManager(tmp_path)})
    defs = Definitions(assets=[stored], resources={"lake": FilesystemIOManager(tmp_path)})

    assert defs.load_asset_value("stored") == [1, 2]


def test_load_asset_value_without_a_resource_reads_the_default_storage(storage: Path) -> None:
    materialize([unrelated])

    assert Definitions(assets=[unrelated]).load_asset_value("unrelated") == "u"


def test_load_asset_value_refuses_an_unknown_key() -> None:
    with pytest.raises(DefinitionError, match="no asset 'zz'"):
        defs_with().load_asset_value("zz")


# -- materialize_to_memory ------------------------------------------------------------------------


def test_materialize_to_memory_keeps_values_in_memory(storage: Path) -> None:
    @asset(io_manager_key="lake")
    def lake_value() -> int:
        return 7

    result = materialize_to_memory(
        [base, doubled, lake_value], run_config={"ops": {"base": {"config": {"n": 2}}}}
    )

    assert result.asset_value("doubled") == 4
    assert result.asset_value("lake_value") == 7  # no "lake" resource is needed
    assert not storage.exists()  # nothing was written to storage


def test_materialize_to_memory_takes_a_selection_and_tags() -> None:
    SEEN_TAGS.clear()

    result = materialize_to_memory([tagged, unrelated], selection=["tagged"], tags={"t": "1"})

    assert SEEN_TAGS == [{"t": "1"}]
    assert len(result.get_asset_materialization_events()) == 1


def test_materialize_to_memory_refuses_an_io_manager_resource() -> None:
    with pytest.raises(DefinitionError, match="resource for the IO manager key 'io_manager'"):
        materialize_to_memory([unrelated], resources={"io_manager": InMemoryIOManager()})


def test_materialize_to_memory_refuses_an_io_manager_bound_to_an_asset() -> None:
    @asset(io_manager_key="lake", resource_defs={"lake": InMemoryIOManager()})
    def bound() -> int:
        return 1

    with pytest.raises(DefinitionError, match="IO manager key 'lake'"):
        materialize_to_memory([bound])


def test_merge_refuses_two_schedules_of_one_name() -> None:
    job = define_asset_job("k")
    first = Definitions(assets=[unrelated], schedules=[ScheduleDefinition(job, "0 * * * *", "s")])
    second = Definitions(schedules=[ScheduleDefinition(job, "5 * * * *", "s")])

    with pytest.raises(DefinitionError, match="different schedules with the same name 's'"):
        Definitions.merge(first, second)
