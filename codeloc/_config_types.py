"""The reference's classic config types beyond Python values: ``Noneable``, ``Array``,
``Shape``, ``Permissive``, ``Selector``, ``Enum`` (of ``EnumValue``) and the sources
``StringSource``, ``IntSource`` and ``BoolSource``.

They only describe a schema; ``codeloc._config_schema`` reads them into its nodes, validates
run config against them and writes their JSON Schema. ``String``, ``Int``, ``Float``,
``Bool`` and ``Any`` are the reference's names for ``str``, ``int``, ``float``, ``bool`` and
``typing.Any``: the same objects, not types of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum as _PyEnum
from typing import Any

__all__ = [
    "Array",
    "Bool",
    "BoolSource",
    "Enum",
    "EnumValue",
    "Float",
    "Int",
    "IntSource",
    "Noneable",
    "Permissive",
    "Selector",
    "Shape",
    "Source",
    "String",
    "StringSource",
]

String = str
Int = int
Float = float
Bool = bool


class Noneable:
    """A value of ``inner_type`` or ``None``. A field of it is optional and reads ``None``
    when left out.
    """

    def __init__(self, inner_type: object) -> None:
        self.inner_type = inner_type

    def __repr__(self) -> str:
        return f"Noneable({self.inner_type!r})"


class Array:
    """A list of ``inner_type``: the same as ``[inner_type]``."""

    def __init__(self, inner_type: object) -> None:
        self.inner_type = inner_type

    def __repr__(self) -> str:
        return f"Array({self.inner_type!r})"


class Shape:
    """An object of exactly these fields, as a plain dict of fields is.

    Args:
        fields: Field name to config type or ``Field``.
        description: Shown with the schema.
    """

    def __init__(self, fields: Mapping[str, Any], description: str | None = None) -> None:
        self.fields = fields
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.fields)!r})"


class Permissive(Shape):
    """An object of these fields (none by default) that takes other keys too, passed on as
    given.
    """

    def __init__(
        self, fields: Mapping[str, Any] | None = None, description: str | None = None
    ) -> None:
        super().__init__({} if fields is None else fields, description)


class Selector(Shape):
    """An object with exactly one of these fields: a choice between alternatives.

    ``{}`` is taken only when the selector has one field and that field is optional.
    """


class EnumValue:
    """One value of an ``Enum``: ``config_value`` in run config, ``python_value`` (the
    config value itself by default) in ``op_config``.
    """

    def __init__(
        self, config_value: str, python_value: object = None, description: str | None = None
    ) -> None:
        if not isinstance(config_value, str):
            raise TypeError(f"EnumValue: config_value is a str, got {config_value!r}")
        self.config_value = config_value
        self.python_value = config_value if python_value is None else python_value
        self.description = description

    def __repr__(self) -> str:
        return f"EnumValue({self.config_value!r}, python_value={self.python_value!r})"


class Enum:
    """A choice of named values: run config gives a value's ``config_value`` (a string),
    ``op_config`` reads its ``python_value``.

    Args:
        name: Names the type in errors.
        enum_values: The values, each an ``EnumValue``.
    """

    def __init__(self, name: str, enum_values: Sequence[EnumValue]) -> None:
        for value in enum_values:
            if not isinstance(value, EnumValue):
                raise TypeError(f"Enum '{name}': enum_values are EnumValue, got {value!r}")
        self.name = name
        self.enum_values = list(enum_values)
        self._by_config = {v.config_value: v.python_value for v in self.enum_values}

    @classmethod
    def from_python_enum(cls, enum: type[_PyEnum], name: str | None = None) -> Enum:
        """An ``Enum`` of a Python enum's members: run config names a member (``"RED"``),
        ``op_config`` reads the member itself.
        """
        return cls(
            enum.__name__ if name is None else name,
            [EnumValue(member.name, python_value=member) for member in enum],
        )

    @property
    def config_values(self) -> list[str]:
        """The strings run config may give."""
        return list(self._by_config)

    def python_value(self, config_value: str) -> Any:
        """The value ``op_config`` reads for ``config_value``; ``KeyError`` if it is none."""
        return self._by_config[config_value]

    def __repr__(self) -> str:
        return f"Enum({self.name!r}, {self.config_values!r})"


class Source:
    """A value of ``scalar`` given in run config, or ``{"env": "VAR"}`` read from the
    environment of the run when its config is validated.
    """

    def __init__(self, name: str, scalar: type) -> None:
        self.name = name
        self.scalar = scalar

    def __repr__(self) -> str:
        return self.name


StringSource = Source("StringSource", str)
"""A ``str``, or ``{"env": "VAR"}``: the variable's value."""
IntSource = Source("IntSource", int)
"""An ``int``, or ``{"env": "VAR"}``: the variable's value read as an int."""
BoolSource = Source("BoolSource", bool)
"""A ``bool``, or ``{"env": "VAR"}``: false for ``false``, ``none``, ``0`` or empty (any
case), true otherwise."""
