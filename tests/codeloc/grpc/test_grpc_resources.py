"""A deployed run sets up its resources in its run worker, and a failed setup fails it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeloc import AssetKey
from codeloc.grpc import CodeLocationClient, RunLaunch

if TYPE_CHECKING:
    from conftest import Receiver, StartServer


def run(
    client: CodeLocationClient, receiver: Receiver, log: Path, **config: Any
) -> list[dict[str, Any]]:
    run_config = {"resources": {"warehouse": {"config": {"log": str(log), **config}}}}
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    client.launch(
        RunLaunch(run_id, (AssetKey("noted"),), receiver.destination, run_config=run_config)
    )
    return receiver.wait_for_end(run_id)


def test_the_run_worker_sets_up_and_tears_down_around_the_steps(
    start_server: StartServer, receiver: Receiver, tmp_path: Path
) -> None:
    client = CodeLocationClient(start_server("grpc_resources").address)
    client.wait_until_loaded(30)

    log = tmp_path / "ok.log"
    events = run(client, receiver, log)
    assert events[-1]["type"] == "RUN_SUCCESS", events
    marks = [line.split() for line in log.read_text().splitlines()]
    assert [what for what, _ in marks] == ["setup", "asset-opened", "teardown"]
    [pid] = {pid for _, pid in marks}
    assert pid != str(os.getpid())  # the worker's, forked for the run

    log = tmp_path / "failing.log"
    events = run(client, receiver, log, fail_setup=True)
    assert events[-1]["type"] == "RUN_FAILURE"
    assert "resource 'warehouse' failed to set up" in events[-1]["message"]
    assert "warehouse unreachable" in events[-1]["message"]
    assert not [e for e in events if e["type"] == "STEP_START"]
    assert log.read_text().split()[0] == "setup"
