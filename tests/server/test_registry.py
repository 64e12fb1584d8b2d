"""The location registry: refreshing locations and merging their graph."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from codeloc import AssetKey, asset
from codeloc._snapshot import LocationSnapshot
from codeloc.grpc import LocationInfo, RunLaunch, RunState
from server.workspace import registry as registry_module
from server.workspace.registry import LocationClient, LocationRegistry
from tests.server.conftest import run_apart


class FakeClient:
    """A location that answers from memory."""

    def __init__(self, snapshot: LocationSnapshot, server_id: str = "s1") -> None:
        self.current = snapshot
        self.server_id = server_id

    def info(self) -> LocationInfo:
        return LocationInfo("fake", self.server_id, "0", "loaded", self.current.hash)

    def snapshot(self) -> LocationSnapshot:
        return self.current

    def launch(self, launch: RunLaunch) -> RunState:
        raise AssertionError("the registry never launches a run")

    def cancel(self, run_id: str) -> RunState:
        raise AssertionError("the registry never cancels a run")

    def close(self) -> None:
        pass


@asset
def a() -> int:
    return 1


@asset(deps=[AssetKey("a")])
def b() -> int:
    return 2


@asset(deps=[AssetKey("b")])
def c() -> int:
    return 3


@pytest.fixture
def counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    builds: list[int] = []
    real = registry_module.MergedGraph

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, snapshots: Mapping[str, LocationSnapshot]) -> None:
            builds.append(len(snapshots))
            super().__init__(snapshots)

    monkeypatch.setattr(registry_module, "MergedGraph", Counting)
    return builds


def registry_of(
    snapshots_of: Callable[[Mapping[str, Sequence[Any]]], dict[str, LocationSnapshot]],
    locations: Mapping[str, Sequence[Any]],
) -> tuple[LocationRegistry, dict[str, FakeClient]]:
    clients = {name: FakeClient(snap) for name, snap in snapshots_of(locations).items()}
    by_address: dict[str, LocationClient] = {f"{name}:1": c for name, c in clients.items()}
    registry = LocationRegistry(by_address.__getitem__)
    for name in clients:
        registry.add(name, f"{name}:1", source="workspace")
    return registry, clients


def test_refreshing_every_location_merges_the_graph_once(
    snapshots_of: Callable[..., dict[str, LocationSnapshot]], counted_builds: list[int]
) -> None:
    registry, _ = registry_of(snapshots_of, {"A": [a], "B": [b], "C": [c]})
    counted_builds.clear()
    run_apart(registry.refresh_all())
    assert counted_builds == [3]
    graph = registry.graph
    assert list(graph.parents(AssetKey("c"))) == [AssetKey("b")]
    assert {s.status for s in registry.states()} == {"loaded"}

    # Nothing changed: nothing is built.
    run_apart(registry.refresh_all())
    assert counted_builds == [3]
    assert registry.graph is graph


def test_one_location_refreshed_alone_rebuilds_at_once(
    snapshots_of: Callable[..., dict[str, LocationSnapshot]], counted_builds: list[int]
) -> None:
    registry, clients = registry_of(snapshots_of, {"A": [a], "B": [b]})
    run_apart(registry.refresh_all())
    clients["B"].current = snapshots_of({"B": [b, c]})["B"]
    clients["B"].server_id = "s2"
    counted_builds.clear()
    registry.refresh("B")
    assert counted_builds == [2]
    assert AssetKey("c") in registry.graph.all_keys


class HangingClient(FakeClient):
    """A location whose snapshot never comes, until the test lets it."""

    def __init__(self, snapshot: LocationSnapshot) -> None:
        super().__init__(snapshot)
        self.release = threading.Event()

    def snapshot(self) -> LocationSnapshot:
        self.release.wait(30)
        return self.current


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_a_location_whose_snapshot_hangs_holds_no_other(
    snapshots_of: Callable[..., dict[str, LocationSnapshot]],
) -> None:
    snaps = snapshots_of({"A": [a], "B": [b]})
    steady, hanging = FakeClient(snaps["A"]), HangingClient(snaps["B"])
    by_address: dict[str, LocationClient] = {"A:1": steady, "B:1": hanging}
    registry = LocationRegistry(by_address.__getitem__, poll_seconds=0.05)
    registry.add("A", "A:1")
    registry.add("B", "B:1")

    async def scenario() -> None:
        registry.start()  # returns at once: nothing waits for B
        try:
            await eventually(lambda: registry.state("A").status == "loaded")
            assert AssetKey("a") in registry.graph.all_keys
            # A restarts with one asset more: noticed while B still hangs.
            steady.current = snapshots_of({"A": [a, c]})["A"]
            steady.server_id = "s2"
            await eventually(lambda: AssetKey("c") in registry.graph.all_keys)
            assert registry.state("B").status == "loading"
            # Added while polling: polled too, B hanging or not.
            by_address["C:1"] = FakeClient(snapshots_of({"C": [c]})["C"])
            registry.add("C", "C:1")
            await eventually(lambda: registry.state("C").status == "loaded")
            hanging.release.set()
            await eventually(lambda: AssetKey("b") in registry.graph.all_keys)
        finally:
            hanging.release.set()
            await registry.stop()

    run_apart(scenario())
