"""The log lines of a ``tessera codeloc`` process and its run workers: format and fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeloc import AssetKey
from codeloc.grpc import RunLaunch

if TYPE_CHECKING:
    from conftest import CodelocProcess, Receiver

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
Start = Callable[..., "CodelocProcess"]


def test_a_run_worker_logs_with_its_run_id_once_not_into_its_events(
    codeloc_process: Start, receiver: Receiver, tmp_path: Path
) -> None:
    process = codeloc_process(
        "-m",
        "grpc_runs",
        "-d",
        str(RESOURCES),
        "--name",
        "logged",
        env={"TESSERA_LOG_FORMAT": "json", "TESSERA_STORAGE": str(tmp_path)},
    )
    process.client.wait_until_loaded(30)
    process.client.launch(RunLaunch("logged-run", (AssetKey("hello"),), receiver.destination))
    events = receiver.wait_for_end("logged-run")
    code, err = process.stop()
    assert code == 0, err

    # The operator's view: the step's context.log line, as JSON, with the run it belongs to.
    # ("stopped NAME" is a plain line, like "serving NAME on ..." on stdout: tools read them.)
    lines: list[dict[str, Any]] = [json.loads(e) for e in err.splitlines() if e.startswith("{")]
    [user] = [e for e in lines if e["logger"] == "tessera.user"]
    assert user["level"] == "INFO"
    assert user["run_id"] == "logged-run"
    assert user["message"].endswith("hello from context.log")

    # The run's view: that line once, as the LOG event context.log makes; the captured
    # stderr holds only what the asset printed there itself.
    logs = [e for e in events if e["type"] == "LOG"]
    assert [e["message"] for e in logs if "context.log" in e["message"]] == [
        "hello from context.log"
    ]
    assert "and on stderr" in [e["message"] for e in logs]
