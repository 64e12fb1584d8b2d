"""Finding definitions in user code: modules, packages, files."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from codeloc._assets import AssetsDefinition
from codeloc._definitions import Definitions
from codeloc._errors import DefinitionError, DuplicateKeyError
from codeloc._jobs import AssetJob, ScheduleDefinition, SensorDefinition
from codeloc._key import AssetKey, CoercibleToAssetKeyPrefix
from codeloc._spec import AssetSpec

__all__ = [
    "definitions_from_module",
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
    "load_definitions",
    "load_definitions_from_current_module",
    "load_definitions_from_module",
    "load_definitions_from_modules",
    "load_definitions_from_package_module",
    "load_definitions_from_package_name",
]


def load_assets_from_modules(
    modules: Iterable[ModuleType],
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
) -> list[AssetsDefinition | AssetSpec]:
    """Every asset definition at module level in ``modules`` (lists of them included).

    ``group_name`` is applied to each (one that already has a group raises
    ``GroupConflictError``) and ``key_prefix`` is put in front of each key, and of each
    upstream key that is itself among the loaded assets, so that their dependencies hold.

    One definition found in several modules (imported from one into another) is taken once;
    two definitions of the same key raise ``DuplicateKeyError`` naming both.
    """
    found: dict[int, AssetsDefinition | AssetSpec] = {}
    found_in: dict[AssetKey, tuple[AssetsDefinition, str]] = {}
    for module in modules:
        for name, value in vars(module).items():
            for item in _asset_values(value):
                if id(item) in found:
                    continue
                found[id(item)] = item
                if isinstance(item, AssetsDefinition):
                    where = f"{module.__name__}.{name}"
                    for key in item.keys:
                        other = found_in.setdefault(key, (item, where))
                        if other[0] is not item:
                            raise DuplicateKeyError(
                                f"asset key '{key.to_user_string()}' is defined twice, in the "
                                f"modules loaded together: by {other[1]} and by {where}"
                            )
    renames: dict[AssetKey, AssetKey] = {}
    if key_prefix:
        renames = {
            key: key.with_prefix(key_prefix)
            for item in found.values()
            if isinstance(item, AssetsDefinition)
            for key in item.keys
        }
    return [_apply(item, group_name, key_prefix, renames) for item in found.values()]


def load_assets_from_package_module(
    package_module: ModuleType,
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
) -> list[AssetsDefinition | AssetSpec]:
    """Like ``load_assets_from_modules`` over a package and every submodule under it."""
    return load_assets_from_modules(_walk(package_module), group_name, key_prefix)


def load_assets_from_package_name(
    package_name: str,
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
) -> list[AssetsDefinition | AssetSpec]:
    """Like ``load_assets_from_package_module`` over the package imported by its name."""
    return load_assets_from_package_module(
        importlib.import_module(package_name), group_name, key_prefix
    )


def load_assets_from_current_module(
    group_name: str | None = None,
    key_prefix: CoercibleToAssetKeyPrefix = None,
) -> list[AssetsDefinition | AssetSpec]:
    """Like ``load_assets_from_modules`` over the module that calls it.

    Only what is defined above the call is found: the module is still being run.
    """
    return load_assets_from_modules([_caller_module()], group_name, key_prefix)


def _caller_module() -> ModuleType:
    """The module of the code that called the public loader that calls this."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    name = caller.f_globals.get("__name__") if caller is not None else None
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is None:
        raise DefinitionError("could not tell which module called the loader")
    return module


def _walk(package: ModuleType) -> list[ModuleType]:
    modules = [package]
    path = getattr(package, "__path__", None)
    if path is None:
        return modules
    for info in pkgutil.walk_packages(path, prefix=package.__name__ + "."):
        modules.append(importlib.import_module(info.name))
    return modules


def _asset_values(value: Any) -> list[AssetsDefinition | AssetSpec]:
    if isinstance(value, AssetsDefinition | AssetSpec):
        return [value]
    if isinstance(value, list | tuple) and value and not isinstance(value, AssetKey):
        items = [v for v in value if isinstance(v, AssetsDefinition | AssetSpec)]
        if len(items) == len(value):
            return items
    return []


