"""workspace.yaml: the locations the server starts with, and clear messages when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.workspace.config import WorkspaceLocation, load_workspace


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workspace.yaml"
    path.write_text(text)
    return path


def test_a_good_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
locations:
  - name: code_location_1
    grpc: localhost:4000
  - name: code_location_2
    grpc: localhost:4001
""",
    )

    assert load_workspace(path).locations == [
        WorkspaceLocation(name="code_location_1", grpc="localhost:4000"),
        WorkspaceLocation(name="code_location_2", grpc="localhost:4001"),
    ]


@pytest.mark.parametrize("text", ["", "locations: []\n"])
def test_no_locations(tmp_path: Path, text: str) -> None:
    assert load_workspace(write(tmp_path, text)).locations == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "locations:\n  - name: a\n    grpc: [localhost:4000\n",
            r"(?s)workspace file .*workspace\.yaml is not valid YAML: .*line 3",
        ),
        (
            "locations:\n  - name: a\n    grpc: h:1\n  - name: b\n    grpc: h:2\n"
            "  - name: a\n    grpc: h:3\n",
            r"workspace file .*workspace\.yaml names locations twice: \['a'\]",
        ),
        (
            "locations:\n  - name: a\n    grpc: h:1\n  - name: b\n",
            r"workspace file .*workspace\.yaml: locations\.1\.grpc: Field required",
        ),
        (
            "locations:\n  - name: a\n    grpc: h:1\n    adress: x\n",
            r"locations\.0\.adress: Extra inputs are not permitted",
        ),
        (
            "locations:\n  - name: has space\n    grpc: h:1\n",
            r"locations\.0\.name: String should match pattern",
        ),
        ("location:\n  - name: a\n", r"workspace\.yaml: location: Extra inputs are not permitted"),
        ("- name: a\n  grpc: h:1\n", r"workspace\.yaml: Input should be a valid dictionary"),
    ],
    ids=["bad-yaml", "duplicate-names", "missing-grpc", "unknown-key", "bad-name", "typo", "list"],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_workspace(write(tmp_path, text))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read workspace file .*nowhere\.yaml"):
        load_workspace(tmp_path / "nowhere.yaml")
