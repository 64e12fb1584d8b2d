"""Config schemas and resources: pydantic models.

A config class is its own schema: the asset exposes ``model_json_schema()`` and run config
is validated against it. This is the only module of the SDK that imports pydantic, and it is
imported when first needed (see ``codeloc.__getattr__``): a location without config pays
nothing for it at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from codeloc._env_var import EnvVar
from codeloc._errors import ConfigInvalid, ResourceSetupError
from codeloc._io_context import InputContext, OutputContext
from codeloc._io_manager import IOManager, IOManagerFactory
from codeloc._resource_def import InitResourceContext

__all__ = [
    "Config",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableResource",
    "InitResourceContext",
    "PartialResource",
    "configured_by_run_config",
    "validate_config",
]


class Config(BaseModel):
    """Base class for an asset's config schema: declare fields as on any pydantic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfigurableResource(BaseModel):
    """Base class for resources: objects handed to assets by the parameter name they are under.

    Subclass it, declare its settings as fields and its behaviour as methods. The engine
    enters ``yield_for_execution`` around the steps that use it (once per run in process,
    once per step process otherwise); what ``setup_for_execution`` opens (a client, a
    connection) goes in a ``PrivateAttr``, since the fields are frozen.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    # Field name -> variable name, for each field given as (or defaulting to) an ``EnvVar``;
    # until the run sets the resource up, such a field holds the variable's name.
    _env_vars: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_env_vars(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        env_vars = {
            name: field.default.env_var_name
            for name, field in cls.model_fields.items()
            if isinstance(field.default, EnvVar)
        }
        if isinstance(data, Mapping):
            for name, value in data.items():
                if isinstance(value, EnvVar):
                    env_vars[name] = value.env_var_name
                else:
                    env_vars.pop(name, None)
        model = handler(data)
        if env_vars:
            model._env_vars = env_vars
        return model

    def _field_values(self) -> dict[str, Any]:
        """The fields as given: an ``EnvVar`` field as the ``EnvVar``, to validate again."""
        values = self.model_dump()
        values.update({name: EnvVar(var) for name, var in self._env_vars.items()})
        return values

    def _for_execution(self, key: str) -> Self:
        """This resource with its ``EnvVar`` fields read from the environment now.

        Raises ``ResourceSetupError`` naming the variable and the resource when one is unset.
        """
        if not self._env_vars:
            return self
        values: dict[str, Any] = {}
        for name, var in self._env_vars.items():
            value = EnvVar(var).get_value()
            if value is None:
                raise ResourceSetupError(
                    f"resource '{key}' field '{name}': environment variable '{var}' is not set",
                    key,
                )
            values[name] = value
        resolved = self.model_copy(update=values)
        resolved._env_vars = {}
        return resolved

    @classmethod
    def configure_at_launch(cls, **values: Any) -> PartialResource:
        """This resource with its config given by each run: ``resources: {key: {config: …}}``.

        ``values`` are fields set now; the run config gives the others (and may override
        these). A run whose config leaves a required field out fails before any asset runs,
        naming the resource and the field.
        """
        return PartialResource(cls, values)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called before the first step that uses this resource; does nothing by default."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called after the last step that uses this resource, even a failed one."""

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Any]:
        """Set up, yield the resource to the steps, tear down: override for a ``with`` block.

        What it yields is what the steps receive; the default yields the resource itself.
        """
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)


class PartialResource:
    """A ``ConfigurableResource`` configured at launch: see ``configure_at_launch``."""

    def __init__(self, resource_type: type[ConfigurableResource], values: Mapping[str, Any]):
        self.resource_type = resource_type
        self.values = dict(values)

    def resolve(self, key: str, config: Mapping[str, Any] | None) -> ConfigurableResource:
        """The resource with ``config`` (from the run config) laid over the fields set.

        Raises:
            ConfigInvalid: The fields do not validate; names the resource, the field, and
                where the run config gives it.
        """
        try:
            return self.resource_type.model_validate({**self.values, **(config or {})})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise ConfigInvalid(
                f"resource '{key}' is configured at launch and its config is invalid: "
                f"field '{field}': {first['msg']} (give it in the run config as "
                f"{{'resources': {{'{key}': {{'config': {{'{field}': ...}}}}}}}})",
                field=f"resources.{key}.config.{field}",
            ) from None

    def __repr__(self) -> str:
        return f"{self.resource_type.__name__}.configure_at_launch(**{self.values!r})"


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """An IO manager that is a configurable resource: settings as fields, behaviour in
    ``handle_output`` and ``load_input``.

    Set up and torn down like any ``ConfigurableResource``; its fields are the
    ``resource_config`` of the contexts it is handed. Set ``persistent = False`` on one
    that keeps values in memory, so that executors that need stored values refuse it.
    """

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement handle_output")

    def load_input(self, context: InputContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement load_input")


class ConfigurableIOManagerFactory(ConfigurableResource, IOManagerFactory):
    """A configurable resource that builds the IO manager when a run sets it up: implement
    ``create_io_manager(context)``, for an ``IOManager`` class that is not itself a
    resource (one from a library, say)."""

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Any]:
        """Set up, yield ``create_io_manager(context)`` to the steps, tear down."""
        self.setup_for_execution(context)
        try:
            yield self.create_io_manager(context)
        finally:
            self.teardown_after_execution(context)


def validate_config(
    schema: type[Config], value: Config | Mapping[str, Any] | None, asset: str
) -> Config:
    """Validate ``value`` against ``schema``; raise ``ConfigInvalid`` naming the failing field.

    Run config is validated strictly, as JSON: ``"true"`` or ``1`` is no ``bool``, ``"3"`` or
    ``3.0`` no ``int``, ``3`` no ``str`` (an ``int`` is a ``float``); a date, an enum's
    value or a list for a tuple are read from their JSON form. Values that have no JSON form
    (a Python object given in process) are validated as pydantic would construct the model.
    """
    if isinstance(value, schema):
        return value
    if isinstance(value, Config):
        value = value.model_dump(mode="json")
    try:
        try:
            text = json.dumps(value or {}, allow_nan=False)
        except (TypeError, ValueError):
            return schema.model_validate(value or {})
        return schema.model_validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ConfigInvalid(
            f"config for asset '{asset}' is invalid: field '{field}': {first['msg']}",
            asset=asset,
            field=field,
        ) from None


def configured_by_run_config(
    resource: ConfigurableResource, config: Mapping[str, Any], key: str
) -> ConfigurableResource:
    """``resource`` with the fields that run config gives for it, checked as strictly as
    ``validate_config`` checks an asset's config.

    Raises ``ConfigInvalid`` naming the resource and the field.
    """
    fields = type(resource).model_fields
    for name, value in config.items():
        field = fields.get(name)
        if field is None or field.annotation is None or isinstance(value, EnvVar):
            continue  # an unknown field is refused by the model itself, below
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            continue  # no JSON form: a Python value, validated as pydantic would
        try:
            TypeAdapter(field.annotation).validate_json(text, strict=True)
        except ValidationError as exc:
            raise _resource_config_invalid(key, exc, (name,)) from None
    try:
        return type(resource).model_validate({**resource._field_values(), **config})
    except ValidationError as exc:
        raise _resource_config_invalid(key, exc) from None


def _resource_config_invalid(
    key: str, exc: ValidationError, where: tuple[str, ...] = ()
) -> ConfigInvalid:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in (*where, *first["loc"])) or "<root>"
    return ConfigInvalid(
        f"config for resource '{key}' is invalid: field '{path}': {first['msg']}", field=path
    )
