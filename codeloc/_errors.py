"""The SDK's errors. Every one derives from ``TesseraError``::

TesseraError
├── DefinitionError          bad definitions, raised when they are built, never at run time
│   ├── CycleError           the graph has a cycle (the message names the keys on it)
│   ├── DuplicateKeyError    two definitions produce one key (names the key and both)
│   ├── GroupConflictError   "Group name already exists on assets"
│   └── UnknownResourceError an asset needs a resource nobody provides
├── SelectionError           a selection expression that does not parse or names nothing
├── ConfigInvalid            run config that does not validate (names the asset and field)
├── SettingsInvalid          a ``TESSERA_*`` variable that does not parse (names the variable)
├── RunFailedError           ``materialize(raise_on_error=True)`` and a step failed
└── RunInterrupted           the run was asked to stop (cancel, SIGTERM)
"""

from __future__ import annotations

__all__ = [
    "ConfigInvalid",
    "CycleError",
    "DefinitionError",
    "DuplicateKeyError",
    "GroupConflictError",
    "RunFailedError",
    "RunInterrupted",
    "SelectionError",
    "SettingsInvalid",
    "TesseraError",
    "UnknownResourceError",
]


class TesseraError(Exception):
    """The root of every error the SDK raises on purpose."""


class DefinitionError(TesseraError):
    """Definitions that cannot be built."""


class CycleError(DefinitionError):
    """The asset graph has a cycle."""


class DuplicateKeyError(DefinitionError):
    """Two definitions produce the same asset key."""


class GroupConflictError(DefinitionError):
    """A group name was applied to assets that already have one."""


class UnknownResourceError(DefinitionError):
    """An asset requires a resource key that is not provided."""


class SelectionError(TesseraError):
    """A selection expression that cannot be parsed, or resolves against nothing.

    ``position`` is the 0-based offset in ``expression`` where the problem is, when known.
    """

    def __init__(self, message: str, expression: str = "", position: int | None = None) -> None:
        self.expression = expression
        self.position = position
        if position is not None and expression:
            message = f"{message} at position {position}:\n  {expression}\n  {' ' * position}^"
        super().__init__(message)


class ConfigInvalid(TesseraError):
    """Run config that does not validate against an asset's config schema.

    ``asset`` is the asset's user string and ``field`` the dotted path of the failing field.
    """

    def __init__(self, message: str, asset: str = "", field: str = "") -> None:
        self.asset = asset
        self.field = field
        super().__init__(message)


class SettingsInvalid(TesseraError):
    """An environment variable the SDK reads holds a value it cannot use."""


class ResourceSetupError(TesseraError):
    """A resource's ``setup_for_execution`` (or ``yield_for_execution``) raised."""

    def __init__(self, message: str, resource_key: str) -> None:
        super().__init__(message)
        self.resource_key = resource_key


class RunFailedError(TesseraError):
    """A run failed and the caller asked for an exception."""


class RunInterrupted(TesseraError):
    """The run was asked to stop; raised inside the step that was running."""
