"""``workspace.yaml``: the code locations the server starts with."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["WorkspaceFile", "WorkspaceLocation", "load_workspace"]


class WorkspaceLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    grpc: str = Field(min_length=3, description="host:port")


class WorkspaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locations: list[WorkspaceLocation] = Field(default_factory=list)


def load_workspace(path: Path) -> WorkspaceFile:
    """Parse and check a workspace file; errors say which file and which entry."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ValueError(f"cannot read workspace file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"workspace file {path} is not valid YAML: {exc}") from None
    try:
        workspace = WorkspaceFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        place = f"{where}: " if where else ""  # e.g. the whole file is a list, not a mapping
        raise ValueError(f"workspace file {path}: {place}{first['msg']}") from None
    names = [loc.name for loc in workspace.locations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"workspace file {path} names locations twice: {duplicates}")
    return workspace
