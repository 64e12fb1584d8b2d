"""``codeloc._settings``: the SDK's ``TESSERA_*`` variables, read in one place."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from codeloc._errors import SettingsInvalid, TesseraError
from codeloc._settings import DEFAULT_HOME, Settings
from codeloc.engine._celery import CelerySettings
from codeloc.engine._io import default_io_manager, storage_location
from codeloc.grpc._spool import spool_directory

TESSERA = str(Path(sys.executable).with_name("tessera"))
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.home == DEFAULT_HOME == Path(".tessera")
    assert settings.storage is None
    assert settings.storage_location == str(Path(".tessera") / "storage")
    assert (settings.executor, settings.log_level, settings.log_format) == (
        "multiprocess",
        "INFO",
        "text",
    )
    assert (settings.celery_broker, settings.celery_backend, settings.celery_queue) == (
        None,
        "rpc://",
        "tessera",
    )


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "TESSERA_HOME": "/srv/tessera",
            "TESSERA_STORAGE": "s3://bucket/prefix",
            "TESSERA_EXECUTOR": "celery",
            "TESSERA_LOG_LEVEL": "debug",
            "TESSERA_LOG_FORMAT": "json",
            "TESSERA_CELERY_BROKER": " amqp://rabbit// ",
            "TESSERA_CELERY_BACKEND": "redis://cache/0",
            "TESSERA_CELERY_QUEUE": "tessera.team",
            "TESSERA_LOCATION_SECRET": " s3cret ",
            "TESSERA_LOCATION_TLS_CERT": "/etc/tessera/location.pem",
            "TESSERA_LOCATION_TLS_KEY": "/etc/tessera/location-key.pem",
            "TESSERA_LOCATION_TLS_CLIENT_CA": "/etc/tessera/ca.pem",
            "TESSERA_MAX_LAUNCH_BYTES": "1048576",
        }
    )
    assert settings == Settings(
        home=Path("/srv/tessera"),
        storage="s3://bucket/prefix",
        executor="celery",
        log_level="DEBUG",
        log_format="json",
        celery_broker="amqp://rabbit//",
        celery_backend="redis://cache/0",
        celery_queue="tessera.team",
        location_secret="s3cret",
        location_tls_cert=Path("/etc/tessera/location.pem"),
        location_tls_key=Path("/etc/tessera/location-key.pem"),
        location_tls_client_ca=Path("/etc/tessera/ca.pem"),
        max_launch_bytes=1048576,
    )
    assert settings.storage_location == "s3://bucket/prefix"


def test_home_without_storage_puts_storage_under_home() -> None:
    assert Settings.from_env({"TESSERA_HOME": "/srv/t"}).storage_location == "/srv/t/storage"


def test_an_empty_variable_counts_as_unset() -> None:
    names = [
        "TESSERA_HOME",
        "TESSERA_STORAGE",
        "TESSERA_EXECUTOR",
        "TESSERA_LOG_LEVEL",
        "TESSERA_LOCATION_SECRET",
        "TESSERA_LOCATION_TLS_CERT",
    ]
    assert Settings.from_env(dict.fromkeys(names, " ")) == Settings()


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("TESSERA_EXECUTOR", "threads", "multiprocess, in_process, celery"),
        ("TESSERA_LOG_LEVEL", "loud", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("TESSERA_LOG_FORMAT", "xml", "text, json"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_may_be(
    name: str, value: str, allowed: str
) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        Settings.from_env({name: value})
    assert str(caught.value) == f"{name} must be one of {allowed}; got {value!r}"
    assert isinstance(caught.value, TesseraError)


@pytest.mark.parametrize("value", ["0", "-5", "4MB", "1.5"])
def test_a_launch_limit_is_a_positive_number_of_bytes(value: str) -> None:
    with pytest.raises(SettingsInvalid, match="TESSERA_MAX_LAUNCH_BYTES must be a whole number"):
        Settings.from_env({"TESSERA_MAX_LAUNCH_BYTES": value})


def test_the_server_reads_the_launch_limit_its_locations_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.core.config import Settings as ServerSettings

    assert ServerSettings().max_launch_bytes == Settings().max_launch_bytes == 4 * 1024 * 1024
    monkeypatch.setenv("TESSERA_MAX_LAUNCH_BYTES", "65536")
    assert ServerSettings().max_launch_bytes == Settings.from_env().max_launch_bytes == 65536


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().home = Path("/elsewhere")  # type: ignore[misc]


def test_the_sdk_reads_its_places_through_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_HOME", str(tmp_path / "home"))
    assert storage_location() == str(tmp_path / "home" / "storage")
    assert spool_directory("loc") == (tmp_path / "home" / "spool" / "loc").resolve()
    assert spool_directory("loc", home=str(tmp_path)) == tmp_path.resolve() / "spool" / "loc"

    monkeypatch.setenv("TESSERA_STORAGE", str(tmp_path / "values"))
    assert storage_location() == str(tmp_path / "values")
    # An ephemeral run stores into TESSERA_STORAGE once it is set, not a temporary directory.
    assert str(getattr(default_io_manager(ephemeral=True), "base_dir", "")) == str(
        tmp_path / "values"
    )


def test_celery_settings_come_from_the_same_place() -> None:
    env = {"TESSERA_CELERY_BROKER": "amqp://b//", "TESSERA_CELERY_QUEUE": "q"}
    assert CelerySettings.from_env(env) == CelerySettings("amqp://b//", "rpc://", "q")
    with pytest.raises(TesseraError, match="set TESSERA_CELERY_BROKER"):
        CelerySettings.from_env({})


def test_server_settings_share_the_home_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.core.config import Settings as ServerSettings

    monkeypatch.setenv("TESSERA_HOME", "")
    assert ServerSettings().home == Settings.from_env().home == DEFAULT_HOME
    monkeypatch.setenv("TESSERA_HOME", "/srv/t")
    assert ServerSettings().home == Settings.from_env().home == Path("/srv/t")


def test_codeloc_with_a_bad_executor_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [TESSERA, "codeloc", "-m", "grpc_runs", "-d", str(RESOURCES), "--port", "0"],
        env={"PATH": "/usr/bin:/bin", "TESSERA_EXECUTOR": "threads"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: invalid settings: TESSERA_EXECUTOR must be one of multiprocess, in_process, "
        "celery; got 'threads'"
    ]
