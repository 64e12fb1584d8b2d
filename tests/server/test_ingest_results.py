"""What a run of real assets tells the server: data versions, and steps skipped on purpose.

The events are those the engine emits for a run (``materialize``), posted to the ingest
endpoint as a run's worker posts them: a ``DataVersion`` given by ``Output`` or
``MaterializeResult`` is stored on the materialization and read back from the API, and a
step skipped because its upstream asset gave no output is listed as ``STEP_SKIPPED``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from codeloc import DataVersion, MaterializeResult, Output, asset, materialize
from codeloc._key import AssetKey
from codeloc._wire import event_to_json
from server.api.app import create_app
from server.core.config import Settings
from server.storage.db import Database
from server.storage.events import list_materializations
from tests.server.conftest import start_run

RUN = "run-results"
TOKEN = "worker-token"


@asset
def versioned() -> Output:
    return Output(1, data_version=DataVersion("etag-7"))


@asset
def stored_elsewhere() -> MaterializeResult:
    return MaterializeResult(data_version="rows-42")


@asset(output_required=False)
def optional() -> Iterator[Output]:
    yield from ()


@asset
def reads_optional(optional: int) -> int:
    return optional


ASSETS = [versioned, stored_elsewhere, optional, reads_optional]


@pytest.fixture
def database(database: Database) -> Database:
    """The test's database, holding the started run whose events are posted."""
    keys = [key for a in ASSETS for key in a.keys]
    start_run(database, RUN, location="here", asset_keys=keys, token=TOKEN)
    return database


@pytest.fixture
def client(tmp_path: Path, database: Database, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(home=tmp_path, database_url=database_url))) as c:
        yield c


def test_data_versions_and_skipped_steps_reach_the_server(
    client: TestClient, database: Database
) -> None:
    result = materialize(ASSETS)
    assert result.success
    # A worker numbers its events from 3; the run's first and last are the server's to write.
    kept = [e for e in result.all_events if e.type.value not in ("RUN_START", "RUN_SUCCESS")]
    events = [event_to_json(e.with_seq(seq)) for seq, e in enumerate(kept, start=3)]
    response = client.post(
        f"/api/v1/runs/{RUN}/events",
        json={"run_id": RUN, "events": events},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text

    with database.transaction() as session:
        [row] = list_materializations(session, AssetKey("versioned"))
        assert row.data_version == "etag-7"
    with database.transaction() as session:
        [row] = list_materializations(session, AssetKey("stored_elsewhere"))
        assert row.data_version == "rows-42"
        assert list_materializations(session, AssetKey("optional")) == []

    listed = client.get(f"/api/v1/runs/{RUN}/events").json()
    [skip] = [e for e in listed if e["type"] == "STEP_SKIPPED"]
    assert skip["step_key"] == "reads_optional"
    assert "'optional' was not materialized" in skip["message"]
