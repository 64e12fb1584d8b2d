"""``Failure`` raised by user code: the step fails with its description and metadata, and
``allow_retries=False`` passes over the step's ``RetryPolicy``."""

from pathlib import Path

import pytest

from codeloc import (
    Failure,
    MetadataValue,
    RetryPolicy,
    RetryRequested,
    RunFailedError,
    TesseraError,
    asset,
    graph_asset,
    materialize,
    op,
)


def _count(path: Path) -> int:
    """One more attempt, counted in a file so that steps in child processes count too."""
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def failing(counter: Path, allow_retries: bool):
    @asset(retry_policy=RetryPolicy(max_retries=2))
    def checked() -> int:
        _count(counter)
        raise Failure(
            description="3 rows have no customer",
            metadata={"bad_rows": 3, "sample": MetadataValue.text("order 17")},
            allow_retries=allow_retries,
        )

    @asset
    def report(checked: int) -> int:
        return checked

    return [checked, report]


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_failure_fails_the_step_with_its_description_and_metadata(
    tmp_path: Path, storage: Path, executor: str
) -> None:
    counter = tmp_path / "attempts"

    result = materialize(
        failing(counter, allow_retries=False), executor=executor, raise_on_error=False
    )

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "checked"
    assert failure.message == "'checked' failed: 3 rows have no customer"
    assert failure.metadata == {
        "bad_rows": MetadataValue.int(3),
        "sample": MetadataValue.text("order 17"),
    }
    assert "Failure: 3 rows have no customer" in (failure.error or "")
    assert result.outcome.skipped == ("report",)


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_allow_retries_false_passes_over_the_retry_policy(
    tmp_path: Path, storage: Path, executor: str
) -> None:
    counter = tmp_path / "attempts"

    result = materialize(
        failing(counter, allow_retries=False), executor=executor, raise_on_error=False
    )

    assert counter.read_text() == "1"
    assert result.events_of_type("STEP_UP_FOR_RETRY") == []


def test_a_failure_that_allows_retries_is_retried_by_the_policy(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"

    result = materialize(failing(counter, allow_retries=True), raise_on_error=False)

    assert counter.read_text() == "3"  # the first try and the policy's two retries
    retries = result.events_of_type("STEP_UP_FOR_RETRY")
    assert [e.message for e in retries] == [
        "'checked' failed (3 rows have no customer); retry 1 of 2 in 0s",
        "'checked' failed (3 rows have no customer); retry 2 of 2 in 0s",
    ]
    (failure,) = result.get_step_failure_events()
    assert failure.metadata["bad_rows"] == MetadataValue.int(3)


def test_a_failure_without_a_policy_is_not_retried(tmp_path: Path) -> None:
    @asset
    def plain() -> None:
        raise Failure("stop")

    result = materialize([plain], raise_on_error=False)

    assert result.events_of_type("STEP_UP_FOR_RETRY") == []
    (failure,) = result.get_step_failure_events()
    assert (failure.message, failure.metadata) == ("'plain' failed: stop", {})


def test_a_failure_without_a_description_still_says_what_failed() -> None:
    @asset
    def silent() -> None:
        raise Failure()

    result = materialize([silent], raise_on_error=False)

    (failure,) = result.get_step_failure_events()
    assert failure.message == "'silent' failed: Failure raised without a description"


def test_raise_on_error_names_the_description() -> None:
    @asset
    def strict() -> None:
        raise Failure("the feed is empty", metadata={"rows": 0})

    with pytest.raises(RunFailedError, match="failed: strict") as caught:
        materialize([strict])
    assert "Failure: the feed is empty" in str(caught.value)


def test_a_failure_in_an_op_with_allow_retries_false_passes_over_both_policies() -> None:
    attempts: list[int] = []

    @op(retry_policy=RetryPolicy(max_retries=3))
    def validate() -> int:
        attempts.append(1)
        raise Failure("schema changed", metadata={"column": "amount"}, allow_retries=False)

    @graph_asset(retry_policy=RetryPolicy(max_retries=2))
    def validated():
        return validate()

    result = materialize([validated], raise_on_error=False)

    assert attempts == [1]
    (failure,) = result.get_step_failure_events()
    assert failure.message == "'validated' failed: schema changed"
    assert failure.metadata == {"column": MetadataValue.text("amount")}


def test_a_failure_in_an_op_that_allows_retries_is_retried_by_the_op_policy() -> None:
    attempts: list[int] = []

    @op(retry_policy=RetryPolicy(max_retries=1))
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise Failure("not yet")
        return 5

    @graph_asset
    def steady():
        return flaky()

    assert materialize([steady]).asset_value("steady") == 5
    assert attempts == [1, 1]


def test_the_arguments_as_the_reference_keeps_them() -> None:
    default = Failure()
    assert (default.description, default.metadata, default.allow_retries) == (None, {}, True)

    failure = Failure("bad", metadata={"rows": 3, "ok": True}, allow_retries=False)
    assert str(failure) == "bad"
    assert failure.metadata == {"rows": MetadataValue.int(3), "ok": MetadataValue.bool(True)}
    assert failure.allow_retries is False
    # As in the reference, an Exception that steers the step, like RetryRequested; no SDK error.
    assert Failure.__mro__[1:] == RetryRequested.__mro__[1:] == (Exception, BaseException, object)
    assert not issubclass(Failure, TesseraError)


def test_a_failure_goes_through_direct_invocation_as_it_is() -> None:
    @asset
    def called() -> None:
        raise Failure("direct", allow_retries=False)

    with pytest.raises(Failure, match="direct") as caught:
        called()
    assert caught.value.allow_retries is False
