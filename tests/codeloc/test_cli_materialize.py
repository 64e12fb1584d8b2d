"""``tessera materialize -m MODULE --select EXPR``, run as a subprocess, as a user runs it."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TESSERA = Path(sys.executable).parent / "tessera"
COMMAND = [str(TESSERA)] if TESSERA.exists() else [sys.executable, "-m", "server.cli"]


@pytest.fixture
def tessera(tmp_path: Path):
    """Run ``tessera`` in ``tmp_path`` with storage under it; return the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["TESSERA_STORAGE"] = str(tmp_path / "storage")
    env["PYTHONPATH"] = os.pathsep.join([str(RESOURCES), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_materialize_a_selection(tessera, tmp_path: Path) -> None:
    done = tessera("materialize", "-m", "sdk_cli_assets", "--select", "+total")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["materialized numbers", "materialized total  total=6"]
    assert lines[-1].startswith("run ")
    assert " succeeded in " in lines[-1]
    assert "broken" not in done.stdout
    storage = tmp_path / "storage"
    assert pickle.loads((storage / "total").read_bytes()) == 6
    assert not (storage / "broken").exists()


def test_config_json_and_reading_an_earlier_run_from_storage(tessera) -> None:
    assert tessera("materialize", "-m", "sdk_cli_assets", "--select", "numbers").returncode == 0

    config = json.dumps({"ops": {"total": {"config": {"factor": 10}}}})
    done = tessera(
        "materialize", "-m", "sdk_cli_assets", "--select", "total", "--config", config, "--json"
    )

    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["type"] == "RUN_START"
    assert events[-1]["type"] == "RUN_SUCCESS"
    (materialized,) = [e for e in events if e["type"] == "ASSET_MATERIALIZATION"]
    assert materialized["asset_key"] == "total"
    assert materialized["metadata"]["total"] == 60
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_a_failing_asset_exits_1(tessera) -> None:
    done = tessera("materialize", "-m", "sdk_cli_assets", "--select", "group:fragile or numbers")

    assert done.returncode == 1
    assert "FAILED broken" in done.stderr
    assert "RuntimeError: broken cannot count to 3" in done.stderr
    assert "skipped 'after_broken': upstream step 'broken' failed" in done.stderr
    assert "materialized numbers" in done.stdout
    assert " FAILED in " in done.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("nope", "error: no asset with key 'nope'"),
        ("key:", "error: expected a value after 'key:'"),
        ("group:nothing_here", "selects no asset"),
    ],
)
def test_a_bad_selection_exits_2(tessera, select: str, message: str) -> None:
    done = tessera("materialize", "-m", "sdk_cli_assets", "--select", select)

    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_bad_module_or_config_exits_2(tessera) -> None:
    missing = tessera("materialize", "-m", "sdk_no_such_module")
    assert missing.returncode == 2
    assert "No module named 'sdk_no_such_module'" in missing.stderr

    bad_config = tessera(
        "materialize", "-m", "sdk_cli_assets", "--select", "+total", "--config", '{"ops": '
    )
    assert bad_config.returncode == 2
    assert bad_config.stderr.startswith("error: ")

    invalid = tessera(
        "materialize",
        "-m",
        "sdk_cli_assets",
        "--select",
        "+total",
        "--config",
        '{"ops": {"total": {"config": {"factor": "x"}}}}',
    )
    assert invalid.returncode == 2
    assert "config for asset 'total' is invalid: field 'factor'" in invalid.stderr


def test_definitions_resources_and_the_working_directory(tessera, tmp_path: Path) -> None:
    done = tessera("materialize", "-m", "sdk_cli_definitions")
    assert done.returncode == 0, done.stderr
    assert pickle.loads((tmp_path / "storage" / "greeting").read_bytes()) == "bonjour, world"

    marker = tessera("materialize", "-m", "sdk_cli_assets", "--select", "marker")
    assert marker.returncode == 0, marker.stderr
    assert (tmp_path / "marker.txt").read_text().isdigit()


def test_part_of_a_multi_asset_that_cannot_subset_is_refused_without_a_traceback(tessera) -> None:
    done = tessera("materialize", "-m", "srv_multi_assets", "--select", "a")
    assert done.returncode == 2
    assert "multi-asset 'ab'" in done.stderr
    assert "but not 'b'" in done.stderr
    assert "Traceback" not in done.stderr
    assert "materialized" not in done.stdout

    whole = tessera(
        "materialize", "-m", "srv_multi_assets", "--select", "required_multi_asset_neighbors(a)"
    )
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.splitlines()[:2] == ["materialized a", "materialized b"]
