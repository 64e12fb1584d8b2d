"""Executing a plan: the run's first and last events, and the executor that runs its steps.

Three executors, one loop over a ``StepScheduler``: this process, one step at a time
(``in_process``); child processes of this one, side by side (``multiprocess``, in
``_multiprocess``); Celery workers anywhere (``celery``, in ``_celery``).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from contextlib import ExitStack

from codeloc._errors import ResourceSetupError, TesseraError
from codeloc._key import AssetKey
from codeloc._runs import Event, EventType, ExecutorName
from codeloc._step_logs import capture_installed
from codeloc.engine._celery import execute_with_celery
from codeloc.engine._multiprocess import execute_in_processes
from codeloc.engine._plan import ExecutionPlan
from codeloc.engine._resources import resources_set_up
from codeloc.engine._run import RunContext
from codeloc.engine._scheduler import RunOutcome, StepScheduler
from codeloc.engine._step import execute_step

__all__ = ["execute_in_process", "execute_plan", "run_plan"]


def run_plan(
    plan: ExecutionPlan,
    run: RunContext,
    *,
    executor: ExecutorName = "in_process",
    max_concurrent: int | None = None,
    known_versions: Mapping[AssetKey, str] | None = None,
) -> RunOutcome:
    """Execute ``plan`` between a ``RUN_START`` and a ``RUN_SUCCESS`` or ``RUN_FAILURE`` event."""
    keys = ", ".join(k.to_user_string() for k in plan.asset_keys)
    run.emit(Event(EventType.RUN_START, run.run_id, message=f"materializing {keys}"))
    outcome = execute_plan(
        plan, run, executor=executor, max_concurrent=max_concurrent, known_versions=known_versions
    )
    if outcome.success:
        run.emit(Event(EventType.RUN_SUCCESS, run.run_id, message="run succeeded"))
    else:
        parts = [outcome.error] if outcome.error else []
        if outcome.failed:
            parts.append(f"failed: {', '.join(outcome.failed)}")
        if outcome.skipped:
            parts.append(f"skipped: {', '.join(outcome.skipped)}")
        run.emit(Event(EventType.RUN_FAILURE, run.run_id, level="ERROR", message="; ".join(parts)))
    return outcome


def execute_plan(
    plan: ExecutionPlan,
    run: RunContext,
    *,
    executor: ExecutorName = "in_process",
    max_concurrent: int | None = None,
    known_versions: Mapping[AssetKey, str] | None = None,
) -> RunOutcome:
    """Execute every step of ``plan``; a failed step's downstream steps are skipped.

    A multiprocess run of a single step runs it in this process: there is nothing to run
    beside it. In this process the run's resources are set up once, before the first step,
    and torn down after the last; a resource that does not set up fails the run before any
    step starts. Other executors set them up in the process of each step.
    """
    if executor == "celery" or (executor == "multiprocess" and len(plan.steps) > 1):
        for key, manager in run.io_managers.items():
            if not manager.persistent:
                raise TesseraError(
                    f"the {executor} executor needs IO managers that store values outside "
                    f"the process; '{key}' is {type(manager).__name__}"
                )
        if executor == "celery":
            return execute_with_celery(plan, run, known_versions)
        return execute_in_processes(plan, run, max_concurrent, known_versions)
    with ExitStack() as stack:
        try:
            live = stack.enter_context(resources_set_up(run, plan.steps))
        except ResourceSetupError as exc:
            run.emit(
                Event(
                    EventType.ENGINE_EVENT,
                    run.run_id,
                    level="ERROR",
                    message=f"no step started: {exc}",
                    error="".join(traceback.format_exception(exc)).rstrip(),
                )
            )
            skipped = tuple(step.key for step in plan.steps)
            return RunOutcome((), (), skipped, {}, error=str(exc))
        return execute_in_process(plan, live, known_versions)


def execute_in_process(
    plan: ExecutionPlan, run: RunContext, known_versions: Mapping[AssetKey, str] | None
) -> RunOutcome:
    """Run the steps of ``plan`` in this process, one at a time, in plan order."""
    steps = StepScheduler(plan, run, known_versions, one_at_a_time=True)
    with capture_installed():
        while ready := steps.ready():
            for step in ready:
                steps.finish(step.key, execute_step(run, step, steps.versions))
    return steps.outcome()
