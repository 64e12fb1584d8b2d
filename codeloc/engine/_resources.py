"""Resource lifecycles: enter each resource a run uses before its steps, leave it after.

A ``ConfigurableResource`` is entered through its ``yield_for_execution`` (by default:
``setup_for_execution``, then ``teardown_after_execution`` on the way out, even when a step
failed), in the order the resources are given (a resource after those it requires), and
left in reverse; a ``ResourceDefinition`` (``@resource``, ``@io_manager``) through its
function, a generator's code after ``yield`` being the teardown. IO managers are resources:
those the steps store and load with are set up with the rest.

Where that happens follows where the steps run: once per run for the in-process
executor, once per step in the process that runs it for the multiprocess and Celery
executors, as each of those processes has its own copy of the resource.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from functools import partial
from types import SimpleNamespace
from typing import Any

from codeloc._errors import ResourceSetupError
from codeloc._io_manager import IOManager
from codeloc._resource_def import InitResourceContext, ResourceDefinition
from codeloc._runs import Event, EventType
from codeloc.engine._io_contexts import step_io_manager_keys
from codeloc.engine._plan import Step
from codeloc.engine._run import RunContext, resolve_resources
from codeloc.engine._step import StepOutcome

__all__ = ["build_resources", "resources_set_up", "setup_failed"]

log = logging.getLogger(__name__)


@contextmanager
def resources_set_up(
    run: RunContext, steps: Iterable[Step], *, io_manager_keys: Iterable[str] = ()
) -> Iterator[RunContext]:
    """``run`` with the resources ``steps`` use set up, torn down when the block ends.

    A step uses the resources it requires and the IO managers of its outputs and inputs
    (``io_manager_keys`` adds more, for reading a value after a run); a resource that
    requires others (``required_resource_keys``) is set up after them. Raises
    ``ResourceSetupError`` naming the resource whose setup raised (the resources set up
    before it are torn down first), or whose IO manager key built no ``IOManager``.
    """
    io_keys = set(io_manager_keys)
    used: set[str] = set()
    for step in steps:
        used |= step.definition.required_resource_keys
        io_keys |= step_io_manager_keys(run, step)
    used |= io_keys
    io_managers = dict(run.io_managers)
    with ExitStack() as stack:
        order = _setup_order(run.resources, used)
        report = partial(_teardown_failed, run)
        live, configs = _enter(stack, run.resources, order, run.run_id, report)
        live = {**run.resources, **live}
        configs = {**run.resource_configs, **configs}
        for key in order:
            if key in io_keys:
                manager = live[key]
                if not isinstance(manager, IOManager):
                    raise ResourceSetupError(
                        f"IO manager '{key}' built {type(manager).__name__}, not an IOManager",
                        key,
                    )
                io_managers[key] = manager
        yield replace(run, resources=live, io_managers=io_managers, resource_configs=configs)


@contextmanager
def build_resources(
    resources: Mapping[str, Any], resource_config: Mapping[str, Any] | None = None
) -> Iterator[SimpleNamespace]:
    """Set up ``resources`` outside a run, as a test or a script does; tear them down on exit.

    Yields a namespace with one attribute per key: what each resource built (a
    ``@resource`` function's return or yield, a ``ConfigurableResource`` itself or what its
    ``yield_for_execution`` yields); a value that is neither is handed over as it is.
    ``resource_config`` configures them as run config does: ``{key: {"config": {...}}}``.
    Each is set up after those it requires and torn down in reverse when the block ends,
    even when it raised; a teardown that raises is logged (``codeloc.engine._resources``),
    not raised, as in a run. Raises ``ResourceSetupError`` naming the resource whose config does
    not fit or whose setup raised (those set up before it are torn down first).
    """
    resolved = resolve_resources(resources, {"resources": dict(resource_config or {})})
    with ExitStack() as stack:
        order = _setup_order(resolved, set(resolved))
        live, _ = _enter(stack, resolved, order, None, _teardown_logged)
        yield SimpleNamespace(**{key: live.get(key, resolved[key]) for key in resolved})


def _enter(
    stack: ExitStack,
    resources: Mapping[str, Any],
    order: Iterable[str],
    run_id: str | None,
    report: Callable[[str, Exception], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set up the resources of ``order``, in that order, on ``stack``: what each built, and
    the config each was built with (for the resources that are definitions)."""
    # A configurable resource exists only where its module was imported: no need to import it.
    config_module = sys.modules.get("codeloc._config")
    resource_base = getattr(config_module, "ConfigurableResource", ())
    live: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    for key in order:
        resource = resources[key]
        if isinstance(resource, ResourceDefinition):
            # A config that does not fit the schema raises ResourceSetupError here.
            configs[key] = resource.resource_config(key)
            needs = {k: live.get(k, resources[k]) for k in resource.required_resource_keys}
            hooks = resource.for_execution(run_id, key, needs)
            live[key] = stack.enter_context(_lifecycle(report, key, hooks))
        elif isinstance(resource, resource_base):
            resource = resource._for_execution(key)
            configs[key] = resource.model_dump()
            context = InitResourceContext(run_id, key, configs[key])
            hooks = resource.yield_for_execution(context)
            value = stack.enter_context(_lifecycle(report, key, hooks))
            # A bare ``yield`` (None) hands the steps the resource itself.
            live[key] = resource if value is None else value
    return live, configs


