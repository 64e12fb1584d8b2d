"""The engine behind ``materialize()``: events, results, retries, failures, executors, storage."""

import gc
import json
import logging
import os
import pickle
import random
import threading
import time
from pathlib import Path

import fsspec
import pytest

from codeloc import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Backoff,
    Jitter,
    Output,
    RetryPolicy,
    RunFailedError,
    TesseraError,
    asset,
    materialize,
)
from codeloc.engine import FilesystemIOManager, InMemoryIOManager
from codeloc.engine._io import InputContext, OutputContext
from codeloc.engine._step import data_version_of

ATTEMPTS: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _fresh_attempts() -> None:
    ATTEMPTS.clear()


def types_of(result) -> list[str]:
    return [e.type.value for e in result.all_events]


def materializations(result) -> dict[AssetKey, object]:
    return {e.materialization.asset_key: e for e in result.get_asset_materialization_events()}


@asset(code_version="1")
def raw():
    return [1, 2, 3]


@asset(code_version="1")
def doubled(context: AssetExecutionContext, raw):
    context.add_output_metadata({"rows": len(raw), "first": raw[0]})
    return [2 * x for x in raw]


@asset
def summed(doubled):
    return sum(doubled)


# -- events and the result ---------------------------------------------------------------------


def test_events_of_a_successful_run() -> None:
    result = materialize([raw, doubled])

    assert result.success
    assert types_of(result) == [
        "RUN_START",
        "STEP_START",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
        "STEP_START",
        "ASSET_MATERIALIZATION",
        "STEP_SUCCESS",
        "RUN_SUCCESS",
    ]
    assert [e.seq for e in result.all_events] == list(range(1, 9))
    assert {e.run_id for e in result.all_events} == {result.run_id}
    assert [e.step_key for e in result.all_events if e.type == "STEP_START"] == ["raw", "doubled"]
    assert all(e.metadata["duration_ms"].value >= 0 for e in result.events_of_type("STEP_SUCCESS"))


def test_result_values_and_materialization_events() -> None:
    result = materialize([raw, doubled, summed], run_id="run-1", tags={"who": "test"})

    assert result.run_id == "run-1"
    assert result.output_for_node("doubled") == [2, 4, 6]
    assert result.asset_value("summed") == 12
    assert result.asset_value(AssetKey("raw")) == [1, 2, 3]
    with pytest.raises(KeyError, match="no step 'nope'"):
        result.output_for_node("nope")

    events = result.get_asset_materialization_events()
    assert [e.materialization.asset_key for e in events] == [
        AssetKey("raw"),
        AssetKey("doubled"),
        AssetKey("summed"),
    ]
    doubled_event = events[1]
    assert doubled_event.metadata["rows"].value == 3
    assert doubled_event.metadata["first"].value == 1
    assert doubled_event.materialization.metadata["rows"].value == 3
    assert doubled_event.tags["tessera/code_version"] == "1"
    assert "tessera/data_version" in doubled_event.tags
    assert result.asset_materializations_for_node("summed")[0].asset_key == AssetKey("summed")


def test_selection_forms() -> None:
    everything = [raw, doubled, summed]
    by_expression = materialize(everything, selection="+doubled")
    by_object = materialize(everything, selection=AssetSelection.keys("raw"))
    by_definitions = materialize(everything, selection=[raw, "doubled"])

    assert set(materializations(by_expression)) == {AssetKey("raw"), AssetKey("doubled")}
    assert set(materializations(by_object)) == {AssetKey("raw")}
    assert set(materializations(by_definitions)) == {AssetKey("raw"), AssetKey("doubled")}


def test_a_selection_reads_unselected_upstream_values_from_storage(storage: Path) -> None:
    materialize([raw, doubled, summed], selection="raw or doubled")
    later = materialize([raw, doubled, summed], selection="summed")

    assert [e.step_key for e in later.all_events if e.type == "STEP_START"] == ["summed"]
    assert later.asset_value("summed") == 12


# -- the context -------------------------------------------------------------------------------


def test_the_context_in_a_run() -> None:
    @asset(key_prefix="ctx")
    def inspects(context: AssetExecutionContext):
        context.add_output_metadata({"seen": context.asset_key.to_user_string()})
        return {
            "run_id": context.run_id,
            "asset_key": context.asset_key,
            "resource": context.resources.token,
            "op_config": context.op_config,
            "tags": context.run_tags,
        }

    result = materialize(
        [inspects],
        run_config={"ops": {"ctx__inspects": {"config": {"free": "form"}}}},
        resources={"token": "s3cr3t"},
        tags={"team": "data"},
    )

    assert result.asset_value(["ctx", "inspects"]) == {
        "run_id": result.run_id,
        "asset_key": AssetKey(["ctx", "inspects"]),
        "resource": "s3cr3t",
        "op_config": {"free": "form"},
        "tags": {"team": "data"},
    }
    (event,) = result.get_asset_materialization_events()
    assert event.metadata["seen"].value == "ctx/inspects"


