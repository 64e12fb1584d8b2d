"""The server's side of the code locations' secret: its settings, the clients the app makes
from them, and the registry's word for a location that refuses them."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeloc.grpc import CodeSource
from codeloc.grpc._security import LocationSecurity
from codeloc.grpc.server import LocationServer
from server.api.app import default_client_factory
from server.cli import main
from server.core.config import SERVER_ONLY_VARIABLES, Settings
from server.devmode import location_environment
from server.workspace.registry import LocationRegistry

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SECRET = "the-deployment-secret"


@pytest.fixture(scope="module")
def guarded_location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocationServer]:
    server = LocationServer(
        CodeSource(module="grpc_runs", working_directory=str(RESOURCES)),
        port=0,
        spool_dir=tmp_path_factory.mktemp("spool"),
        security=LocationSecurity(secret=SECRET),
    )
    with server:
        yield server


def _refreshed(location: LocationServer, settings: Settings) -> LocationRegistry:
    registry = LocationRegistry(default_client_factory(settings))
    registry.add("guarded", location.address)
    deadline = time.monotonic() + 30  # the location may still be loading its code
    while registry.refresh("guarded").status == "loading" and time.monotonic() < deadline:
        time.sleep(0.05)
    return registry


def test_a_location_with_the_same_secret_loads(guarded_location: LocationServer) -> None:
    state = _refreshed(guarded_location, Settings(location_secret=SECRET)).state("guarded")
    assert state.status == "loaded", state.error
    assert state.asset_count > 0


def test_a_location_that_refuses_the_secret_is_an_error_that_names_it(
    guarded_location: LocationServer,
) -> None:
    registry = _refreshed(guarded_location, Settings(location_secret="not-the-secret"))
    state = registry.state("guarded")
    assert state.status == "error"
    assert state.error is not None
    assert "refused the caller's credentials" in state.error
    assert "TESSERA_LOCATION_SECRET differs" in state.error
    assert state.unreachable_since is None
    # Asked again, it stays an error (not unreachable after the client is made anew).
    assert registry.refresh("guarded").status == "error"


def test_a_server_without_a_secret_is_refused_and_warns(
    guarded_location: LocationServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="server.api.app"):
        state = _refreshed(guarded_location, Settings(location_secret="")).state("guarded")
    assert state.status == "error"
    assert "carried none" in (state.error or "")
    assert "TESSERA_LOCATION_SECRET is not set" in caplog.text


def test_server_only_variables_hold_the_secrets_but_not_the_shared_settings() -> None:
    for secret in (
        "TESSERA_API_TOKEN",
        "TESSERA_DATABASE_URL",
        "TESSERA_LOCATION_TLS_CLIENT_KEY",
        "TESSERA_LOCATION_TLS_CLIENT_CERT",
    ):
        assert secret in SERVER_ONLY_VARIABLES
    assert "TESSERA_LOCATION_SECRET" not in SERVER_ONLY_VARIABLES
    assert "TESSERA_HOME" not in SERVER_ONLY_VARIABLES
    # Derived from the settings' fields: every field but the shared ones is on the list.
    assert len(SERVER_ONLY_VARIABLES) == len(Settings.model_fields) - 2


def test_the_location_environment_keeps_the_servers_secrets_out() -> None:
    env = location_environment(
        {
            "TESSERA_API_TOKEN": "admin-token",
            "TESSERA_DATABASE_URL": "postgresql://tessera:pw@db/tessera",
            "TESSERA_LOCATION_TLS_CLIENT_KEY": "/etc/tessera/client-key.pem",
            "TESSERA_STORAGE": "/var/lib/tessera/storage",
            "TESSERA_HOME": ".tessera",
            "PATH": "/usr/bin",
        },
        "generated",
    )
    assert env == {
        "TESSERA_STORAGE": "/var/lib/tessera/storage",
        "TESSERA_HOME": ".tessera",
        "PATH": "/usr/bin",
        "TESSERA_LOCATION_SECRET": "generated",
    }


def test_client_tls_settings_that_do_not_go_together_are_an_error_of_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_LOCATION_TLS_CLIENT_CERT", str(tmp_path / "client.pem"))
    assert main(["migrate", "--database-url", f"sqlite:///{tmp_path / 'db'}"]) == 2
    err = capsys.readouterr().err
    assert "invalid settings" in err
    assert "TESSERA_LOCATION_TLS_CLIENT_KEY go together" in err
    assert "TESSERA_:" not in err
