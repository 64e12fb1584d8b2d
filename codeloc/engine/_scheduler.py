"""The bookkeeping of a run's steps: which may start, which are skipped, how the run ended.

Every executor runs the same loop over a ``StepScheduler``: start what is ready, and each
time a step finishes, tell the scheduler and start what is ready then. A step is released
when all of its upstream steps have ended; it is skipped instead of started when one of them
failed or was skipped, and the skip is reported as an ``ENGINE_EVENT``
(``skipped 'b': upstream step 'a' failed``, naming the step that failed).

A step whose upstream asset was not materialized — an optional output its step did not
give — is passed over instead: it does not run, a ``STEP_SKIPPED`` event says which asset
it missed, the steps below it are passed over in turn, and the run still succeeds.

When a skip is reported depends on the executor, as a person watching would expect:

- side by side (multiprocess, Celery), as soon as the failure is known: the steps that a
  failed step releases are looked at in plan order, and a skip goes down at once, depth
  first, through each step below it as it gets released;
- one at a time (in process), when the run gets to it: every step, skipped ones included,
  is looked at in plan order.
"""

from __future__ import annotations

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
    error: str | None = None
    """Why the run failed before any step ran (a resource that did not set up)."""
    passed_over: tuple[str, ...] = ()
    """Steps not run because an upstream asset was not materialized: no failure."""

    @property
    def success(self) -> bool:
        return not self.failed and not self.skipped


class StepScheduler:
    """Which steps of ``plan`` may start; what each finished step releases or skips.

    With ``one_at_a_time``, for an executor that runs one step at a time, ``ready()``
    gives at most one step: the next in plan order that may start.
    """

    def __init__(
        self,
        plan: ExecutionPlan,
        run: RunContext,
        known_versions: Mapping[AssetKey, str] | None = None,
        *,
        one_at_a_time: bool = False,
    ) -> None:
        self._plan = plan
        self._run = run
        self._one_at_a_time = one_at_a_time
        self._downstream = plan.downstream_of()
        self._waiting = {step.key: len(step.upstream_steps) for step in plan.steps}
        self._ready = [step for step in plan.steps if not step.upstream_steps]
        self._next = 0  # one at a time: the position in the plan of the next step to look at
        self._running: set[str] = set()
        self._versions: dict[AssetKey, str] = dict(known_versions or {})
        self._succeeded: list[str] = []
        self._failed: dict[str, None] = {}
        self._skipped: dict[str, str] = {}  # each skipped step, and the failed step it names
        self._passed_over: list[str] = []
        self._absent: set[AssetKey] = set()  # keys of the run that were not materialized

    @property
    def versions(self) -> Mapping[AssetKey, str]:
        """The data versions known so far: those given, and those of the finished steps."""
        return self._versions

    def ready(self) -> list[Step]:
        """The steps to start now, in plan order; each is taken, and must be finished."""
        if self._one_at_a_time:
            ready = self._next_in_plan_order()
        else:
            ready, self._ready = self._ready, []
        self._running.update(step.key for step in ready)
        return ready

    def finish(self, key: str, outcome: StepOutcome) -> None:
        """Note how step ``key`` ended, and release the steps that waited for it last.

        Side by side, a released step that may not start is skipped now, and so, depth
        first, is each step below it as it gets released.
        """
        self._running.remove(key)
        if outcome.success:
            self._succeeded.append(key)
            self._versions.update(outcome.data_versions)
            self._absent.update(outcome.not_materialized)
        else:
            self._failed[key] = None
        if self._one_at_a_time:
            return  # the next steps are looked at in plan order, by ready()
        released = [child for child in self._downstream[key] if self._upstream_done(child)]
        released.reverse()  # popped in plan order
        while released:
            step = self._plan.step_by_key[released.pop()]
            if self._blocker(step) is not None:
                self._skip_down_from(step.key)
            elif (missing := self._missing_input(step)) is None:
                self._ready.append(step)
            else:
                self._pass_over(step, missing)
                below = [c for c in self._downstream[step.key] if self._upstream_done(c)]
                released.extend(reversed(below))

    def outcome(self) -> RunOutcome:
        """How the steps ended (once no step is running and none is ready)."""
        return RunOutcome(
            tuple(self._succeeded),
            tuple(self._failed),
            tuple(self._skipped),
            self._versions,
            passed_over=tuple(self._passed_over),
        )

    def _next_in_plan_order(self) -> list[Step]:
        # Every step before it in the plan has ended, its upstream steps with them.
        assert not self._running, "one step at a time: finish the last one first"
        steps = self._plan.steps
        while self._next < len(steps):
            step = steps[self._next]
            self._next += 1
            if self._blocker(step) is not None:
                self._skip(step.key)
            elif (missing := self._missing_input(step)) is not None:
                self._pass_over(step, missing)
            else:
                return [step]
        return []

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

    def _missing_input(self, step: Step) -> AssetKey | None:
        """An upstream asset of ``step`` that this run did not materialize, if there is one."""
        if not self._absent:
            return None
        keys = step.keys
        for spec in step.definition.specs:
            if spec.key in keys:
                for dep in spec.deps:
                    if dep in self._absent:
                        return dep
        return None

    def _pass_over(self, step: Step, missing: AssetKey) -> None:
        self._passed_over.append(step.key)
        self._absent.update(step.keys)
        run = self._run
        run.emit(
            Event(
                EventType.STEP_SKIPPED,
                run.run_id,
                step_key=step.key,
                message=f"skipped '{step.key}': its upstream asset "
                f"'{missing.to_user_string()}' was not materialized",
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
