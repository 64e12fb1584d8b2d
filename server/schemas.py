"""The REST API's request and response bodies. Names follow ``<Thing>Create`` (a request)
and ``<Thing>Public`` / ``<Things>Public`` (a response)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from codeloc._runs import EventType, RunStatus
from server.auth import Scope

__all__ = [
    "AssetGraphPublic",
    "AssetPublic",
    "AssetsPublic",
    "CodeLocationCreate",
    "CodeLocationPublic",
    "EventPublic",
    "HealthPublic",
    "IngestResultPublic",
    "MaterializationPublic",
    "MaterializationsPublic",
    "RunCreate",
    "RunPublic",
    "RunsCreatedPublic",
    "RunsPublic",
    "TokenCreate",
    "TokenCreatedPublic",
    "TokenPublic",
    "TokensPublic",
]

MetadataPublic = dict[str, dict[str, Any]]  # name -> {"kind": "int", "value": 5}


class HealthPublic(BaseModel):
    status: Literal["ok"] = "ok"


class CodeLocationPublic(BaseModel):
    name: str
    address: str
    status: Literal["loading", "loaded", "error", "unreachable"]
    error: str | None
    asset_count: int
    server_id: str | None
    loaded_at: float | None
    sdk_version: str | None = None
    source: Literal["workspace", "api"] = "workspace"


class CodeLocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    address: str = Field(min_length=3, max_length=512, description="host:port of its gRPC server")


class MaterializationPublic(BaseModel):
    run_id: str
    timestamp: float
    code_version: str | None
    data_version: str | None
    metadata: MetadataPublic
    tags: dict[str, str]
    asset_key: list[str] | None = None


class MaterializationsPublic(BaseModel):
    materializations: list[MaterializationPublic]
    next_cursor: str | None


class StaleCausePublic(BaseModel):
    reason: str
    message: str
    key: list[str] | None = None


class ConflictPublic(BaseModel):
    locations: list[str]
    message: str


class AssetPublic(BaseModel):
    key: list[str]
    #: the name run config uses for the asset: ``{"ops": {node_name: {"config": …}}}``
    node_name: str | None = None
    location: str | None
    group: str | None
    description: str | None
    code_version: str | None
    metadata: MetadataPublic
    tags: dict[str, str]
    owners: list[str]
    deps: list[list[str]]
    dependents: list[list[str]]
    config_schema: dict[str, Any] | None
    latest_materialization: MaterializationPublic | None
    stale: bool
    stale_causes: list[StaleCausePublic]
    is_external: bool
    is_executable: bool
    conflict: ConflictPublic | None = None
    cycle: list[list[str]] | None = None
    jobs: list[str] = []
    required_resources: list[str] = []
    retry_policy: dict[str, Any] | None = None


class AssetsPublic(BaseModel):
    assets: list[AssetPublic]
    next_cursor: str | None
    total: int


class AssetGraphPublic(BaseModel):
    nodes: list[dict[str, Any]]
    edges: list[list[list[str]]]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selection: list[str | list[str]] | str = Field(
        description="asset keys (lists of segments or '/'-joined) or a selection expression"
    )
    run_config: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class RunPublic(BaseModel):
    run_id: str
    location: str
    status: RunStatus
    asset_keys: list[list[str]]
    run_config: dict[str, Any]
    tags: dict[str, str]
    created_at: float
    started_at: float | None
    ended_at: float | None
    error: str | None
    job_name: str | None = None
    depends_on: list[str] = []
    queue_position: int | None = None


class RunsPublic(BaseModel):
    runs: list[RunPublic]
    next_cursor: str | None


class RunsCreatedPublic(BaseModel):
    runs: list[RunPublic]


class EventPublic(BaseModel):
    seq: int
    timestamp: float
    type: EventType
    level: str
    step_key: str | None
    asset_key: list[str] | None
    message: str
    metadata: MetadataPublic
    error: str | None = None


class IngestResultPublic(BaseModel):
    accepted: int
    duplicates: int
    last_seq: int


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope
    locations: list[Annotated[str, Field(min_length=1, max_length=255)]] | None = Field(
        default=None,
        min_length=1,
        description="the locations it may launch and cancel runs in (scope launch); omitted: all",
    )
    expires: str | None = Field(
        default=None,
        max_length=64,
        description="a duration from now (90m, 12h, 30d, 2w) or an ISO 8601 date or time; "
        "omitted: never",
    )
    name: str | None = Field(default=None, max_length=255)


class TokenPublic(BaseModel):
    id: str
    name: str | None
    scope: Scope
    locations: list[str] | None
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]


class TokenCreatedPublic(TokenPublic):
    secret: str = Field(description="shown this once: the server keeps only its hash")
