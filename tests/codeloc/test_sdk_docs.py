"""docs/sdk.md documents every public name of the SDK, and its table of differences holds."""

from __future__ import annotations

import re
from pathlib import Path

import codeloc

SDK_DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def headings() -> list[str]:
    return re.findall(r"^### `([^`]+)`\s*$", SDK_DOC.read_text(), flags=re.MULTILINE)


def test_every_exported_name_has_a_section() -> None:
    documented = set(headings())
    missing = sorted(set(codeloc.__all__) - documented)
    assert not missing, f"docs/sdk.md has no '### `Name`' heading for {missing}"


def test_every_section_is_of_an_exported_name_and_appears_once() -> None:
    found = headings()
    assert len(found) == len(set(found)), "a name is documented twice"
    # A member may have its own entry (``AssetSpec.kinds``) under its exported owner.
    unknown = sorted(n for n in set(found) if n.split(".")[0] not in codeloc.__all__)
    assert not unknown, f"docs/sdk.md documents names codeloc does not export: {unknown}"


def test_the_table_of_differences_has_its_columns() -> None:
    text = SDK_DOC.read_text()
    assert "## Deliberate differences from the reference" in text
    assert "| Name | Tessera | Reference | Why |" in text
