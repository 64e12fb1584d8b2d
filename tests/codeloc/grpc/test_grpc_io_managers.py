"""A deployed run stores and loads its values with the location's own IO manager, in the
step processes of the multiprocess executor; a failing load names the asset and the input."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeloc import AssetKey
from codeloc.grpc import CodeLocationClient, RunLaunch

if TYPE_CHECKING:
    from conftest import Receiver, StartServer


def run(
    client: CodeLocationClient, receiver: Receiver, base: Path, *keys: str
) -> tuple[str, list[dict[str, Any]]]:
    run_config = {"resources": {"io_manager": {"config": {"base": str(base)}}}}
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    client.launch(
        RunLaunch(
            run_id,
            tuple(AssetKey(k) for k in keys),
            receiver.destination,
            run_config=run_config,
            executor="multiprocess",
        )
    )
    return run_id, receiver.wait_for_end(run_id)


def test_values_go_through_the_user_io_manager_in_the_step_processes(
    start_server: StartServer, receiver: Receiver, tmp_path: Path
) -> None:
    client = CodeLocationClient(start_server("grpc_io_managers").address)
    client.wait_until_loaded(30)

    run_id, events = run(client, receiver, tmp_path, "orders", "total")
    assert events[-1]["type"] == "RUN_SUCCESS", [e["message"] for e in events]
    orders = json.loads((tmp_path / "orders.json").read_text())
    total = json.loads((tmp_path / "total.json").read_text())
    assert (orders["value"], total["value"]) == ([3, 4], 7)
    assert orders["name"] == "result"
    assert orders["step_key"] == "orders"
    assert orders["run_id"] == run_id
    assert orders["metadata"] == {"owner": "sales"}
    assert orders["resource_config"] == {"base": str(tmp_path)}
    # Each step ran in a process of its own, neither of them this one.
    [(name, key, loader_pid)] = [
        line.split() for line in (tmp_path / "loads.txt").read_text().splitlines()
    ]
    assert (name, key) == ("orders", "orders")
    assert len({orders["pid"], total["pid"], int(loader_pid), os.getpid()}) == 3
    assert total["pid"] == int(loader_pid)
    # What handle_output added is on the materialization.
    [materialized] = [
        e for e in events if e["type"] == "ASSET_MATERIALIZATION" and e["step_key"] == "orders"
    ]
    assert str(tmp_path / "orders.json") in json.dumps(materialized["metadata"])


def test_a_failing_input_manager_fails_the_step_naming_asset_and_input(
    start_server: StartServer, receiver: Receiver, tmp_path: Path
) -> None:
    client = CodeLocationClient(start_server("grpc_io_managers").address)
    client.wait_until_loaded(30)

    _, events = run(client, receiver, tmp_path, "orders", "archived")
    assert events[-1]["type"] == "RUN_FAILURE"
    [failure] = [e for e in events if e["type"] == "STEP_FAILURE"]
    assert failure["step_key"] == "archived"
    assert "input 'orders'" in failure["message"]
    assert "asset 'orders'" in failure["message"]
    assert "IO manager 'archive'" in failure["message"]
    assert "the archive is offline" in failure["message"]
    assert (tmp_path / "orders.json").exists()  # the upstream step stored its value
