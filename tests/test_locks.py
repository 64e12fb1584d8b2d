"""The lock files in ``requirements/`` agree with ``pyproject.toml`` and with one another.

No index is asked: this reads the files. A dependency added to or changed in
``pyproject.toml`` without ``make lock`` fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Each lock, and the extras it holds beyond the base dependencies.
PROFILES = {
    "dev": ("dev", "server", "celery"),
    "server": ("server", "celery"),
    "codeloc": ("celery",),
}
SERVER_ONLY = {"fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "uvicorn"}

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def read_lock(profile: str) -> dict[str, tuple[str, str | None, int]]:
    """``{name: (version, marker, number of hashes)}`` of ``requirements/<profile>.txt``."""
    pins: dict[str, tuple[str, str | None, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements" / f"{profile}.txt").read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            assert current not in pins, f"{profile}: {current} pinned twice"
            pins[current] = (match[2], match[3], 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, marker, hashes = pins[current]
            pins[current] = (version, marker, hashes + 1)
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    wanted = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        for raw in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(raw)
            if canonicalize_name(requirement.name) != "tessera":  # dev names the other extras
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize("profile", PROFILES)
def test_every_declared_requirement_is_locked_within_its_range(profile: str) -> None:
    pins = read_lock(profile)
    for requirement in declared(PROFILES[profile]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{profile}: {requirement} is not in the lock; run make lock"
        version, _, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{profile}: {name}=={version} is outside {requirement}; run make lock"
        )
        for extra in requirement.extras:  # psycopg[binary] brings psycopg-binary
            assert f"{name}-{extra}" in pins, f"{profile}: {name}[{extra}] is not locked"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_pin_has_hashes(profile: str) -> None:
    pins = read_lock(profile)
    assert pins
    assert [name for name, (_, _, hashes) in pins.items() if not hashes] == []
    for _, marker, _ in pins.values():
        if marker:
            Marker(marker)  # a marker plain pip can read, or this raises


def test_the_locks_agree_and_a_code_location_has_no_server_library() -> None:
    dev = read_lock("dev")
    for profile in ("server", "codeloc"):
        pins = read_lock(profile)
        assert set(pins) <= set(dev), profile
        assert {n: v for n, (v, _, _) in pins.items()} == {n: dev[n][0] for n in pins}, profile
    assert set(read_lock("server")) >= SERVER_ONLY
    assert SERVER_ONLY.isdisjoint(read_lock("codeloc"))