# -- logging -----------------------------------------------------------------------------------


def test_context_log_is_captured_and_reaches_standard_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @asset
    def chatty(context: AssetExecutionContext):
        context.log.debug("debug %s", 1)
        context.log.info("info %s", 2)
        context.log.warning("careful", extra={"k": "v"})
        try:
            raise KeyError("lost")
        except KeyError:
            context.log.exception("caught")
        context.log.error("with exc", exc_info=ValueError("given"))

    with caplog.at_level(logging.DEBUG, logger="tessera.user"):
        result = materialize([chatty])

    logs = [(e.level, e.message.splitlines()[0]) for e in result.all_events if e.type == "LOG"]
    assert logs == [
        ("DEBUG", "debug 1"),
        ("INFO", "info 2"),
        ("WARNING", "careful"),
        ("ERROR", "caught"),
        ("ERROR", "with exc"),
    ]
    caught = next(e for e in result.all_events if e.message.startswith("caught"))
    assert "KeyError: 'lost'" in caught.message
    records = [r for r in caplog.records if r.name == "tessera.user"]
    assert [r.getMessage() for r in records][:2] == ["[chatty] debug 1", "[chatty] info 2"]
    assert records[2].k == "v"  # type: ignore[attr-defined]


# -- retries -----------------------------------------------------------------------------------


def flaky(failures: int, policy: RetryPolicy):
    @asset(retry_policy=policy)
    def flaky_asset(context: AssetExecutionContext):
        ATTEMPTS["flaky"] = ATTEMPTS.get("flaky", 0) + 1
        if ATTEMPTS["flaky"] <= failures:
            raise ConnectionError(f"attempt {ATTEMPTS['flaky']} failed")
        return context.retry_number

    return flaky_asset


def test_a_step_is_retried_until_it_succeeds(retry_delays: list[float]) -> None:
    policy = RetryPolicy(max_retries=3, delay=0.2, backoff=Backoff.EXPONENTIAL)

    result = materialize([flaky(2, policy)])

    assert result.success
    assert ATTEMPTS["flaky"] == 3
    assert types_of(result).count("STEP_UP_FOR_RETRY") == 2
    assert types_of(result).count("STEP_START") == 3
    retries = result.events_of_type("STEP_UP_FOR_RETRY")
    assert "retry 1 of 3" in retries[0].message
    assert "ConnectionError: attempt 1 failed" in retries[0].message
    assert "attempt 2 failed" in (retries[1].error or "")
    assert retry_delays == pytest.approx([0.2, 0.6])
    assert result.asset_value("flaky_asset") == 2  # context.retry_number on the last attempt


def test_retries_run_out_and_the_step_fails(retry_delays: list[float]) -> None:
    policy = RetryPolicy(max_retries=2, delay=0.5, backoff=Backoff.LINEAR)

    result = materialize([flaky(10, policy)], raise_on_error=False)

    assert not result.success
    assert ATTEMPTS["flaky"] == 3
    assert types_of(result).count("STEP_UP_FOR_RETRY") == 2
    (failure,) = result.get_step_failure_events()
    assert "attempt 3 failed" in failure.message
    assert retry_delays == pytest.approx([0.5, 1.0])


def test_retry_policy_delays() -> None:
    rng = random.Random(7)
    assert RetryPolicy().calculate_delay(1) == 0.0
    assert RetryPolicy(delay=0.3).calculate_delay(3) == pytest.approx(0.3)
    assert RetryPolicy(delay=0.3, backoff=Backoff.LINEAR).calculate_delay(3) == pytest.approx(0.9)
    exponential = RetryPolicy(delay=0.2, backoff=Backoff.EXPONENTIAL)
    assert [exponential.calculate_delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.6, 1.4])

    full = RetryPolicy(delay=1.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.FULL)
    assert all(0.0 <= full.calculate_delay(3, rng) <= 7.0 for _ in range(50))
    plus_minus = RetryPolicy(delay=0.2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
    delays = [plus_minus.calculate_delay(3, rng) for _ in range(50)]
    assert all(1.2 <= d <= 1.6 for d in delays)
    assert len(set(delays)) > 1

    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="delay must be >= 0"):
        RetryPolicy(delay=-1)


