"""Classic config: ``@asset(config_schema={...})`` and ``@op(config_schema={...})``, read with
``context.op_config`` (and the schema of a ``ConfigMapping``).

A schema is built from Python values, as in the reference: a scalar type (``int``, ``float``,
``str``, ``bool``), ``[T]`` for a list of ``T``, a dict for an object of those fields, or a
``Field`` wrapping any of them with a default, a description or ``is_required=False``.
``list``, ``dict`` and ``Any`` take any list, mapping or value; the types of
``codeloc._config_types`` (``Noneable``, ``Selector``, ``Enum``, the sources, …) the rest.
Validation is strict like the reference's: ``True`` is no ``int``, ``"1"`` no ``int`` and
``"true"`` no ``bool``; an ``int`` is taken for a ``float``; a key the schema does not have is
refused. Pure Python: no pydantic, so a location with classic config only never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NoReturn

from codeloc._config_types import Array, Enum, Noneable, Permissive, Selector, Shape, Source
from codeloc._errors import ConfigInvalid, DefinitionError

__all__ = ["ConfigSchema", "Field"]

_NO_DEFAULT: Any = object()
_SCALARS: dict[type, tuple[str, str]] = {
    int: ("integer", "an int"),
    float: ("number", "a float"),
    str: ("string", "a string"),
    bool: ("boolean", "a bool"),
}


class Field:
    """One field of a classic config schema, with its default or its optionality.

    Args:
        config: The field's type: a scalar type, ``[T]``, a dict of fields, or ``Any``.
        default_value: The value taken when the run config leaves the field out; a field
            with one is not required.
        is_required: False for a field that may be left out (and is then absent from
            ``op_config``); by default a field is required unless it has a default or its
            type has one (``Noneable``, a dict of optional fields).
        description: Shown with the schema.
    """

    def __init__(
        self,
        config: Any = Any,
        default_value: Any = _NO_DEFAULT,
        is_required: bool | None = None,
        description: str | None = None,
    ) -> None:
        self.config = config
        self.default_value = default_value
        self.has_default = default_value is not _NO_DEFAULT
        self.description = description
        if is_required and self.has_default:
            raise DefinitionError("a Field with a default_value cannot also be is_required=True")
        self._is_required = is_required

    @property
    def is_required(self) -> bool:
        """Whether run config must give the field."""
        if self._is_required is not None:
            return self._is_required
        return not self.has_default and not _defaultable(_node(self.config, "Field", ""))

    def __repr__(self) -> str:
        default = f", default_value={self.default_value!r}" if self.has_default else ""
        return f"Field({self.config!r}{default}, is_required={self.is_required})"


class ConfigSchema:
    """A classic config schema, checked once when its owner is defined.

    ``owner`` names the definition in errors (``"asset 'a'"``, ``"op 'scale'"``).
    ``validate`` returns the config with defaults filled in; ``json_schema`` describes it
    for the snapshot (the server validates launches against it).
    """

    def __init__(self, schema: Any, owner: str) -> None:
        self.owner = owner
        self._node = _node(schema, owner, "")

    def validate(self, value: Any, asset: str, where: str | None = None) -> Any:
        """``value`` checked against the schema, with defaults filled in. ``None`` stands for
        no config at all (an empty mapping under a schema of fields).

        Raises:
            ConfigInvalid: Naming the asset (or ``where``, as ``"asset 'a', op 'inner.b'"``)
                and the dotted path of the failing field.
        """
        if value is None and self._node[0] in ("shape", "selector", "map"):
            value = {}
        return _check(self._node, value, (asset, where or f"asset '{asset}'", True), ())

    def json_schema(self) -> dict[str, Any]:
        """The schema in JSON Schema terms."""
        return _json(self._node)


# A node is ("scalar", type) | ("any", None) | ("list", node | None) | ("map", None)
# | ("shape", _Fields) | ("permissive", _Fields) | ("selector", _Fields)
# | ("noneable", node) | ("enum", Enum) | ("source", type).
_Node = tuple[str, Any]
# name: (node, field, required)
_Fields = dict[str, tuple[_Node, Field, bool]]


def _node(schema: Any, owner: str, path: str) -> _Node:
    if isinstance(schema, Field):
        return _node(schema.config, owner, path)
    if schema is Any:
        return ("any", None)
    if isinstance(schema, type) and schema in _SCALARS:
        return ("scalar", schema)
    if schema is list:
        return ("list", None)
    if schema is dict:
        return ("map", None)
    if isinstance(schema, list) and len(schema) == 1:
        return ("list", _node(schema[0], owner, f"{path}[]"))
    if isinstance(schema, Array):
        return ("list", _node(schema.inner_type, owner, f"{path}[]"))
    if isinstance(schema, Noneable):
        return ("noneable", _node(schema.inner_type, owner, path))
    if isinstance(schema, Enum):
        return ("enum", schema)
    if isinstance(schema, Source):
        return ("source", schema.scalar)
    if isinstance(schema, Shape):
        kind = "selector" if isinstance(schema, Selector) else "shape"
        if isinstance(schema, Permissive):
            kind = "permissive"
        return (kind, _fields(schema.fields, owner, path))
    if isinstance(schema, Mapping):
        return ("shape", _fields(schema, owner, path))
    where = f" at '{path}'" if path else ""
    raise DefinitionError(
        f"{owner}: config_schema{where} has {schema!r}, which is not a config type: "
        "use int, float, str, bool, [T], a dict of fields, Field(...), list, dict, Any, "
        "Noneable, Array, Shape, Permissive, Selector, Enum or a Source"
    )


def _fields(schema: Mapping[Any, Any], owner: str, path: str) -> _Fields:
    fields: _Fields = {}
    for name, value in schema.items():
        if not isinstance(name, str):
            raise DefinitionError(f"{owner}: config_schema keys are strings, got {name!r}")
        field = value if isinstance(value, Field) else Field(value)
        at = _join(path, name)
        child = _node(field.config, owner, at)
        required = field._is_required
        if required is None:
            required = not field.has_default and not _defaultable(child)
        if field.has_default:
            # As the reference: a default that does not fit its field is a definition error.
            label = f"the default_value in {owner}"
            try:
                _check(child, field.default_value, (owner, label, False), tuple(at.split(".")))
            except ConfigInvalid as error:
                raise DefinitionError(str(error)) from None
        fields[name] = (child, field, required)
    return fields


def _defaultable(node: _Node) -> bool:
    """Whether the node has a value of its own when run config leaves it out."""
    kind, detail = node
    if kind == "noneable":
        return True
    if kind in ("shape", "permissive"):
        return not any(required for _, _, required in detail.values())
    if kind == "selector":
        return len(detail) == 1 and not next(iter(detail.values()))[2]
    return False


def _absent(node: _Node, field: Field, where: _Where, path: tuple[str, ...]) -> Any:
    """The value of an optional field left out (``_NO_DEFAULT`` for none at all)."""
    if field.has_default:
        return _check(node, field.default_value, where, path)
    if _defaultable(node):
        return _check(node, None if node[0] == "noneable" else {}, where, path)
    return _NO_DEFAULT


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# The asset, the words that say where the config sits (for errors), and whether sources
# read the environment (not when a default is checked at definition).
_Where = tuple[str, str, bool]


def _check(node: _Node, value: Any, where: _Where, path: tuple[str, ...]) -> Any:
    kind, detail = node
    if kind == "any":
        return value
    if kind == "noneable":
        return None if value is None else _check(detail, value, where, path)
    if kind == "scalar":
        return _scalar(detail, value, where, path)
    if kind == "enum":
        if not isinstance(value, str):
            _invalid(where, path, f"expected a string of enum {detail.name}, got {value!r}")
        if value not in detail.config_values:
            _invalid(
                where, path, f"{value!r} is not one of enum {detail.name}: {detail.config_values}"
            )
        return detail.python_value(value)
    if kind == "source":
        if isinstance(value, Mapping):
            return _from_env(detail, value, where, path)
        return _scalar(detail, value, where, path)
    if kind == "list":
        if not isinstance(value, list | tuple):
            _invalid(where, path, f"expected a list, got {value!r}")
        if detail is None:
            return list(value)
        return [_check(detail, item, where, (*path, str(i))) for i, item in enumerate(value)]
    if not isinstance(value, Mapping):
        _invalid(where, path, f"expected a mapping, got {value!r}")
    if kind == "map":
        return dict(value)
    if kind == "selector":
        return _selector(detail, value, where, path)
    fields: _Fields = detail
    out: dict[str, Any] = {}
    if kind == "permissive":
        out.update((k, v) for k, v in value.items() if k not in fields)
    else:
        unknown = sorted(set(value) - set(fields))
        if unknown:
            _invalid(
                where, (*path, str(unknown[0])), f"not a field of the schema ({sorted(fields)})"
            )
    for name, (child, field, required) in fields.items():
        if name in value:
            out[name] = _check(child, value[name], where, (*path, name))
        elif required:
            _invalid(where, (*path, name), "field required")
        else:
            absent = _absent(child, field, where, (*path, name))
            if absent is not _NO_DEFAULT:
                out[name] = absent
    return out


def _scalar(kind: type, value: Any, where: _Where, path: tuple[str, ...]) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        _invalid(where, path, f"expected {_SCALARS[kind][1]}, got {value!r}")
    return value


def _selector(
    fields: _Fields, value: Mapping[Any, Any], where: _Where, path: tuple[str, ...]
) -> Any:
    if len(value) > 1:
        _invalid(where, path, f"give exactly one of {sorted(fields)}, got {sorted(value)}")
    if not value:
        if not _defaultable(("selector", fields)):
            _invalid(where, path, f"give exactly one of {sorted(fields)}")
        name, (child, field, _) = next(iter(fields.items()))
        absent = _absent(child, field, where, (*path, name))
        return {name: None if absent is _NO_DEFAULT else absent}
    name = next(iter(value))
    if name not in fields:
        _invalid(where, (*path, str(name)), f"not a field of the selector ({sorted(fields)})")
    return {name: _check(fields[name][0], value[name], where, (*path, name))}


def _from_env(kind: type, value: Mapping[Any, Any], where: _Where, path: tuple[str, ...]) -> Any:
    variable = value.get("env")
    if set(value) != {"env"} or not isinstance(variable, str):
        _invalid(where, path, f"expected {_SCALARS[kind][1]} or {{'env': 'VAR'}}, got {value!r}")
    if not where[2]:
        return dict(value)
    raw = os.environ.get(variable)
    if raw is None:
        _invalid(where, path, f"environment variable '{variable}' is not set")
    if kind is str:
        return raw
    if kind is bool:
        return raw.lower() not in ("false", "none", "0", "")
    try:
        return int(raw)
    except ValueError:
        # The value is not shown: environment variables often hold secrets.
        _invalid(where, path, f"environment variable '{variable}' does not hold an int")


def _invalid(where: _Where, path: tuple[str, ...], message: str) -> NoReturn:
    asset, label, _ = where
    field = ".".join(path) or "<root>"
    raise ConfigInvalid(
        f"config for {label} is invalid: field '{field}': {message}",
        asset=asset,
        field=".".join(path),
    )


_ENV = {
    "type": "object",
    "properties": {"env": {"type": "string"}},
    "required": ["env"],
    "additionalProperties": False,
}


def _json(node: _Node) -> dict[str, Any]:
    kind, detail = node
    if kind == "any":
        return {}
    if kind == "scalar":
        return {"type": _SCALARS[detail][0]}
    if kind == "noneable":
        return {"anyOf": [_json(detail), {"type": "null"}]}
    if kind == "enum":
        return {"type": "string", "enum": detail.config_values}
    if kind == "source":
        return {"anyOf": [{"type": _SCALARS[detail][0]}, _ENV]}
    if kind == "list":
        return {"type": "array"} if detail is None else {"type": "array", "items": _json(detail)}
    if kind == "map":
        return {"type": "object"}
    if kind == "selector":
        choices: list[dict[str, Any]] = [
            {"properties": {name: _property(child, field)}, "required": [name]}
            for name, (child, field, _) in detail.items()
        ]
        if _defaultable(node):
            choices.append({"maxProperties": 0})
        return {
            "type": "object",
            "properties": {name: {} for name in detail},
            "additionalProperties": False,
            "maxProperties": 1,
            "oneOf": choices,
        }
    properties = {name: _property(child, field) for name, (child, field, _) in detail.items()}
    required = [name for name, (_, _, req) in detail.items() if req]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": kind == "permissive",
    }
    if required:
        schema["required"] = required
    return schema


def _property(node: _Node, field: Field) -> dict[str, Any]:
    prop = _json(node)
    if field.description:
        prop["description"] = field.description
    if field.has_default:
        prop["default"] = field.default_value
    return prop
