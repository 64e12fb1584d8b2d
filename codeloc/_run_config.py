"""Run config: the per-run settings of assets (``ops``) and resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codeloc._errors import ConfigInvalid

__all__ = ["RunConfig", "run_config_dict"]


class RunConfig:
    """Run config built from Python objects.

    ``RunConfig({"my_asset": MyConfig(x=1)})`` is the same as the dict form
    ``{"ops": {"my_asset": {"config": {"x": 1}}}}``.
    """

    def __init__(
        self,
        ops: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        self.ops: dict[str, Any] = dict(ops or {})
        self.resources: dict[str, Any] = dict(resources or {})

    def to_config_dict(self) -> dict[str, Any]:
        """The plain dict form of this run config."""
        ops: dict[str, Any] = {}
        for name, value in self.ops.items():
            if hasattr(value, "model_dump"):  # a Config instance
                ops[name] = {"config": value.model_dump(mode="json")}
            else:
                ops[name] = dict(value)
        return {"ops": ops, "resources": dict(self.resources)}

    def __repr__(self) -> str:
        return f"RunConfig(ops={self.ops!r}, resources={self.resources!r})"


def run_config_dict(run_config: RunConfig | Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalize either form of run config into the plain dict form."""
    if run_config is None:
        return {"ops": {}, "resources": {}}
    if isinstance(run_config, RunConfig):
        return run_config.to_config_dict()
    unknown = set(run_config) - {"ops", "resources", "execution", "loggers"}
    if unknown:
        raise ConfigInvalid(
            f"run config has unknown top-level keys {sorted(unknown)}; "
            "expected 'ops' and 'resources'",
            field=sorted(unknown)[0],
        )
    return {
        "ops": dict(run_config.get("ops") or {}),
        "resources": dict(run_config.get("resources") or {}),
    }