def _setup_order(resources: Mapping[str, Any], used: set[str]) -> list[str]:
    """The keys of ``used`` and of the resources they require, each after what it requires,
    otherwise in the order ``resources`` has them.

    Raises ``ResourceSetupError`` for a required resource that is not there.
    """
    order: dict[str, None] = {}
    visiting: set[str] = set()

    def visit(key: str, needed_by: str | None) -> None:
        if key in order:
            return
        if key not in resources:
            raise ResourceSetupError(
                f"resource '{needed_by}' requires resource '{key}', which is not provided", key
            )
        if key in visiting:
            raise ResourceSetupError(f"resource '{key}' requires itself, through others", key)
        visiting.add(key)
        for needed in sorted(getattr(resources[key], "required_resource_keys", ())):
            visit(needed, key)
        order[key] = None

    for key in resources:
        if key in used:
            visit(key, None)
    return list(order)


@contextmanager
def _lifecycle(
    report: Callable[[str, Exception], None], key: str, hooks: AbstractContextManager[Any]
) -> Iterator[Any]:
    """``hooks`` entered and left; a teardown that raises is reported, not raised: the steps
    have ended by then, and what they did stands."""
    try:
        value = hooks.__enter__()
    except Exception as exc:
        raise ResourceSetupError(
            f"resource '{key}' failed to set up: {type(exc).__name__}: {exc}", key
        ) from exc
    try:
        yield value
    except BaseException as failure:
        try:
            suppressed = hooks.__exit__(type(failure), failure, failure.__traceback__)
        except Exception as exc:
            if exc is failure:
                raise
            report(key, exc)
            suppressed = False
        if not suppressed:
            raise
    else:
        try:
            hooks.__exit__(None, None, None)
        except Exception as exc:
            report(key, exc)


def _teardown_logged(key: str, exc: Exception) -> None:
    """Outside a run there is no event log: a failed teardown goes to the module's logger,
    and the block's result stands, as in a run."""
    log.error(
        "resource '%s' failed to tear down: %s: %s", key, type(exc).__name__, exc, exc_info=exc
    )


def _teardown_failed(run: RunContext, key: str, exc: Exception) -> None:
    run.emit(
        Event(
            EventType.ENGINE_EVENT,
            run.run_id,
            level="ERROR",
            message=f"resource '{key}' failed to tear down: {type(exc).__name__}: {exc}",
            error="".join(traceback.format_exception(exc)).rstrip(),
        )
    )


def setup_failed(run: RunContext, step: Step, exc: ResourceSetupError) -> StepOutcome:
    """Report ``step`` failed because a resource it uses did not set up; it did not start."""
    run.emit(
        Event(
            EventType.STEP_FAILURE,
            run.run_id,
            level="ERROR",
            step_key=step.key,
            message=f"'{step.key}' did not start: {exc}",
            error="".join(traceback.format_exception(exc)).rstrip(),
        )
    )
    return StepOutcome(False, {}, str(exc))
