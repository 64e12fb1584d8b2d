"""Config schemas and resources: pydantic models.

A config class is its own schema: the asset exposes ``model_json_schema()`` and run config
is validated against it. This is the only module of the SDK that imports pydantic, and it is
imported when first needed (see ``codeloc.__getattr__``): a location without config pays
nothing for it at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from codeloc._errors import ConfigInvalid

__all__ = ["Config", "ConfigurableResource", "validate_config"]


class Config(BaseModel):
    """Base class for an asset's config schema: declare fields as on any pydantic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfigurableResource(BaseModel):
    """Base class for resources: objects handed to assets by the parameter name they are under.

    Subclass it, declare its settings as fields and its behaviour as methods.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


def validate_config(
    schema: type[Config], value: Config | Mapping[str, Any] | None, asset: str
) -> Config:
    """Validate ``value`` against ``schema``; raise ``ConfigInvalid`` naming the failing field."""
    if isinstance(value, schema):
        return value
    if isinstance(value, Config):
        value = value.model_dump()
    try:
        return schema.model_validate(value or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ConfigInvalid(
            f"config for asset '{asset}' is invalid: field '{field}': {first['msg']}",
            asset=asset,
            field=field,
        ) from None