def test_the_source_document_policy_retries_with_jittered_backoff(
    retry_delays: list[float],
) -> None:
    policy = RetryPolicy(
        max_retries=3, delay=0.2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    )

    result = materialize([flaky(3, policy)])

    assert result.success
    assert types_of(result).count("STEP_UP_FOR_RETRY") == 3
    assert len(retry_delays) == 3
    for delay, base in zip(retry_delays, (0.2, 0.6, 1.4), strict=True):
        assert base - 0.2 <= delay <= base + 0.2


# -- failures ----------------------------------------------------------------------------------


@asset
def breaks(raw):
    raise ValueError(f"cannot handle {len(raw)} rows")


@asset
def after_break(breaks):
    return breaks


@asset
def two_after(after_break):
    return after_break


@asset
def independent(raw):
    return "fine"


def test_a_failing_asset_fails_its_step_and_skips_its_downstream() -> None:
    result = materialize([raw, breaks, after_break, two_after, independent], raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "breaks"
    assert failure.level == "ERROR"
    assert failure.message == "'breaks' failed: ValueError: cannot handle 3 rows"
    assert failure.error is not None
    assert failure.error.startswith("Traceback (most recent call last):")
    assert 'raise ValueError(f"cannot handle {len(raw)} rows")' in failure.error

    skipped = {e.step_key: e.message for e in result.events_of_type("ENGINE_EVENT")}
    assert skipped == {
        "after_break": "skipped 'after_break': upstream step 'breaks' failed",
        "two_after": "skipped 'two_after': upstream step 'breaks' failed",
    }
    assert result.outcome.failed == ("breaks",)
    assert set(result.outcome.skipped) == {"after_break", "two_after"}
    # the independent branch still ran
    assert set(materializations(result)) == {AssetKey("raw"), AssetKey("independent")}
    (run_failure,) = result.events_of_type("RUN_FAILURE")
    assert "failed: breaks" in run_failure.message
    assert "skipped: " in run_failure.message


def test_raise_on_error_raises_after_the_run_with_the_error() -> None:
    with pytest.raises(RunFailedError, match=r"failed: breaks[\s\S]*cannot handle 3 rows"):
        materialize([raw, breaks, independent])


# -- the multiprocess executor -----------------------------------------------------------------


def _interval(name: str, path: Path) -> None:
    start = time.time()
    time.sleep(0.3)
    path.joinpath(name).write_text(json.dumps([os.getpid(), start, time.time()]))


def parallel_assets(tmp_path: Path):
    @asset
    def left():
        _interval("left", tmp_path)
        return "l"

    @asset
    def right():
        _interval("right", tmp_path)
        return "r"

    @asset
    def joined(context: AssetExecutionContext, left, right):
        context.log.info("joining")
        return left + right

    return [left, right, joined]


def test_multiprocess_runs_independent_steps_in_parallel(tmp_path: Path) -> None:
    result = materialize(parallel_assets(tmp_path), executor="multiprocess")

    assert result.success
    assert result.asset_value("joined") == "lr"
    (lpid, lstart, lend) = json.loads((tmp_path / "left").read_text())
    (rpid, rstart, rend) = json.loads((tmp_path / "right").read_text())
    assert lpid != rpid
    assert os.getpid() not in (lpid, rpid)
    # the two steps overlapped
    assert lstart < rend
    assert rstart < lend
    # events from the children arrive in the parent, numbered without gaps
    assert [e.seq for e in result.all_events] == list(range(1, len(result.all_events) + 1))
    assert [e.message for e in result.all_events if e.type == "LOG"] == ["joining"]
    assert types_of(result)[-1] == "RUN_SUCCESS"


def test_multiprocess_max_concurrent_one_runs_steps_one_at_a_time(tmp_path: Path) -> None:
    result = materialize(parallel_assets(tmp_path), executor="multiprocess", max_concurrent=1)

    assert result.success
    (_, lstart, lend) = json.loads((tmp_path / "left").read_text())
    (_, rstart, rend) = json.loads((tmp_path / "right").read_text())
    assert lend <= rstart or rend <= lstart


def test_multiprocess_failures_retries_and_skips(retry_delays: list[float]) -> None:
    policy = RetryPolicy(max_retries=1, delay=0.1)
    result = materialize(
        [raw, breaks, after_break, independent, flaky(1, policy)],
        executor="multiprocess",
        raise_on_error=False,
    )

    assert not result.success
    assert result.outcome.failed == ("breaks",)
    assert result.outcome.skipped == ("after_break",)
    assert result.get_step_failure_events()[0].step_key == "breaks"
    (retry,) = result.events_of_type("STEP_UP_FOR_RETRY")
    assert retry.step_key == "flaky_asset"
    assert result.asset_value("flaky_asset") == 1
    assert result.asset_value("independent") == "fine"


def test_multiprocess_needs_storage_outside_the_process(tmp_path: Path) -> None:
    with pytest.raises(
        TesseraError, match=r"multiprocess executor needs IO managers.*'io_manager'"
    ):
        materialize(
            parallel_assets(tmp_path),
            executor="multiprocess",
            resources={"io_manager": InMemoryIOManager()},
        )


def plan_of(tag: str, extra_steps: int):
    """Assets of the same names as another ``plan_of``'s, whose values name ``tag``."""

    @asset(name="left")
    def left_of_tag():
        return f"{tag}-left"

    @asset(name="right")
    def right_of_tag():
        return f"{tag}-right"

    @asset(name="joined")
    def joined_of_tag(left, right):
        return f"{left}+{right}"

    extras = [asset(name=f"extra_{i}")(lambda: tag) for i in range(extra_steps)]
    return [left_of_tag, right_of_tag, joined_of_tag, *extras]


def materialize_side_by_side(plans: dict[str, list]) -> tuple[dict[str, object], dict[str, str]]:
    """Each plan materialized by the multiprocess executor in a thread of its own, all
    starting together; the results, and the errors raised, by plan."""
    start = threading.Barrier(len(plans))
    results: dict[str, object] = {}
    errors: dict[str, str] = {}

    def run(tag: str) -> None:
        start.wait()
        try:
            results[tag] = materialize(plans[tag], executor="multiprocess", max_concurrent=2)
        except Exception as exc:
            errors[tag] = repr(exc)

    threads = [threading.Thread(target=run, args=(tag,)) for tag in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_multiprocess_runs_side_by_side_in_threads_keep_their_own_plans() -> None:
    # Each run's children must get the plan of their own run, even when the other run's
    # pool starts at the same moment, with steps of the same names.
    plans = {"a": plan_of("a", 0), "b": plan_of("b", 3)}
    for _ in range(3):
        results, errors = materialize_side_by_side(plans)

        assert errors == {}
        a, b = results["a"], results["b"]
        assert a.asset_value("joined") == "a-left+a-right"
        assert b.asset_value("joined") == "b-left+b-right"
        assert [b.asset_value(f"extra_{i}") for i in range(3)] == ["b", "b", "b"]
        assert len(a.get_asset_materialization_events()) == 3
        assert len(b.get_asset_materialization_events()) == 6
        assert {e.run_id for e in a.all_events} == {a.run_id}
        assert {e.run_id for e in b.all_events} == {b.run_id}


# -- IO managers -------------------------------------------------------------------------------


def test_default_io_manager_pickles_under_tessera_storage(storage: Path) -> None:
    @asset(key_prefix=["one", "two"])
    def nested():
        return {"a": 1}

    materialize([raw, nested])

    assert pickle.loads((storage / "raw").read_bytes()) == [1, 2, 3]
    assert pickle.loads((storage / "one" / "two" / "nested").read_bytes()) == {"a": 1}
    assert not list(storage.rglob("*.tmp"))  # written to a temporary name, then renamed


def test_default_io_manager_takes_an_fsspec_url(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"memory://tessera-test-{os.getpid()}-{time.time_ns()}/prefix"
    monkeypatch.setenv("TESSERA_STORAGE", url)
    fs = fsspec.filesystem("memory")
    root = url.removeprefix("memory://")
    try:
        result = materialize([raw, doubled])

        assert result.asset_value("doubled") == [2, 4, 6]
        assert sorted(fs.find(root)) == [f"/{root}/doubled", f"/{root}/raw"]
        with fs.open(f"{root}/raw", "rb") as f:
            assert pickle.load(f) == [1, 2, 3]
        # a later run reads what an earlier one stored
        assert materialize([raw, doubled, summed], selection="summed").asset_value("summed") == 12
    finally:
        fs.rm(f"/{root.split('/')[0]}", recursive=True)


def test_filesystem_io_manager_with_an_explicit_url_and_a_missing_value(tmp_path: Path) -> None:
    manager = FilesystemIOManager(f"file://{tmp_path}")
    manager.handle_output(OutputContext(AssetKey(["a", "b"]), "r", "s"), 5)

    assert pickle.loads((tmp_path / "a" / "b").read_bytes()) == 5
    assert manager.load_input(InputContext(AssetKey(["a", "b"]), "r", "t")) == 5
    with pytest.raises(TesseraError, match=r"asset 'missing' has no stored value under"):
        manager.load_input(InputContext(AssetKey("missing"), "r", "t"))


def test_in_memory_io_manager_for_tests() -> None:
    store = InMemoryIOManager()

    materialize([raw, doubled], resources={"io_manager": store})
    assert store.values == {AssetKey("raw"): [1, 2, 3], AssetKey("doubled"): [2, 4, 6]}
    later = materialize([raw, doubled, summed], selection="summed", resources={"io_manager": store})
    assert later.asset_value("summed") == 12
    with pytest.raises(TesseraError, match=r"no stored value for asset 'nope' in memory"):
        store.load_input(InputContext(AssetKey("nope"), "r", "s"))


def test_an_asset_returning_none_by_annotation_stores_nothing() -> None:
    store = InMemoryIOManager()

    @asset
    def side_effect() -> None:
        return None

    @asset
    def plain_none():
        return None

    result = materialize([side_effect, plain_none], resources={"io_manager": store})
    assert set(materializations(result)) == {AssetKey("side_effect"), AssetKey("plain_none")}
    assert store.values == {AssetKey("plain_none"): None}


def test_ephemeral_storage_goes_away_with_the_result() -> None:
    result = materialize([raw])
    base = Path(result._run.io_managers["io_manager"].base_dir)
    assert (base / "raw").exists()

    del result
    gc.collect()
    assert not base.exists()


# -- data versions -----------------------------------------------------------------------------


def data_versions(result) -> dict[str, str]:
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.data_version
        for e in result.get_asset_materialization_events()
    }


def test_every_materialization_records_its_code_and_data_version() -> None:
    result = materialize([raw, doubled, summed])
    events = materializations(result)

    raw_m = events[AssetKey("raw")].materialization
    doubled_m = events[AssetKey("doubled")].materialization
    assert (raw_m.code_version, doubled_m.code_version) == ("1", "1")
    assert raw_m.data_version == data_version_of("1", [])
    assert doubled_m.data_version == data_version_of("1", [(AssetKey("raw"), raw_m.data_version)])
    assert doubled_m.tags["tessera/data_version"] == doubled_m.data_version
    # without a code version, the run stands in for it
    summed_m = events[AssetKey("summed")].materialization
    assert summed_m.code_version is None
    assert summed_m.data_version == data_version_of(
        result.run_id, [(AssetKey("doubled"), doubled_m.data_version)]
    )


def test_data_versions_follow_code_versions_and_inputs() -> None:
    first = data_versions(materialize([raw, doubled]))
    again = data_versions(materialize([raw, doubled]))
    assert first == again  # same code, same inputs: same data versions

    @asset(name="raw", code_version="2")
    def raw_v2():
        return [1, 2, 3]

    changed = data_versions(materialize([raw_v2, doubled]))
    assert changed["raw"] != first["raw"]
    assert changed["doubled"] != first["doubled"]  # an input's version changed


def test_an_explicit_data_version_is_kept() -> None:
    @asset
    def versioned():
        return Output(1, data_version="v-explicit")

    assert data_versions(materialize([versioned])) == {"versioned": "v-explicit"}


def test_filesystem_io_manager_reads_back_what_its_run_wrote(tmp_path: Path) -> None:
    from codeloc.engine._io import FilesystemIOManager, InputContext, OutputContext

    manager = FilesystemIOManager(tmp_path, read_cache_bytes=100)
    key = AssetKey("a")
    manager.handle_output(OutputContext(key, "run-1", "a"), [1, 2])
    # Another writer replaces the file: the writing run still reads its own value...
    (tmp_path / "a").write_bytes(pickle.dumps("changed"))
    assert manager.load_input(InputContext(key, "run-1", "b")) == [1, 2]
    # ...and any other run reads the file.
    assert manager.load_input(InputContext(key, "run-2", "b")) == "changed"
    # A value larger than the cache is only on disk.
    manager.handle_output(OutputContext(AssetKey("big"), "run-3", "big"), "x" * 500)
    (tmp_path / "big").write_bytes(pickle.dumps("from disk"))
    assert manager.load_input(InputContext(AssetKey("big"), "run-3", "c")) == "from disk"
