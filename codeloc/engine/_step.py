"""Executing one step: load inputs, call the function, store outputs, report, retry."""

from __future__ import annotations

import hashlib
import inspect
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from codeloc._assets import AssetsDefinition
from codeloc._context import AssetExecutionContext
from codeloc._errors import RunInterrupted, TesseraError
from codeloc._key import AssetKey
from codeloc._metadata import MetadataValue
from codeloc._results import MaterializeResult, Output
from codeloc._retry import Failure, RetryPolicy, RetryRequested
from codeloc._runs import AssetMaterialization, Event, EventType
from codeloc._spec import AssetSpec
from codeloc._step_logs import StepLogs, capture_logs
from codeloc.engine._io_contexts import load_input, store_output
from codeloc.engine._plan import Step
from codeloc.engine._run import RunContext, step_config

__all__ = ["StepOutcome", "data_version_of", "execute_step"]

CODE_VERSION_TAG = "tessera/code_version"
DATA_VERSION_TAG = "tessera/data_version"

_NO_VALUE = object()


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How a step ended, and the data versions of what it materialized."""

    success: bool
    data_versions: dict[AssetKey, str]
    error: str | None = None
    not_materialized: tuple[AssetKey, ...] = ()
    """Keys of the step that it did not materialize: optional outputs it did not give."""


@dataclass(slots=True)
class _Produced:
    spec: AssetSpec
    output_name: str
    value: Any
    metadata: dict[str, MetadataValue]
    tags: dict[str, str]
    data_version: str | None


def execute_step(
    run: RunContext, step: Step, input_versions: Mapping[AssetKey, str]
) -> StepOutcome:
    """Run ``step``, retried by its policy or a ``RetryRequested``; report through ``run.emit``.

    A ``Failure`` fails the step with its description and metadata, retried by the policy
    only when it allows retries. ``RunInterrupted`` propagates: a cancel is not a failure to
    retry.
    """
    definition = step.definition
    policy = definition.retry_policy or run.retry_policy
    attempt = 1
    while True:
        run.emit(
            Event(
                EventType.STEP_START,
                run.run_id,
                step_key=step.key,
                message=f"started '{step.key}'" + (f" (attempt {attempt})" if attempt > 1 else ""),
            )
        )
        started = time.perf_counter()
        logs = StepLogs(run.emit, run.run_id, step.key)
        try:
            with capture_logs(logs):
                versions = _attempt(run, step, input_versions, attempt, logs)
        except RunInterrupted:
            raise
        except Exception as exc:
            error = "".join(traceback.format_exception(exc)).rstrip()
            allowed, summary = _retry_terms(exc, policy)
            if attempt <= allowed:
                delay = _retry_delay(exc, policy, attempt)
                run.emit(
                    Event(
                        EventType.STEP_UP_FOR_RETRY,
                        run.run_id,
                        level="WARNING",
                        step_key=step.key,
                        message=f"'{step.key}' failed ({summary}); retry {attempt} of "
                        f"{allowed} in {delay:.3g}s",
                        error=error,
                    )
                )
                if delay:
                    run.sleep(delay)
                attempt += 1
                continue
            if isinstance(exc, RetryRequested):
                summary = f"exceeded max_retries of {allowed} ({summary})"
            run.emit(
                Event(
                    EventType.STEP_FAILURE,
                    run.run_id,
                    level="ERROR",
                    step_key=step.key,
                    message=f"'{step.key}' failed: {summary}",
                    metadata=exc.metadata if isinstance(exc, Failure) else {},
                    error=error,
                )
            )
            return StepOutcome(False, {}, summary)
        run.emit(
            Event(
                EventType.STEP_SUCCESS,
                run.run_id,
                step_key=step.key,
                message=f"'{step.key}' succeeded",
                metadata={
                    "duration_ms": MetadataValue.float((time.perf_counter() - started) * 1e3)
                },
            )
        )
        return StepOutcome(True, versions, not_materialized=_not_given(step, versions))


def _not_given(step: Step, versions: Mapping[AssetKey, str]) -> tuple[AssetKey, ...]:
    if len(versions) == len(step.keys):  # every key was materialized: the common case
        return ()
    return tuple(k for k in step.keys if k not in versions)


def _retry_terms(exc: Exception, policy: RetryPolicy | None) -> tuple[int, str]:
    """How many retries the failure allows, and its one-line summary.

    A ``RetryRequested`` brings its own count, and is summarized by the error it was raised from.
    A ``Failure`` is summarized by its description, and may forbid the policy's retries.
    """
    if isinstance(exc, RetryRequested):
        cause = exc.__cause__
        summary = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        return exc.max_retries, summary
    allowed = policy.max_retries if policy else 0
    if isinstance(exc, Failure):
        summary = exc.description or "Failure raised without a description"
        return (allowed if exc.allow_retries else 0), summary
    return allowed, f"{type(exc).__name__}: {exc}"


def _retry_delay(exc: Exception, policy: RetryPolicy | None, attempt: int) -> float:
    if isinstance(exc, RetryRequested):
        return exc.seconds_to_wait or 0.0
    assert policy is not None
    return policy.calculate_delay(attempt)


def _attempt(
    run: RunContext,
    step: Step,
    input_versions: Mapping[AssetKey, str],
    attempt: int,
    logs: StepLogs,
) -> dict[AssetKey, str]:
    definition = step.definition
    sig = definition.signature
    assert definition.fn is not None
    kwargs: dict[str, Any] = {}
    for inp in definition.inputs:
        kwargs[inp.param] = load_input(run, step, inp, logs)
    op_config = step_config(run.run_config, definition)
    if sig.config_schema is not None:  # classic config: defaults filled in
        op_config = sig.config_schema.validate(op_config, step.key)
    context = AssetExecutionContext(
        run_id=run.run_id,
        asset_keys=step.keys,
        resources=run.resources,
        op_config=op_config,
        logs=logs,
        step_key=step.key,
        run_tags=run.tags,
        attempt=attempt,
        assets_def=definition,
        run_config=run.run_config,
    )
    if sig.context_param:
        kwargs[sig.context_param] = context
    if sig.config_param and sig.config_type is not None:
        from codeloc._config import validate_config

        kwargs[sig.config_param] = validate_config(sig.config_type, op_config, step.key)
    for param, resource_key in sig.resource_params.items():
        kwargs[param] = run.resources[resource_key]

    result = definition.fn(**kwargs)
    produced = _collect_outputs(definition, step, result, context)

    versions: dict[AssetKey, str] = {}
    for item in produced:
        key = item.spec.key
        if item.value is not _NO_VALUE:
            added = store_output(
                run, step, definition, item.spec, item.output_name, item.value, logs
            )
            if added:
                item.metadata = {**item.metadata, **added}
        code_version = item.spec.code_version
        data_version = item.data_version or data_version_of(
            code_version or run.run_id, ((d, input_versions.get(d)) for d in item.spec.deps)
        )
        versions[key] = data_version
        tags = dict(item.tags)
        if code_version is not None:
            tags[CODE_VERSION_TAG] = code_version
        tags[DATA_VERSION_TAG] = data_version
        logs.send(
            Event(
                EventType.ASSET_MATERIALIZATION,
                run.run_id,
                step_key=step.key,
                asset_key=key,
                message=f"materialized '{key.to_user_string()}'",
                metadata=item.metadata,
                materialization=AssetMaterialization(
                    key, item.metadata, tags, code_version, data_version
                ),
            )
        )
    return versions


def _collect_outputs(
    definition: AssetsDefinition, step: Step, result: Any, context: AssetExecutionContext
) -> list[_Produced]:
    """Match what the function returned (or yielded) to the assets it produces.

    A step of a subsettable multi-asset may produce only its selected assets: one more fails
    the step, as in the reference. A tuple (or a single value) of a subset maps onto the
    selected outputs, in order.
    """
    selected = set(step.keys)
    pairs = [(n, s) for n, s in zip(definition.output_names, definition.specs, strict=True)]
    by_name = dict(pairs)
    by_key = {s.key: (n, s) for n, s in pairs}
    if len(selected) < len(pairs):
        in_step = [(n, s) for n, s in pairs if s.key in selected]
        if not isinstance(result, tuple | list) or len(result) != len(pairs):
            pairs = in_step
    names = [n for n, _ in pairs]
    specs = [s for _, s in pairs]
    generated = inspect.isgenerator(result)
    items: list[Any]
    if generated:
        items = list(result)
    elif result is None and definition.outputs_are_none:
        # specs= multi-asset: returning nothing materializes every asset of the step.
        items = [MaterializeResult(asset_key=s.key) for s in specs]
    elif len(specs) == 1:
        items = [result]
    elif isinstance(result, tuple | list) and len(result) == len(specs):
        items = list(result)
    elif result is None:
        items = []
    else:
        items = [result]

    produced: dict[AssetKey, _Produced] = {}
    for index, item in enumerate(items):
        if isinstance(item, MaterializeResult):
            if item.asset_key is not None:
                if item.asset_key not in by_key:
                    raise TesseraError(
                        f"'{step.key}' returned a MaterializeResult for "
                        f"'{item.asset_key.to_user_string()}', which it does not produce"
                    )
                name, spec = by_key[item.asset_key]
            elif len(specs) == 1 or not generated:
                name, spec = names[min(index, len(names) - 1)], specs[min(index, len(specs) - 1)]
            else:
                raise TesseraError(f"'{step.key}' yielded a MaterializeResult without asset_key")
            value, meta, tags, dv = _NO_VALUE, item.metadata, item.tags, _version_of(item)
        elif isinstance(item, Output):
            if len(specs) == 1 and item.output_name not in by_name:
                name, spec = names[0], specs[0]
            elif item.output_name in by_name:
                name, spec = item.output_name, by_name[item.output_name]
            elif not generated:
                name, spec = names[index], specs[index]
            else:
                raise TesseraError(
                    f"'{step.key}' yielded an Output named '{item.output_name}', but its "
                    f"outputs are {list(by_name)}"
                )
            value, meta, tags, dv = item.value, item.metadata, item.tags, _version_of(item)
        else:
            if generated:
                raise TesseraError(
                    f"'{step.key}' yielded {type(item).__name__}; yield Output(...) or "
                    "MaterializeResult(...) instead"
                )
            name, spec = names[index], specs[index]
            value, meta, tags, dv = item, {}, {}, None
            if value is None and (definition.outputs_are_none or _returns_none(definition)):
                value = _NO_VALUE
        if spec.key not in selected:
            chosen = [n for n, s in by_name.items() if s.key in selected]
            raise TesseraError(
                f"'{step.key}' returned the output '{name}' (asset "
                f"'{spec.key.to_user_string()}'), which is not selected in this run; the "
                f"selected outputs are {chosen}: a multi-asset with can_subset=True must "
                "produce only context.selected_output_names"
            )
        meta = {**meta, **context.output_metadata_for(spec.key, name)}
        produced[spec.key] = _Produced(spec, name, value, meta, tags, dv)

    missing = [s for s in definition.specs if s.key in selected and s.key not in produced]
    required_missing = [s for s in missing if not s.skippable]
    if required_missing:
        names_missing = ", ".join(s.key.to_user_string() for s in required_missing)
        raise TesseraError(f"'{step.key}' did not produce {names_missing}")
    return [produced[s.key] for s in definition.specs if s.key in produced]


def _returns_none(definition: AssetsDefinition) -> bool:
    fn = definition.fn
    ann = getattr(fn, "__annotations__", {}).get("return", inspect.Parameter.empty)
    return ann is None or ann == "None"


def _version_of(item: Output | MaterializeResult) -> str | None:
    return item.data_version.value if item.data_version else None


def data_version_of(code_version: str, inputs: Iterable[tuple[AssetKey, str | None]]) -> str:
    """A data version: a hash of the code version and the data versions of the inputs."""
    h = hashlib.sha256(code_version.encode())
    for key, version in sorted(inputs, key=lambda kv: kv[0].parts):
        h.update(b"\0")
        h.update(key.to_user_string().encode())
        h.update(b"=")
        h.update((version or "?").encode())
    return h.hexdigest()[:16]
