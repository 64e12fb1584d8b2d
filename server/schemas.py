"""The REST API's request and response bodies. Names follow ``<Thing>Create`` (a request)
and ``<Thing>Public`` / ``<Things>Public`` (a response)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from codeloc._runs import EventType, RunStatus
from server.auth import Scope
from server.storage.models import RunTagRow

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
    "Problem",
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


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text: the request would fail in the database, a 500.
    if "\x00" in value:
        raise ValueError("must not hold a NUL character")
    return value


#: How deep a run config nests: protobuf, which carries it to its location, parses 100
#: levels at most (each level of JSON is two of a ``Struct``).
MAX_CONFIG_DEPTH = 32


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if the database stores it and a location receives it: no NaN or infinity
    (JSON has none: PostgreSQL refuses them), not too deep."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(f"nests deeper than {MAX_CONFIG_DEPTH} levels at {where!r}")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{where or 'the value'} is {item}: JSON numbers are finite")
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((child, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
    return value


#: The check of every string of a request body that reaches the database.
NO_NUL = AfterValidator(_no_nul)
MAX_TAG_KEY: int = RunTagRow.__table__.c.key.type.length  # type: ignore[attr-defined]
MAX_TAG_VALUE: int = RunTagRow.__table__.c.value.type.length  # type: ignore[attr-defined]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG_KEY), NO_NUL]
TagValue = Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE), NO_NUL]
#: A run's tags: the runs list filters and limits by them, one row each.
MAX_TAGS = 100
#: The longest selection expression, and the most keys one request names: more is no
#: selection a person writes, and a refusal echoes the request back.
MAX_SELECTION = 10_000


class ProblemError(BaseModel):
    field: str = Field(description="where, dotted: 'tags.team', 'events.3.seq', 'query.after'")
    message: str


class Problem(BaseModel):
    """Every error the API answers (RFC 9457 ``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what is wrong, naming the asset, run, location or field")
    errors: list[ProblemError] | None = Field(
        default=None, description="every field that does not validate (422)"
    )


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
    address: Annotated[str, NO_NUL] = Field(
        min_length=3, max_length=512, description="host:port of its gRPC server"
    )


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


class RequiredMultiAssetPublic(BaseModel):
    """The multi-asset (``can_subset=False``) an asset is part of: a run materializes all of
    its ``keys`` or none, and a selection of only some of them is refused (422)."""

    node_name: str
    keys: list[list[str]]


class ResourcePublic(BaseModel):
    """A resource an asset requires, as its location describes it (never its values)."""

    key: str
    #: the resource's class, ``module.QualifiedName``; null when the location does not list it
    type: str | None
    description: str | None
    config_schema: dict[str, Any] | None


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
    #: the kinds (tags ``dagster/kind/<kind>``), sorted
    kinds: list[str] = []
    deps: list[list[str]]
    dependents: list[list[str]]
    config_schema: dict[str, Any] | None
    #: a graph-backed asset's: the JSON Schema of the ``ops`` entry of its run config, its
    #: ops' config, as ``{"ops": {node_name: {"ops": {op: {"config": …}}}}}``
    ops_config_schema: dict[str, Any] | None = None
    latest_materialization: MaterializationPublic | None
    stale: bool
    stale_causes: list[StaleCausePublic]
    is_external: bool
    is_executable: bool
    conflict: ConflictPublic | None = None
    cycle: list[list[str]] | None = None
    jobs: list[str] = []
    required_resources: list[str] = []
    #: each required resource with its type and config schema
    resources: list[ResourcePublic] = []
    retry_policy: dict[str, Any] | None = None
    required_multi_asset: RequiredMultiAssetPublic | None = None


class AssetsPublic(BaseModel):
    assets: list[AssetPublic]
    next_cursor: str | None
    total: int


class FacetPublic(BaseModel):
    name: str
    count: int


class AssetFacetsPublic(BaseModel):
    """The values the catalog can be filtered by, each with its number of assets."""

    groups: list[FacetPublic]
    kinds: list[FacetPublic]
    owners: list[FacetPublic]


class AssetGraphPublic(BaseModel):
    nodes: list[dict[str, Any]]
    edges: list[list[list[str]]]


def _list_or_text(value: Any) -> str:
    return "list" if isinstance(value, list) else "text"


_Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SELECTION), NO_NUL]
#: One key of a selection: ``["raw", "orders"]`` or ``"raw/orders"``.
SelectedKey = Annotated[
    Annotated[list[_Name], Tag("list")] | Annotated[_Name, Tag("text")],
    Discriminator(_list_or_text),
]
Selection = Annotated[
    Annotated[list[SelectedKey], Field(max_length=MAX_SELECTION), Tag("list")]
    | Annotated[str, StringConstraints(max_length=MAX_SELECTION), NO_NUL, Tag("text")],
    Discriminator(_list_or_text),
]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selection: Selection = Field(
        description="asset keys (lists of segments or '/'-joined) or a selection expression"
    )
    run_config: Annotated[dict[str, Any], AfterValidator(_storable_json)] = Field(
        default_factory=dict
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)


#: The largest run config (as JSON) a page of ``GET /runs`` shows: larger ones are left out
#: there, so that a page stays small whatever the configs; ``GET /runs/{run_id}`` has them.
MAX_LISTED_CONFIG_BYTES = 4096


class RunPublic(BaseModel):
    run_id: str
    location: str
    status: RunStatus
    asset_keys: list[list[str]]
    run_config: dict[str, Any] | None = Field(
        description="null in a page of GET /runs when larger than "
        f"{MAX_LISTED_CONFIG_BYTES} bytes as JSON (run_config_omitted); GET /runs/{{run_id}} "
        "always has it"
    )
    run_config_omitted: bool = False
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
