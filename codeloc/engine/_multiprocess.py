"""The multiprocess executor: the steps of a run in parallel child processes of the run.

The children are forked, so that they have the plan and the run as they are: both hold
functions, which cannot be pickled. The pool's initializer receives them, and fork hands
the initializer's arguments to each child as they are in memory, never pickled (with the
fork start method, ``ProcessPoolExecutor`` starts every child at the first ``submit`` and
none later, from a ``Process`` whose arguments they are). Each child keeps them for the run
of its own pool, so that several runs of one process never see each other's plan.

What crosses between the processes is small and picklable: a step's key and the data
versions it may read, its ``StepOutcome`` back, and its events, through a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack
from typing import Any

from codeloc._errors import ResourceSetupError, RunInterrupted
from codeloc._key import AssetKey
from codeloc._lifeline import die_with_parent
from codeloc.engine._plan import ExecutionPlan, Step
from codeloc.engine._resources import resources_set_up, setup_failed
from codeloc.engine._run import RunContext
from codeloc.engine._scheduler import RunOutcome, StepScheduler
from codeloc.engine._step import StepOutcome, execute_step

__all__ = ["execute_in_processes"]

#: How long the run waits for a step to finish before it forwards the events so far.
EVENT_POLL_SECONDS = 0.05


def execute_in_processes(
    plan: ExecutionPlan,
    run: RunContext,
    max_concurrent: int | None,
    known_versions: Mapping[AssetKey, str] | None,
) -> RunOutcome:
    """Run the steps of ``plan`` in up to ``max_concurrent`` child processes (default: one
    per CPU), each as soon as its upstream steps have succeeded."""
    workers = max(1, min(max_concurrent or os.cpu_count() or 2, len(plan.steps)))
    ctx = multiprocessing.get_context("fork")
    # A SimpleQueue writes synchronously: once a step's future is done, all of the step's
    # events are already in the pipe, so they are emitted in order.
    events: Any = ctx.SimpleQueue()
    steps = StepScheduler(plan, run, known_versions)
    running: dict[Future[StepOutcome], str] = {}

    def forward_events() -> None:
        while not events.empty():
            run.emit(events.get())

    try:
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_start_child, initargs=(plan, run, events)
        ) as pool:

            def submit(ready: list[Step]) -> None:
                for step in ready:
                    future = pool.submit(_run_step_in_child, step.key, dict(steps.versions))
                    running[future] = step.key

            submit(steps.ready())
            while running:
                finished, _ = wait(
                    list(running), timeout=EVENT_POLL_SECONDS, return_when=FIRST_COMPLETED
                )
                forward_events()
                for future in finished:
                    key = running.pop(future)
                    outcome = future.result()
                    forward_events()
                    steps.finish(key, outcome)
                    submit(steps.ready())
        forward_events()
    finally:
        events.close()
    return steps.outcome()


# -- in a child ---------------------------------------------------------------------------------

# The run of this child's pool: set once by ``_start_child`` in the child, never in the run's
# own process.
_child_run: tuple[ExecutionPlan, RunContext] | None = None


def _start_child(plan: ExecutionPlan, run: RunContext, events: Any) -> None:
    global _child_run
    # A step must not go on after its run's process: nothing would collect its outcome.
    # The pool forks its children in the thread that holds it open until they end.
    die_with_parent()
    # The parent decides when a run stops; children end with the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _child_run = (plan, run.emitting_to(events.put))


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise RunInterrupted(f"interrupted by signal {signum}")


def _run_step_in_child(step_key: str, versions: dict[AssetKey, str]) -> StepOutcome:
    assert _child_run is not None, "a step runs only in a child started by _start_child"
    plan, run = _child_run
    step = plan.step_by_key[step_key]
    # Each step has its own process, as in Dagster: the resources it uses are set up here.
    with ExitStack() as stack:
        try:
            live = stack.enter_context(resources_set_up(run, [step]))
        except ResourceSetupError as exc:
            return setup_failed(run, step, exc)
        return execute_step(live, step, versions)
