"""``file_relative_path`` and ``ExecuteInProcessResult``, as the reference has them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeloc import (
    Definitions,
    ExecuteInProcessResult,
    ExecuteResult,
    asset,
    file_relative_path,
    materialize,
)

HERE = Path(__file__).resolve()


def test_a_path_is_taken_from_the_directory_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the current directory does not matter
    assert file_relative_path(__file__, "data/raw.csv") == str(HERE.parent / "data" / "raw.csv")
    assert file_relative_path("/srv/project/assets.py", "../seeds/x.csv") == "/srv/seeds/x.csv"
    assert file_relative_path("/srv/project/assets.py", "/etc/x.yaml") == "/etc/x.yaml"


def test_a_relative_dunderfile_and_a_link_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    expected = os.path.join(os.path.realpath(tmp_path), "real", "cfg.yaml")
    assert file_relative_path("link/module.py", "cfg.yaml") == expected


def test_execute_in_process_result_is_the_result_of_materialize_and_jobs() -> None:
    @asset
    def one() -> int:
        return 1

    assert ExecuteInProcessResult is ExecuteResult
    result: ExecuteInProcessResult = materialize([one])
    assert isinstance(result, ExecuteInProcessResult)
    job = Definitions(assets=[one]).get_implicit_global_asset_job_def()
    assert isinstance(job.execute_in_process(), ExecuteInProcessResult)


def test_the_new_names_keep_the_engine_out_of_import_codeloc() -> None:
    code = (
        "import sys, codeloc\n"
        "from codeloc import Failure, ResourceParam, file_relative_path\n"
        "print('codeloc.engine' in sys.modules, 'pydantic' in sys.modules)\n"
        "codeloc.ExecuteInProcessResult\n"
        "print('codeloc.engine' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False", "True"]
