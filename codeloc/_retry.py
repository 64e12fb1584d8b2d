"""Retry policies for steps that fail, and the exceptions user code raises to fail its step
(``Failure``) or to ask for a retry (``RetryRequested``)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from codeloc._metadata import MetadataValue, normalize_metadata

__all__ = ["Backoff", "Failure", "Jitter", "RetryPolicy", "RetryRequested"]


class Backoff(Enum):
    """How the delay grows with the retry number ``n``.

    ``LINEAR`` waits ``n * delay``; ``EXPONENTIAL`` waits ``(2 ** n - 1) * delay``.
    """

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """Randomness added after the backoff, so that retries of many steps do not stampede.

    ``FULL`` waits between 0 and the backed-off delay; ``PLUS_MINUS`` waits the backed-off delay
    plus or minus up to one ``delay``.
    """

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry a failed step up to ``max_retries`` times, waiting ``delay`` seconds between tries.

    Args:
        max_retries: how many times to retry after the first failure.
        delay: the base delay in seconds (``None`` means no delay).
        backoff: how the delay grows with each attempt; needs ``delay``.
        jitter: randomness applied to the delay; needs ``delay``.
    """

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("RetryPolicy.max_retries must be >= 0")
        if self.delay is not None and self.delay < 0:
            raise ValueError("RetryPolicy.delay must be >= 0")
        # Without a base delay there is nothing to grow or randomize: refuse the policy rather
        # than silently retry at once.
        for name, value in (("backoff", self.backoff), ("jitter", self.jitter)):
            if value is not None and self.delay is None:
                raise ValueError(
                    f"RetryPolicy.{name}={value.name} needs a delay: set delay= as well"
                )

    def calculate_delay(self, attempt_num: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt_num`` (1 for the first retry).

        The backoff is applied first, then the jitter; the result is never negative.
        """
        delay = self.delay or 0.0
        if self.backoff is Backoff.EXPONENTIAL:
            backed_off = (2.0**attempt_num - 1) * delay
        elif self.backoff is Backoff.LINEAR:
            backed_off = delay * attempt_num
        else:
            backed_off = delay
        rng = rng or random.Random()
        if self.jitter is Jitter.FULL:
            return rng.random() * backed_off
        if self.jitter is Jitter.PLUS_MINUS:
            return max(0.0, backed_off + (rng.random() * 2 - 1) * delay)
        return backed_off


class RetryRequested(Exception):
    """Raised by user code to have its step run again.

    The step is retried while fewer than ``max_retries`` retries have happened, waiting
    ``seconds_to_wait`` seconds first; then it fails. It takes the place of the step's
    ``RetryPolicy`` for that failure. Raise it ``from`` the error that caused it so the cause
    is reported.
    """

    def __init__(self, max_retries: int = 1, seconds_to_wait: float | None = None) -> None:
        if max_retries < 0:
            raise ValueError("RetryRequested.max_retries must be >= 0")
        if seconds_to_wait is not None and seconds_to_wait < 0:
            raise ValueError("RetryRequested.seconds_to_wait must be >= 0")
        super().__init__(max_retries, seconds_to_wait)
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait

    def __str__(self) -> str:
        wait = f", waiting {self.seconds_to_wait:g}s" if self.seconds_to_wait else ""
        return f"retry requested (at most {self.max_retries}{wait})"


class Failure(Exception):
    """Raised by user code to fail its step on purpose, with a message and metadata.

    The step fails with ``description`` as its failure message, and ``metadata`` goes on its
    ``STEP_FAILURE`` event. With ``allow_retries=False`` the step's ``RetryPolicy`` is not
    applied: the step fails at once.

    Args:
        description: what went wrong, in words for the person reading the run.
        metadata: values to show with the failure, as for a materialization's metadata.
        allow_retries: whether the step's ``RetryPolicy`` may retry it.
    """

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)
        self.allow_retries = allow_retries
