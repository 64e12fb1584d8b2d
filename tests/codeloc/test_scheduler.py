"""The step scheduler: what is ready, what a finished step releases or skips, and when."""

from __future__ import annotations

from codeloc import asset, materialize
from codeloc._assets import flatten_assets
from codeloc._graph import AssetGraph
from codeloc._runs import Event, EventType
from codeloc.engine._plan import ExecutionPlan, build_plan
from codeloc.engine._run import RunContext
from codeloc.engine._scheduler import StepScheduler
from codeloc.engine._step import StepOutcome

SUCCEEDED = StepOutcome(True, {})
FAILED = StepOutcome(False, {}, "ValueError: no")


@asset
def fails():
    raise ValueError("no")


@asset
def first_child(fails):
    return fails


@asset
def second_child(fails):
    return fails


@asset
def grandchild(first_child):
    return first_child


@asset
def fine():
    return 1


@asset
def after_fine(fine):
    return fine


ASSETS = [fails, first_child, second_child, grandchild, fine, after_fine]


def plan_and_run(events: list[Event]) -> tuple[ExecutionPlan, RunContext]:
    definitions, specs = flatten_assets(ASSETS)
    graph = AssetGraph(definitions, specs)
    plan = build_plan(graph, list(graph.spec_by_key))
    return plan, RunContext("run", {}, {}, {}, events.append)


def keys(steps: list) -> list[str]:
    return [step.key for step in steps]


def test_the_plan_order_of_these_assets() -> None:
    plan, _ = plan_and_run([])
    # What the tests below take as plan order.
    assert [s.key for s in plan.steps] == [
        "fails",
        "fine",
        "first_child",
        "second_child",
        "after_fine",
        "grandchild",
    ]


def test_side_by_side_a_failure_skips_everything_below_it_at_once_depth_first() -> None:
    events: list[Event] = []
    plan, run = plan_and_run(events)
    steps = StepScheduler(plan, run)

    assert keys(steps.ready()) == ["fails", "fine"]
    assert steps.ready() == []  # taken already
    steps.finish("fails", FAILED)
    assert steps.ready() == []
    assert [(e.type, e.step_key, e.message) for e in events] == [
        (
            EventType.ENGINE_EVENT,
            "first_child",
            "skipped 'first_child': upstream step 'fails' failed",
        ),
        (
            EventType.ENGINE_EVENT,
            "grandchild",
            "skipped 'grandchild': upstream step 'fails' failed",
        ),
        (
            EventType.ENGINE_EVENT,
            "second_child",
            "skipped 'second_child': upstream step 'fails' failed",
        ),
    ]
    assert {e.level for e in events} == {"WARNING"}
    steps.finish("fine", SUCCEEDED)
    assert keys(steps.ready()) == ["after_fine"]
    steps.finish("after_fine", StepOutcome(True, {}))

    outcome = steps.outcome()
    assert outcome.succeeded == ("fine", "after_fine")
    assert outcome.failed == ("fails",)
    assert outcome.skipped == ("first_child", "grandchild", "second_child")
    assert not outcome.success


def test_one_at_a_time_every_step_is_reached_in_plan_order() -> None:
    events: list[Event] = []
    plan, run = plan_and_run(events)
    steps = StepScheduler(plan, run, one_at_a_time=True)

    started = []
    while ready := steps.ready():
        [step] = ready
        started.append(step.key)
        steps.finish(step.key, FAILED if step.key == "fails" else SUCCEEDED)
        # A skip is reported when the run gets to the step, not when the failure is known.
        skipped_so_far = [e.step_key for e in events]
        if step.key == "fine":
            assert skipped_so_far == []

    assert started == ["fails", "fine", "after_fine"]
    assert [e.step_key for e in events] == ["first_child", "second_child", "grandchild"]
    assert steps.outcome().skipped == ("first_child", "second_child", "grandchild")


def test_the_in_process_executor_reports_in_plan_order() -> None:
    result = materialize(ASSETS, raise_on_error=False)

    order = [
        (e.type.value, e.step_key)
        for e in result.all_events
        if e.type in (EventType.STEP_START, EventType.STEP_FAILURE, EventType.ENGINE_EVENT)
    ]
    assert order == [
        ("STEP_START", "fails"),
        ("STEP_FAILURE", "fails"),
        ("STEP_START", "fine"),
        ("ENGINE_EVENT", "first_child"),
        ("ENGINE_EVENT", "second_child"),
        ("STEP_START", "after_fine"),
        ("ENGINE_EVENT", "grandchild"),
    ]
    (failure,) = result.events_of_type("RUN_FAILURE")
    assert failure.message == "failed: fails; skipped: first_child, second_child, grandchild"


def test_known_versions_and_those_of_finished_steps_are_handed_on() -> None:
    from codeloc import AssetKey

    plan, run = plan_and_run([])
    steps = StepScheduler(plan, run, {AssetKey("elsewhere"): "v0"})
    steps.ready()
    steps.finish("fine", StepOutcome(True, {AssetKey("fine"): "v1"}))

    assert dict(steps.versions) == {AssetKey("elsewhere"): "v0", AssetKey("fine"): "v1"}


def test_side_by_side_a_key_not_materialized_passes_over_what_reads_it_at_once() -> None:
    events: list[Event] = []
    plan, run = plan_and_run(events)
    steps = StepScheduler(plan, run)
    assert keys(steps.ready()) == ["fails", "fine"]

    given_nothing = StepOutcome(True, {}, not_materialized=(fails.key,))
    steps.finish("fails", given_nothing)  # as an optional output that was not given
    assert steps.ready() == []
    assert [(e.type, e.step_key) for e in events] == [
        (EventType.STEP_SKIPPED, "first_child"),
        (EventType.STEP_SKIPPED, "grandchild"),
        (EventType.STEP_SKIPPED, "second_child"),
    ]
    assert events[1].message == (
        "skipped 'grandchild': its upstream asset 'first_child' was not materialized"
    )
    steps.finish("fine", SUCCEEDED)
    assert keys(steps.ready()) == ["after_fine"]
    steps.finish("after_fine", SUCCEEDED)

    outcome = steps.outcome()
    assert outcome.success
    assert outcome.passed_over == ("first_child", "grandchild", "second_child")
    assert outcome.skipped == ()


def test_one_at_a_time_a_key_not_materialized_passes_over_in_plan_order() -> None:
    events: list[Event] = []
    plan, run = plan_and_run(events)
    steps = StepScheduler(plan, run, one_at_a_time=True)
    assert keys(steps.ready()) == ["fails"]
    steps.finish("fails", StepOutcome(True, {}, not_materialized=(fails.key,)))
    assert keys(steps.ready()) == ["fine"]
    steps.finish("fine", SUCCEEDED)
    assert keys(steps.ready()) == ["after_fine"]
    assert [e.step_key for e in events] == ["first_child", "second_child"]
    steps.finish("after_fine", SUCCEEDED)
    assert steps.ready() == []
    assert [e.step_key for e in events] == ["first_child", "second_child", "grandchild"]
    assert steps.outcome().success
