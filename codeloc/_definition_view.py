"""``DefinitionView``: what the modules below ``_assets`` read of an ``AssetsDefinition``.

``_context`` (``context.assets_def``) and ``_io_manager`` (``check_io_manager_keys``) are
imported by ``_assets``, so they cannot import ``AssetsDefinition`` (the SDK's modules form
no cycle, even under ``TYPE_CHECKING``): they name it by this protocol instead. Its inputs
are described too, for ``_signature`` (where ``InputSpec`` lives) reaches ``_io_manager``
through ``_config``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from codeloc._key import AssetKey
from codeloc._spec import AssetSpec

__all__ = ["DefinitionView", "InputView"]


class InputView(Protocol):
    """An input of the definition (an ``InputSpec``)."""

    @property
    def param(self) -> str: ...

    @property
    def key(self) -> AssetKey: ...

    @property
    def input_manager_key(self) -> str | None: ...


class DefinitionView(Protocol):
    """An ``AssetsDefinition`` as the modules it imports see it."""

    @property
    def node_name(self) -> str: ...

    @property
    def output_names(self) -> Sequence[str]: ...

    @property
    def specs(self) -> Sequence[AssetSpec]: ...

    @property
    def inputs(self) -> Sequence[InputView]: ...

    def io_manager_key_for(self, key: AssetKey) -> str: ...
