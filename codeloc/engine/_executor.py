"""Executors: run the steps of a plan in process, or in parallel child processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from codeloc._errors import RunInterrupted, TesseraError
from codeloc._key import AssetKey
from codeloc._runs import Event, EventType, ExecutorName
from codeloc.engine._plan import ExecutionPlan, Step
from codeloc.engine._step import RunContext, StepOutcome, execute_step

__all__ = ["RunOutcome", "execute_plan"]


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


def execute_plan(
    plan: ExecutionPlan,
    run: RunContext,
    *,
    executor: ExecutorName = "in_process",
    max_concurrent: int | None = None,
    known_versions: Mapping[AssetKey, str] | None = None,
) -> RunOutcome:
    """Execute every step of ``plan``; a failed step's downstream steps are skipped."""
    if executor == "celery" or (executor == "multiprocess" and len(plan.steps) > 1):
        for key, manager in run.io_managers.items():
            if not manager.persistent:
                raise TesseraError(
                    f"the {executor} executor needs IO managers that store values outside "
                    f"the process; '{key}' is {type(manager).__name__}"
                )
        if executor == "celery":
            from codeloc.engine._celery import execute_with_celery

            return execute_with_celery(plan, run, known_versions)
        return _MultiprocessRun(plan, run, max_concurrent, known_versions).execute()
    return _execute_in_process(plan, run, known_versions)


def _execute_in_process(
    plan: ExecutionPlan, run: RunContext, known_versions: Mapping[AssetKey, str] | None
) -> RunOutcome:
    versions: dict[AssetKey, str] = dict(known_versions or {})
    done: list[str] = []
    failed: list[str] = []
    skipped: dict[str, str] = {}
    for step in plan.steps:
        blocker = _blocker(step, failed, skipped)
        if blocker is not None:
            skipped[step.key] = blocker
            _emit_skip(run, step, blocker)
            continue
        outcome = execute_step(run, step, versions)
        if outcome.success:
            versions.update(outcome.data_versions)
            done.append(step.key)
        else:
            failed.append(step.key)
    return RunOutcome(tuple(done), tuple(failed), tuple(skipped), versions)


def _blocker(step: Step, failed: list[str], skipped: Mapping[str, str]) -> str | None:
    for up in step.upstream_steps:
        if up in failed:
            return up
        if up in skipped:
            return skipped[up]
    return None


def _emit_skip(run: RunContext, step: Step, failed_step: str) -> None:
    run.emit(
        Event(
            EventType.ENGINE_EVENT,
            run.run_id,
            level="WARNING",
            step_key=step.key,
            message=f"skipped '{step.key}': upstream step '{failed_step}' failed",
        )
    )


def _release(
    plan: ExecutionPlan,
    run: RunContext,
    key: str,
    failed: list[str],
    skipped: dict[str, str],
    downstream: Mapping[str, list[str]],
    waiting: dict[str, int],
) -> list[str]:
    """``key`` has all its upstream steps finished: the steps to start now - ``key``, or,
    when an upstream step failed, none: ``key`` is skipped, and so is what waits on it."""
    step = plan.step_by_key[key]
    blocker = _blocker(step, failed, skipped)
    if blocker is None:
        return [key]
    skipped[key] = blocker
    _emit_skip(run, step, blocker)
    ready: list[str] = []
    for child in downstream[key]:
        waiting[child] -= 1
        if waiting[child] == 0:
            ready.extend(_release(plan, run, child, failed, skipped, downstream, waiting))
    return ready


# -- the multiprocess executor ----------------------------------------------------------------

# Set in the parent just before the pool forks, read by the children: the plan and the run
# cannot be pickled (they hold functions), but fork hands them over as they are.
_FORKED: tuple[ExecutionPlan, RunContext, Any] | None = None


def _child_init() -> None:
    # The parent decides when a run stops; children end with the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise RunInterrupted(f"interrupted by signal {signum}")


def _child_run_step(step_key: str, versions: dict[AssetKey, str]) -> StepOutcome:
    assert _FORKED is not None
    plan, parent_run, events = _FORKED
    run = RunContext(
        run_id=parent_run.run_id,
        run_config=parent_run.run_config,
        resources=parent_run.resources,
        io_managers=parent_run.io_managers,
        emit=events.put,
        tags=parent_run.tags,
        stored_by=parent_run.stored_by,
        sleep=parent_run.sleep,
    )
    return execute_step(run, plan.step_by_key[step_key], versions)


class _MultiprocessRun:
    def __init__(
        self,
        plan: ExecutionPlan,
        run: RunContext,
        max_concurrent: int | None,
        known_versions: Mapping[AssetKey, str] | None,
    ) -> None:
        self.plan = plan
        self.run = run
        self.workers = max(1, min(max_concurrent or os.cpu_count() or 2, len(plan.steps)))
        self.versions: dict[AssetKey, str] = dict(known_versions or {})

    def execute(self) -> RunOutcome:
        global _FORKED
        ctx = multiprocessing.get_context("fork")
        # A SimpleQueue writes synchronously: once a step's future is done, all of the
        # step's events are already in the pipe, so they are emitted in order.
        events: Any = ctx.SimpleQueue()
        _FORKED = (self.plan, self.run, events)
        downstream = self.plan.downstream_of()
        waiting = {s.key: len(s.upstream_steps) for s in self.plan.steps}
        done: list[str] = []
        failed: list[str] = []
        skipped: dict[str, str] = {}
        running: dict[Future[StepOutcome], str] = {}
        try:
            with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_child_init) as pool:
                ready = [k for k, n in waiting.items() if n == 0]
                while ready or running:
                    for key in ready:
                        running[pool.submit(_child_run_step, key, dict(self.versions))] = key
                    ready = []
                    finished, _ = wait(list(running), timeout=0.05, return_when=FIRST_COMPLETED)
                    self._drain(events)
                    for future in finished:
                        key = running.pop(future)
                        outcome = future.result()
                        self._drain(events)
                        if outcome.success:
                            done.append(key)
                            self.versions.update(outcome.data_versions)
                        else:
                            failed.append(key)
                        for child in downstream[key]:
                            waiting[child] -= 1
                            if waiting[child] == 0:
                                ready.extend(
                                    _release(
                                        self.plan,
                                        self.run,
                                        child,
                                        failed,
                                        skipped,
                                        downstream,
                                        waiting,
                                    )
                                )
            self._drain(events)
        finally:
            _FORKED = None
            events.close()
        return RunOutcome(tuple(done), tuple(failed), tuple(skipped), self.versions)

    def _drain(self, events: Any) -> None:
        emit: Callable[[Event], None] = self.run.emit
        while not events.empty():
            emit(events.get())
