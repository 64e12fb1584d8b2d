"""``EnvVar``: a resource setting read from the environment where the resource is used.

A secret given as ``EnvVar("API_TOKEN")`` is never read where the definitions load (the
central server, a CI check) nor stored in a snapshot: only its name travels, and the value is
read when a run sets the resource up.
"""

from __future__ import annotations

import os

__all__ = ["EnvVar"]


class EnvVar(str):
    """The name of an environment variable, standing for its value in a resource field.

    It is a ``str`` (the name), so a field typed ``str`` accepts it; the resource reads the
    value when it is set up for a run.
    """

    __slots__ = ()

    @property
    def env_var_name(self) -> str:
        """The name of the variable."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """The variable's value now, or ``default`` when it is not set."""
        return os.environ.get(self.env_var_name, default)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"
