"""Classic config: ``@asset(config_schema={...})`` and ``@op(config_schema={...})``, read with
``context.op_config`` (and the schema of a ``ConfigMapping``).

A schema is built from Python values, as in the reference: a scalar type (``int``, ``float``,
``str``, ``bool``), ``[T]`` for a list of ``T``, a dict for an object of those fields, or a
``Field`` wrapping any of them with a default, a description or ``is_required=False``.
``list``, ``dict`` and ``Any`` take any list, mapping or value. Validation is strict like the
reference's: ``True`` is no ``int``, ``"1"`` no ``int`` and ``"true"`` no ``bool``; an ``int``
is taken for a ``float``; a key the schema does not have is refused. Pure Python: no pydantic,
so a location with classic config only never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
            ``op_config``); by default a field is required unless it has a default.
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
        self.is_required = (not self.has_default) if is_required is None else is_required
        self.description = description
        if self.is_required and self.has_default:
            raise DefinitionError("a Field with a default_value cannot also be is_required=True")

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
        if value is None and self._node[0] in ("shape", "map"):
            value = {}
        return _check(self._node, value, (asset, where or f"asset '{asset}'"), ())

    def json_schema(self) -> dict[str, Any]:
        """The schema in JSON Schema terms."""
        return _json(self._node)


# A node is ("scalar", type) | ("any", None) | ("list", node | None) | ("map", None)
# | ("shape", {name: (node, Field)}).
_Node = tuple[str, Any]


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
    if isinstance(schema, Mapping):
        fields: dict[str, tuple[_Node, Field]] = {}
        for name, value in schema.items():
            if not isinstance(name, str):
                raise DefinitionError(f"{owner}: config_schema keys are strings, got {name!r}")
            field = value if isinstance(value, Field) else Field(value)
            fields[name] = (_node(field.config, owner, _join(path, name)), field)
        return ("shape", fields)
    where = f" at '{path}'" if path else ""
    raise DefinitionError(
        f"{owner}: config_schema{where} has {schema!r}, which is not a config type: "
        "use int, float, str, bool, [T], a dict of fields, Field(...), list, dict or Any"
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# The asset, and the words that say where the config sits (for errors).
_Where = tuple[str, str]


def _check(node: _Node, value: Any, where: _Where, path: tuple[str, ...]) -> Any:
    kind, detail = node
    if kind == "any":
        return value
    if kind == "scalar":
        ok = isinstance(value, detail) and not (detail is not bool and isinstance(value, bool))
        if detail is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            _invalid(where, path, f"expected {_SCALARS[detail][1]}, got {value!r}")
        return value
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
    fields: dict[str, tuple[_Node, Field]] = detail
    unknown = sorted(set(value) - set(fields))
    if unknown:
        _invalid(where, (*path, str(unknown[0])), f"not a field of the schema ({sorted(fields)})")
    out: dict[str, Any] = {}
    for name, (child, field) in fields.items():
        if name in value:
            out[name] = _check(child, value[name], where, (*path, name))
        elif field.has_default:
            out[name] = field.default_value
        elif field.is_required:
            _invalid(where, (*path, name), "field required")
    return out


def _invalid(where: _Where, path: tuple[str, ...], message: str) -> Any:
    asset, label = where
    field = ".".join(path) or "<root>"
    raise ConfigInvalid(
        f"config for {label} is invalid: field '{field}': {message}",
        asset=asset,
        field=".".join(path),
    )


def _json(node: _Node) -> dict[str, Any]:
    kind, detail = node
    if kind == "any":
        return {}
    if kind == "scalar":
        return {"type": _SCALARS[detail][0]}
    if kind == "list":
        return {"type": "array"} if detail is None else {"type": "array", "items": _json(detail)}
    if kind == "map":
        return {"type": "object"}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, (child, field) in detail.items():
        prop = _json(child)
        if field.description:
            prop["description"] = field.description
        if field.has_default:
            prop["default"] = field.default_value
        properties[name] = prop
        if field.is_required:
            required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema
