"""The IO managers Tessera ships: how an asset's value is stored and loaded again by its
downstream assets when the user configures nothing else (``IOManager`` itself, and the
contexts its methods get, are in ``codeloc._io_manager``)."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from codeloc._config_schema import Field
from codeloc._errors import TesseraError
from codeloc._io_context import InputContext, OutputContext
from codeloc._io_manager import IOManager, IOManagerDefinition
from codeloc._key import AssetKey
from codeloc._resource_def import InitResourceContext
from codeloc._settings import Settings

__all__ = [
    "FilesystemIOManager",
    "IOManager",
    "InMemoryIOManager",
    "InputContext",
    "OutputContext",
    "default_io_manager",
    "fs_io_manager",
    "mem_io_manager",
]


class InMemoryIOManager(IOManager):
    """Keeps values in this process: for tests and for the in-process executor."""

    persistent = False

    def __init__(self) -> None:
        self.values: dict[AssetKey, Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.values[context.asset_key] = obj

    def load_input(self, context: InputContext) -> Any:
        try:
            return self.values[context.asset_key]
        except KeyError:
            raise TesseraError(
                f"no stored value for asset '{context.asset_key.to_user_string()}' in memory; "
                "materialize it in the same run first"
            ) from None


class FilesystemIOManager(IOManager):
    """Pickles each asset to ``<base>/<key segments>``; ``base`` is a local path or an fsspec URL.

    Writes go to a temporary name first and are renamed into place, so a reader never
    sees half a file. The bytes a run wrote are also kept in memory (up to
    ``read_cache_bytes`` in all) and read back from there by the same run's downstream
    steps: the value is the same, and a fan of 1,000 assets reading one parent skips 1,000
    file reads. Only the writing run reads from this cache, so a value another process
    wrote since is never hidden.
    """

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        *,
        read_cache_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        base = str(base_dir) if base_dir is not None else storage_location()
        self.base_dir = base
        self._remote = "://" in base and not base.startswith("file://")
        if base.startswith("file://"):
            base = base[len("file://") :]
        self._local_base = None if self._remote else Path(base)
        self._made: set[Path] = set()
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, AssetKey], bytes] = {}
        self._cache_room = read_cache_bytes

    def _local_path(self, key: AssetKey) -> Path:
        assert self._local_base is not None
        return self._local_base.joinpath(*key.parts)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self._remember(context.run_id, context.asset_key, data)
        if self._remote:
            path = self._upath(context.asset_key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        target = self._local_path(context.asset_key)
        parent = target.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._made.add(parent)
        tmp = parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)

    def load_input(self, context: InputContext) -> Any:
        cached = self._cache.get((context.run_id, context.asset_key))
        if cached is not None:
            return pickle.loads(cached)
        try:
            if self._remote:
                data = self._upath(context.asset_key).read_bytes()
            else:
                data = self._local_path(context.asset_key).read_bytes()
        except FileNotFoundError:
            raise TesseraError(
                f"asset '{context.asset_key.to_user_string()}' has no stored value under "
                f"{self.base_dir}; materialize it first"
            ) from None
        return pickle.loads(data)

    def _remember(self, run_id: str, key: AssetKey, data: bytes) -> None:
        with self._lock:
            if self._cache and next(iter(self._cache))[0] != run_id:
                # A new run: what the last one wrote is no use to it.
                self._cache_room += sum(len(v) for v in self._cache.values())
                self._cache.clear()
            old = self._cache.pop((run_id, key), None)
            if old is not None:
                self._cache_room += len(old)
            if len(data) <= self._cache_room:
                self._cache[(run_id, key)] = data
                self._cache_room -= len(data)

    def _upath(self, key: AssetKey) -> Any:
        from upath import UPath

        return UPath(self.base_dir).joinpath(*key.parts)


def _filesystem(context: InitResourceContext) -> FilesystemIOManager:
    return FilesystemIOManager(context.resource_config.get("base_dir"))


def _in_memory(_context: InitResourceContext) -> InMemoryIOManager:
    return InMemoryIOManager()


fs_io_manager = IOManagerDefinition(
    _filesystem,
    config_schema={"base_dir": Field(str, is_required=False)},
    description="Built-in filesystem IO manager that stores and retrieves values using pickling.",
)
"""The reference's function-style ``FilesystemIOManager``: config ``base_dir`` (by default
``TESSERA_STORAGE``, else under ``TESSERA_HOME``), e.g.
``fs_io_manager.configured({"base_dir": "/data"})``."""

mem_io_manager = IOManagerDefinition(
    _in_memory, description="Built-in IO manager that stores and retrieves values in memory."
)
"""The reference's function-style ``InMemoryIOManager``: a new, empty one each time it is set
up (once per run in process; once per step with the multiprocess executor)."""


def storage_location() -> str:
    """Where values are stored by default: ``TESSERA_STORAGE``, else under ``TESSERA_HOME``."""
    return Settings.from_env().storage_location


def default_io_manager(ephemeral: bool) -> IOManager:
    """The IO manager a run gets when none is configured.

    An ephemeral run (``materialize()`` in a test or a notebook) stores values in a fresh
    temporary directory unless ``TESSERA_STORAGE`` is set; a deployed location uses storage.
    """
    if ephemeral and Settings.from_env().storage is None:
        path = tempfile.mkdtemp(prefix="tessera-")
        manager = FilesystemIOManager(path)
        # Removed with the manager, as an ephemeral instance should be. Not through a
        # TemporaryDirectory: its clean-up at garbage collection raises a ResourceWarning.
        weakref.finalize(manager, shutil.rmtree, path, ignore_errors=True)
        return manager
    return FilesystemIOManager()
