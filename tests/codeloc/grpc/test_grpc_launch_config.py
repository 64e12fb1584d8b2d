"""A deployed launch is refused, before any run worker starts, when the config of a resource
configured at launch or the classic config of an asset does not validate."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from codeloc import AssetKey, ConfigInvalid
from codeloc.grpc import CodeLocationClient, RunLaunch

if TYPE_CHECKING:
    from conftest import Receiver, StartServer


def launch(client: CodeLocationClient, receiver: Receiver, run_config: dict[str, Any]) -> str:
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    client.launch(
        RunLaunch(run_id, (AssetKey("counted"),), receiver.destination, run_config=run_config)
    )
    return run_id


def test_launch_config_is_validated_at_launch(
    start_server: StartServer, receiver: Receiver
) -> None:
    client = CodeLocationClient(start_server("grpc_launch_config").address)
    client.wait_until_loaded(30)
    ops = {"ops": {"counted": {"config": {"n": 2}}}}

    with pytest.raises(ConfigInvalid, match=r"resource 'warehouse'.*field 'url'"):
        launch(client, receiver, ops)
    with pytest.raises(ConfigInvalid, match=r"asset 'counted'.*field 'n': expected an int"):
        launch(
            client,
            receiver,
            {
                "ops": {"counted": {"config": {"n": "2"}}},
                "resources": {"warehouse": {"config": {"url": "pg"}}},
            },
        )

    run_id = launch(
        client, receiver, {**ops, "resources": {"warehouse": {"config": {"url": "pg"}}}}
    )
    events = receiver.wait_for_end(run_id)
    assert events[-1]["type"] == "RUN_SUCCESS", events
