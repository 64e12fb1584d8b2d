"""The bookkeeping of a run's steps: which may start, which are skipped, how the run ended.

Every executor runs the same loop over a ``StepScheduler``: start what is ready, and each
time a step finishes, tell the scheduler and start what that released. A step is released
when all of its upstream steps have finished; it is skipped instead of started when one of
them failed or was skipped, and the skip is reported as an ``ENGINE_EVENT``
(``skipped 'b': upstream step 'a' failed``, naming the step that failed).

Two ways to take released steps, for the two kinds of executor:

- ``ready()`` takes every released step at once, for executors that run steps side by side.
  A skip goes down at once through everything below it that waits for nothing else, depth
  first, so the skips are reported as soon as the failure is known.
- ``next_ready()`` takes one step, the first in plan order, for an executor that runs one
  step at a time: every step, skipped ones included, is reached in plan order.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from codeloc._key import AssetKey
from codeloc._runs import Event, EventType
from codeloc.engine._plan import ExecutionPlan, Step
from codeloc.engine._run import RunContext
from codeloc.engine._step import StepOutcome

__all__ = ["RunOutcome", "StepScheduler"]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How the steps of a run ended."""

    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    skipped: tuple[str, ...]
    data_versions: dict[AssetKey, str]

    @property
    def success(self) -> bool:
        return not self.failed and not self.skipped


class StepScheduler:
    """Which steps of ``plan`` may start; what each finished step releases or skips."""

    def __init__(
        self,
        plan: ExecutionPlan,
        run: RunContext,
        known_versions: Mapping[AssetKey, str] | None = None,
    ) -> None:
        self._plan = plan
        self._run = run
        self._position = {step.key: i for i, step in enumerate(plan.steps)}
        self._downstream = plan.downstream_of()
        self._waiting = {step.key: len(step.upstream_steps) for step in plan.steps}
        # Positions in the plan of the released steps not taken yet (a heap: the plan's
        # order is a dependency order, so the first of them in the plan goes first).
        self._released = [i for i, step in enumerate(plan.steps) if not step.upstream_steps]
        self._versions: dict[AssetKey, str] = dict(known_versions or {})
        self._succeeded: list[str] = []
        self._failed: dict[str, None] = {}
        self._skipped: dict[str, str] = {}  # each skipped step, and the failed step it names

    @property
    def versions(self) -> Mapping[AssetKey, str]:
        """The data versions known so far: those given, and those of the finished steps."""
        return self._versions

    def ready(self) -> list[Step]:
        """Take every released step that may start now, in plan order; skip the others,
        and at once every step below them that waits for nothing else."""
        steps: list[Step] = []
        while self._released:
            step = self._plan.steps[heapq.heappop(self._released)]
            if self._blocker(step) is None:
                steps.append(step)
            else:
                self._skip_down_from(step.key)
        return steps

    def next_ready(self) -> Step | None:
        """Take the first released step, in plan order, that may start now; skip the ones
        before it that may not. ``None`` when no step is left to start."""
        while self._released:
            step = self._plan.steps[heapq.heappop(self._released)]
            if self._blocker(step) is None:
                return step
            self._skip(step.key)
            self._release_below(step.key)
        return None

    def finish(self, key: str, outcome: StepOutcome) -> None:
        """Note how step ``key`` ended; the steps it was the last to wait for are released."""
        if outcome.success:
            self._succeeded.append(key)
            self._versions.update(outcome.data_versions)
        else:
            self._failed[key] = None
        self._release_below(key)

    def outcome(self) -> RunOutcome:
        """How the steps ended (call when no step is running and none is ready)."""
        return RunOutcome(
            tuple(self._succeeded), tuple(self._failed), tuple(self._skipped), self._versions
        )

    def _release_below(self, key: str) -> None:
        """``key`` has ended: release the steps that waited for it last."""
        for child in self._downstream[key]:
            if self._upstream_done(child):
                heapq.heappush(self._released, self._position[child])

    def _upstream_done(self, key: str) -> bool:
        """One more upstream step of ``key`` has ended: was it the last?"""
        self._waiting[key] -= 1
        return not self._waiting[key]

    def _skip_down_from(self, key: str) -> None:
        """Skip ``key``, then, depth first, each step below it as it gets released (all of
        them have a skipped upstream step)."""
        self._skip(key)
        below = [iter(self._downstream[key])]
        while below:
            child = next(below[-1], None)
            if child is None:
                below.pop()
            elif self._upstream_done(child):
                self._skip(child)
                below.append(iter(self._downstream[child]))

    def _skip(self, key: str) -> None:
        step = self._plan.step_by_key[key]
        blocker = self._blocker(step)
        assert blocker is not None, f"'{key}' has no failed or skipped upstream step"
        self._skipped[key] = blocker
        run = self._run
        run.emit(
            Event(
                EventType.ENGINE_EVENT,
                run.run_id,
                level="WARNING",
                step_key=key,
                message=f"skipped '{key}': upstream step '{blocker}' failed",
            )
        )

    def _blocker(self, step: Step) -> str | None:
        """The failed step that keeps ``step`` from starting, if one does."""
        for up in step.upstream_steps:
            if up in self._failed:
                return up
            if up in self._skipped:
                return self._skipped[up]
        return None
