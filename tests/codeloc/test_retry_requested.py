"""``RetryRequested`` raised by user code, ``RetryPolicy.calculate_delay`` and policy validation."""

import random
import time
from pathlib import Path

import pytest

from codeloc import (
    AssetExecutionContext,
    Backoff,
    Jitter,
    RetryPolicy,
    RetryRequested,
    asset,
    materialize,
)


def _count(path: Path) -> int:
    """One more attempt, counted in a file so that steps in child processes count too."""
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def requesting(counter: Path, failures: int, max_retries: int, seconds_to_wait: float | None):
    @asset
    def needs_retry(context: AssetExecutionContext) -> int:
        if _count(counter) <= failures:
            try:
                raise ConnectionError("database not up yet")
            except ConnectionError as exc:
                raise RetryRequested(max_retries, seconds_to_wait) from exc
        return context.retry_number

    @asset
    def downstream(needs_retry: int) -> int:
        return needs_retry + 1

    return [needs_retry, downstream]


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_requested_retry_runs_the_step_again(
    tmp_path: Path, storage: Path, executor: str
) -> None:
    counter = tmp_path / "attempts"

    result = materialize(
        requesting(counter, failures=2, max_retries=3, seconds_to_wait=None), executor=executor
    )

    assert result.success
    assert counter.read_text() == "3"
    retries = result.events_of_type("STEP_UP_FOR_RETRY")
    assert [e.step_key for e in retries] == ["needs_retry", "needs_retry"]
    assert "ConnectionError: database not up yet" in retries[0].message
    assert "retry 2 of 3" in retries[1].message
    assert "RetryRequested" in (retries[0].error or "")
    assert result.asset_value("needs_retry") == 2
    assert result.asset_value("downstream") == 3


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_retries_requested_run_out_and_downstream_is_skipped(
    tmp_path: Path, storage: Path, executor: str
) -> None:
    counter = tmp_path / "attempts"

    result = materialize(
        requesting(counter, failures=10, max_retries=2, seconds_to_wait=None),
        executor=executor,
        raise_on_error=False,
    )

    assert not result.success
    assert counter.read_text() == "3"  # the first try and two retries
    assert len(result.events_of_type("STEP_UP_FOR_RETRY")) == 2
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "needs_retry"
    assert "exceeded max_retries of 2" in failure.message
    assert "ConnectionError: database not up yet" in failure.message
    assert result.outcome.failed == ("needs_retry",)
    assert result.outcome.skipped == ("downstream",)


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_a_requested_retry_waits_seconds_to_wait(
    tmp_path: Path, storage: Path, executor: str
) -> None:
    counter = tmp_path / "attempts"

    started = time.monotonic()
    result = materialize(
        requesting(counter, failures=1, max_retries=1, seconds_to_wait=0.4), executor=executor
    )
    elapsed = time.monotonic() - started

    assert result.success
    assert elapsed >= 0.4
    (retry,) = result.events_of_type("STEP_UP_FOR_RETRY")
    assert "in 0.4s" in retry.message


def test_a_requested_retry_takes_the_place_of_the_policy(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"

    @asset(retry_policy=RetryPolicy(max_retries=5))
    def asks_for_none() -> None:
        _count(counter)
        raise RetryRequested(max_retries=0)

    result = materialize([asks_for_none], raise_on_error=False)

    assert not result.success
    assert counter.read_text() == "1"
    assert result.events_of_type("STEP_UP_FOR_RETRY") == []
    (failure,) = result.get_step_failure_events()
    assert "exceeded max_retries of 0" in failure.message


def test_retry_requested_defaults_and_validation() -> None:
    request = RetryRequested()
    assert (request.max_retries, request.seconds_to_wait) == (1, None)
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        RetryRequested(max_retries=-1)
    with pytest.raises(ValueError, match="seconds_to_wait must be >= 0"):
        RetryRequested(seconds_to_wait=-1)


def test_calculate_delay_without_jitter() -> None:
    assert RetryPolicy().calculate_delay(1) == 0
    assert [RetryPolicy(delay=0.5).calculate_delay(n) for n in (1, 2, 3)] == [0.5, 0.5, 0.5]
    linear = RetryPolicy(delay=0.5, backoff=Backoff.LINEAR)
    assert [linear.calculate_delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    exponential = RetryPolicy(delay=0.5, backoff=Backoff.EXPONENTIAL)  # (2 ** n - 1) * delay
    assert [exponential.calculate_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 3.5, 7.5]


def test_calculate_delay_with_jitter_stays_in_range() -> None:
    rng = random.Random(3)
    full = RetryPolicy(delay=1.0, backoff=Backoff.LINEAR, jitter=Jitter.FULL)
    delays = [full.calculate_delay(2, rng) for _ in range(200)]
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 1

    plus_minus = RetryPolicy(delay=1.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
    delays = [plus_minus.calculate_delay(2, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)  # 3.0 plus or minus the delay
    assert len(set(delays)) > 1
    # without an rng, the module's randomness is used
    assert 0.0 <= full.calculate_delay(1) <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"backoff": Backoff.EXPONENTIAL}, "backoff=EXPONENTIAL"),
        ({"jitter": Jitter.FULL}, "jitter=FULL"),
        ({"backoff": Backoff.LINEAR, "jitter": Jitter.PLUS_MINUS}, "backoff=LINEAR"),
    ],
)
def test_backoff_or_jitter_without_a_delay_is_refused(kwargs: dict, named: str) -> None:
    with pytest.raises(ValueError, match=rf"RetryPolicy\.{named} needs a delay"):
        RetryPolicy(max_retries=2, **kwargs)
    assert RetryPolicy(max_retries=2, delay=0, **kwargs).calculate_delay(1) == 0
