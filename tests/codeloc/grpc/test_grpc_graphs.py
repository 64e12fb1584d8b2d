"""Graph-backed assets run by a real code location: their ops run inside their one step,
under the multiprocess and the in-process executor alike."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from codeloc import AssetKey, ConfigInvalid
from codeloc._runs import ExecutorName
from codeloc.grpc import CodeLocationClient, RunLaunch

if TYPE_CHECKING:
    from conftest import Receiver, StartServer

KEYS = (AssetKey("raw"), AssetKey("scaled"), AssetKey("low"), AssetKey("high"))
CONFIG = {"ops": {"scaled": {"ops": {"scale": {"config": {"k": 10}}}}}}


def launch(
    client: CodeLocationClient, receiver: Receiver, executor: ExecutorName, run_config: Any
) -> list[dict[str, Any]]:
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    client.launch(
        RunLaunch(run_id, KEYS, receiver.destination, run_config=run_config, executor=executor)
    )
    return receiver.wait_for_end(run_id)


@pytest.fixture(scope="module")
def client(start_server: StartServer) -> CodeLocationClient:
    # Module-scoped, so that the location starts with the module's TESSERA_STORAGE.
    client = CodeLocationClient(start_server("grpc_graphs").address)
    client.wait_until_loaded(30)
    return client


@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_a_graph_asset_runs_its_ops_in_one_step(
    client: CodeLocationClient, receiver: Receiver, storage: Path, executor: ExecutorName
) -> None:
    scaled = next(n for n in client.snapshot().assets if n.key == AssetKey("scaled"))
    assert (scaled.group, scaled.node_name) == ("graphs", "scaled")

    events = launch(client, receiver, executor, CONFIG)
    assert events[-1]["type"] == "RUN_SUCCESS", [e["message"] for e in events]
    steps = [e["step_key"] for e in events if e["type"] == "STEP_START"]
    assert steps == ["raw", "scaled", "extremes"]
    messages = [e["message"] for e in events if e["step_key"] == "scaled" and e["type"] == "LOG"]
    assert "op 'settle' failed (ConnectionError: not yet); retry 1 of 1 in 0s" in messages
    assert "settled 3 values" in messages
    assert [m for m in messages if m.endswith("started")] == [
        "op 'scale' started",
        "op 'settle' started",
        "op 'settle' started",
    ]
    values = {p.name: pickle.loads(p.read_bytes()) for p in storage.rglob("*") if p.is_file()}
    assert values["scaled"] == [10, 30, 40]
    assert (values["low"], values["high"]) == (20, 40)


def test_bad_op_config_is_refused_at_launch(client: CodeLocationClient, receiver: Receiver) -> None:
    bad = {"ops": {"scaled": {"ops": {"scale": {"config": {"k": "ten"}}}}}}
    with pytest.raises(ConfigInvalid) as info:
        launch(client, receiver, "multiprocess", bad)
    assert "op 'scale'" in str(info.value)
    assert (info.value.asset, info.value.field) == ("scaled", "k")
    assert "field 'k': expected an int" in str(info.value)
