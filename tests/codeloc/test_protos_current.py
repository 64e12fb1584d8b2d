"""The generated protobuf modules are current: regenerating them changes nothing.

If this fails, run ``python -m scripts.gen_protos`` (``make protos``) and commit the result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "codeloc" / "protos"


def contents(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_modules_match_the_protos(tmp_path: Path) -> None:
    fresh = tmp_path / "protos"
    # The documented command itself, into a scratch directory.
    subprocess.run(
        [sys.executable, "-m", "scripts.gen_protos", str(fresh)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    checked_in = contents(CHECKED_IN)
    regenerated = contents(fresh)
    assert sorted(checked_in) == sorted(regenerated), "run: python -m scripts.gen_protos"
    stale = [name for name in regenerated if checked_in[name] != regenerated[name]]
    assert not stale, f"stale generated modules {stale}; run: python -m scripts.gen_protos"
