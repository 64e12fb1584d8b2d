"""Retry policies for steps that fail."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

__all__ = ["Backoff", "Jitter", "RetryPolicy"]


class Backoff(Enum):
    """How the delay grows between retries."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(Enum):
    """Randomness added to the delay, so that retries of many steps do not stampede."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry a failed step up to ``max_retries`` times, waiting ``delay`` seconds between tries.

    Args:
        max_retries: how many times to retry after the first failure.
        delay: the base delay in seconds (``None`` means no delay).
        backoff: how the delay grows with each attempt.
        jitter: randomness applied to the delay.
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

    def delay_for(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if not self.delay:
            return 0.0
        if self.backoff is Backoff.EXPONENTIAL:
            base = self.delay * 2.0 ** (attempt - 1)
        elif self.backoff is Backoff.LINEAR:
            base = self.delay * attempt
        else:
            base = self.delay
        rng = rng or random.Random()
        if self.jitter is Jitter.FULL:
            return rng.random() * base
        if self.jitter is Jitter.PLUS_MINUS:
            return max(0.0, base + (rng.random() * 2 - 1) * self.delay)
        return base
