"""The loaders that find definitions by the calling module or by a package's name."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeloc import (
    AssetKey,
    Definitions,
    GroupConflictError,
    ResourceDefinition,
    load_assets_from_package_name,
    load_definitions_from_module,
    load_definitions_from_modules,
    load_definitions_from_package_name,
)

PACKAGE = "sdk_loaders_pkg"


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    root = tmp_path / PACKAGE
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from codeloc import Definitions, ScheduleDefinition, asset, define_asset_job

            @asset
            def first() -> int:
                return 1

            job = define_asset_job("first_job", selection="first")
            schedule = ScheduleDefinition(job=job, cron_schedule="0 * * * *")
            inner = Definitions(assets=[first])  # left out by the definitions loaders
            """
        )
    )
    (root / "second.py").write_text(
        textwrap.dedent(
            """
            from codeloc import asset, load_assets_from_current_module

            @asset(group_name="own")
            def second() -> int:
                return 2

            CURRENT = load_assets_from_current_module()
            BY_PREFIX = {"p": load_assets_from_current_module(key_prefix="p")}  # not collected

            @asset
            def after_the_call() -> int:
                return 3
            """
        )
    )
    (root / "third.py").write_text(
        textwrap.dedent(
            """
            from codeloc import asset, load_definitions_from_current_module

            @asset
            def third() -> int:
                return 3

            defs = load_definitions_from_current_module()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield PACKAGE
    for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
        del sys.modules[name]


def test_load_assets_from_current_module_finds_what_is_above_the_call(package: str) -> None:
    from sdk_loaders_pkg import second

    assert [a.key for a in second.CURRENT] == [AssetKey("second")]
    assert [a.key for a in second.BY_PREFIX["p"]] == [AssetKey(["p", "second"])]


def test_load_assets_from_package_name_walks_the_package(package: str) -> None:
    assets = load_assets_from_package_name(package)
    keys = {k for a in assets for k in a.keys}  # type: ignore[union-attr]
    assert keys == {
        AssetKey("first"),
        AssetKey("second"),
        AssetKey("after_the_call"),
        AssetKey("third"),
    }
    with pytest.raises(GroupConflictError, match="second"):
        load_assets_from_package_name(package, group_name="other")


def test_load_definitions_from_module_takes_assets_jobs_and_schedules(package: str) -> None:
    import sdk_loaders_pkg

    resource = ResourceDefinition.hardcoded_resource(1)
    defs = load_definitions_from_module(sdk_loaders_pkg, resources={"thing": resource})
    assert isinstance(defs, Definitions)
    assert defs.resolve_all_asset_keys() == [AssetKey("first")]
    assert [j.name for j in defs.jobs] == ["first_job"]
    assert [s.job.name for s in defs.schedules] == ["first_job"]
    assert defs.resources["thing"] is resource


def test_load_definitions_from_modules_and_packages(package: str) -> None:
    import sdk_loaders_pkg
    from sdk_loaders_pkg import second, third

    defs = load_definitions_from_modules([sdk_loaders_pkg, second])
    assert set(defs.resolve_all_asset_keys()) == {
        AssetKey("first"),
        AssetKey("second"),
        AssetKey("after_the_call"),
    }
    assert third.defs.resolve_all_asset_keys() == [AssetKey("third")]
    whole = load_definitions_from_package_name(package)
    assert len(whole.resolve_all_asset_keys()) == 4
