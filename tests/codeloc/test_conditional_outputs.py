"""Optional outputs: ``@asset(output_required=False)`` and ``AssetOut(is_required=False)``.

As in the reference: an asset that yields no ``Output`` is not materialized; each step of the
run that reads it (as a parameter or through ``deps=``), and each step below that one, is
skipped with a ``STEP_SKIPPED`` event rather than failed; the run succeeds. A function that
returns ``None`` has given an output: ``None`` is materialized.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeloc import (
    AssetOut,
    FilesystemIOManager,
    Output,
    asset,
    materialize,
    multi_asset,
)


def build(give: bool) -> list[Any]:
    @asset(output_required=False)
    def maybe() -> Iterator[Output]:
        if give:
            yield Output(1)

    @asset
    def reads(maybe: int) -> int:
        return maybe + 1

    @asset(deps=[maybe])
    def after() -> int:
        return 1

    @asset
    def further(reads: int) -> int:
        return reads

    @asset
    def apart() -> int:
        return 3

    return [maybe, reads, after, further, apart]


def materialized(result: Any) -> set[str]:
    return {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }


def skipped(result: Any) -> dict[str, str]:
    return {e.step_key: e.message for e in result.events_of_type("STEP_SKIPPED")}


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_no_output_skips_what_reads_it_and_the_run_succeeds(executor: str, tmp_path: Path) -> None:
    options: dict[str, Any] = {}
    if executor == "multiprocess":
        options = {"executor": executor, "resources": {"io_manager": FilesystemIOManager(tmp_path)}}
    result = materialize(build(give=False), **options)

    assert result.success
    assert materialized(result) == {"apart"}
    assert skipped(result) == {
        "reads": "skipped 'reads': its upstream asset 'maybe' was not materialized",
        "after": "skipped 'after': its upstream asset 'maybe' was not materialized",
        "further": "skipped 'further': its upstream asset 'reads' was not materialized",
    }
    assert {e.step_key for e in result.events_of_type("STEP_SUCCESS")} == {"maybe", "apart"}
    assert not result.events_of_type("STEP_FAILURE")
    assert result.events_of_type("RUN_SUCCESS")


def test_an_output_given_runs_everything() -> None:
    result = materialize(build(give=True))
    assert materialized(result) == {"maybe", "reads", "after", "further", "apart"}
    assert skipped(result) == {}
    assert result.output_for_node("further") == 2


def test_returning_none_is_an_output() -> None:
    @asset(output_required=False)
    def nothing():
        return None

    @asset
    def reads(nothing: Any) -> bool:
        return nothing is None

    result = materialize([nothing, reads])
    assert materialized(result) == {"nothing", "reads"}
    assert skipped(result) == {}


def test_a_required_output_that_is_not_given_fails_the_step() -> None:
    @asset
    def must() -> Iterator[Output]:
        yield from ()

    @asset
    def reads(must: int) -> int:
        return must

    result = materialize([must, reads], raise_on_error=False)
    assert not result.success
    (failure,) = result.events_of_type("STEP_FAILURE")
    assert "did not produce must" in failure.message
    assert skipped(result) == {}  # skipped because a step failed, which is not STEP_SKIPPED


def test_a_multi_asset_output_not_required_skips_only_its_readers() -> None:
    @multi_asset(outs={"a": AssetOut(), "b": AssetOut(is_required=False)})
    def both() -> Iterator[Output]:
        yield Output(1, output_name="a")

    @asset
    def after_a(a: int) -> int:
        return a

    @asset
    def after_b(b: int) -> int:
        return b

    result = materialize([both, after_a, after_b])
    assert result.success
    assert materialized(result) == {"a", "after_a"}
    assert list(skipped(result)) == ["after_b"]


def test_a_failure_upstream_wins_over_a_missing_input() -> None:
    @asset(output_required=False)
    def maybe() -> Iterator[Output]:
        yield from ()

    @asset
    def broken() -> int:
        raise RuntimeError("boom")

    @asset
    def both(maybe: int, broken: int) -> int:
        return maybe + broken

    result = materialize([maybe, broken, both], raise_on_error=False)
    assert not result.success
    assert skipped(result) == {}
    assert any("upstream step 'broken' failed" in e.message for e in result.all_events)