def _apply(
    item: AssetsDefinition | AssetSpec,
    group: str | None,
    prefix: CoercibleToAssetKeyPrefix,
    renames: dict[AssetKey, AssetKey],
) -> AssetsDefinition | AssetSpec:
    if group is None and not prefix:
        return item
    if isinstance(item, AssetSpec):
        # A declared external asset keeps its key: it names something defined elsewhere.
        return item
    return item.with_attributes(group_name=group, key_prefix=prefix, upstream_renames=renames)


# -- a code location's definitions ------------------------------------------------------------


def definitions_from_module(module: ModuleType) -> Definitions:
    """The location a module defines: its ``Definitions`` object, else its module-level assets."""
    found = [v for v in vars(module).values() if isinstance(v, Definitions)]
    if len(found) > 1:
        names = [k for k, v in vars(module).items() if isinstance(v, Definitions)]
        raise DefinitionError(
            f"module '{module.__name__}' has {len(found)} Definitions objects ({names}); "
            "a code location has exactly one"
        )
    if found:
        return found[0]
    assets = load_assets_from_modules([module])
    if not assets:
        raise DefinitionError(
            f"module '{module.__name__}' defines no assets and no Definitions object"
        )
    return Definitions(assets=assets)


def load_definitions_from_modules(
    modules: Iterable[ModuleType], resources: Mapping[str, Any] | None = None
) -> Definitions:
    """A ``Definitions`` of everything at module level in ``modules``: its assets (as
    ``load_assets_from_modules`` finds them), jobs, schedules and sensors, with ``resources``.

    A ``Definitions`` object found in a module is not taken apart: it is left out.
    """
    modules = list(modules)
    jobs: dict[int, AssetJob] = {}
    schedules: dict[int, ScheduleDefinition] = {}
    sensors: dict[int, SensorDefinition] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, AssetJob):
                jobs.setdefault(id(value), value)
            elif isinstance(value, ScheduleDefinition):
                schedules.setdefault(id(value), value)
            elif isinstance(value, SensorDefinition):
                sensors.setdefault(id(value), value)
    return Definitions(
        assets=load_assets_from_modules(modules),
        jobs=list(jobs.values()),
        schedules=list(schedules.values()),
        sensors=list(sensors.values()),
        resources=resources,
    )


def load_definitions_from_module(
    module: ModuleType, resources: Mapping[str, Any] | None = None
) -> Definitions:
    """``load_definitions_from_modules`` over one module."""
    return load_definitions_from_modules([module], resources)


def load_definitions_from_current_module(
    resources: Mapping[str, Any] | None = None,
) -> Definitions:
    """``load_definitions_from_modules`` over the module that calls it (what is defined
    above the call)."""
    return load_definitions_from_modules([_caller_module()], resources)


def load_definitions_from_package_module(
    package_module: ModuleType, resources: Mapping[str, Any] | None = None
) -> Definitions:
    """``load_definitions_from_modules`` over a package and every submodule under it."""
    return load_definitions_from_modules(_walk(package_module), resources)


def load_definitions_from_package_name(
    package_name: str, resources: Mapping[str, Any] | None = None
) -> Definitions:
    """``load_definitions_from_package_module`` over the package imported by its name."""
    return load_definitions_from_package_module(importlib.import_module(package_name), resources)


def load_definitions(
    *,
    module: str | None = None,
    file: str | None = None,
    package: str | None = None,
    working_directory: str | None = None,
) -> Definitions:
    """Import user code the way ``tessera codeloc`` and ``tessera materialize`` do."""
    if working_directory and working_directory not in sys.path:
        sys.path.insert(0, working_directory)
    elif "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if file is not None:
        path = Path(file).resolve()
        if not path.exists():
            raise DefinitionError(f"no such file: {file}")
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise DefinitionError(f"cannot load {file} as a Python module")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = mod
        spec.loader.exec_module(mod)
        return definitions_from_module(mod)
    if package is not None:
        pkg = importlib.import_module(package)
        found = [v for v in vars(pkg).values() if isinstance(v, Definitions)]
        if found:
            return definitions_from_module(pkg)
        return Definitions(assets=load_assets_from_package_module(pkg))
    if module is not None:
        return definitions_from_module(importlib.import_module(module))
    raise DefinitionError("give a module (-m), a file (-f) or a package (--package)")
