"""Fixtures for the SDK's tests: isolated storage, small retry delays, user-code packages."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeloc import RetryPolicy

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@pytest.fixture(autouse=True)
def _isolated_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing a test materializes may land in the developer's .tessera/ or a shared bucket.
    for name in ("TESSERA_STORAGE", "TESSERA_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local ``TESSERA_STORAGE`` that outlives one ``materialize()`` call."""
    path = tmp_path / "storage"
    monkeypatch.setenv("TESSERA_STORAGE", str(path))
    return path


@pytest.fixture
def retry_delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the engine computes between retries; it waits a thousandth of each."""
    computed: list[float] = []
    original = RetryPolicy.calculate_delay

    def calculate_delay(self: RetryPolicy, attempt: int, rng: Any = None) -> float:
        delay = original(self, attempt, rng)
        computed.append(delay)
        return delay / 1000

    monkeypatch.setattr(RetryPolicy, "calculate_delay", calculate_delay)
    return computed


@pytest.fixture
def user_code(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tests/resources`` on ``sys.path``; the ``sdk_*`` modules imported are forgotten after."""
    monkeypatch.syspath_prepend(str(RESOURCES))
    yield RESOURCES
    for name in [m for m in sys.modules if m.startswith("sdk_")]:
        del sys.modules[name]
