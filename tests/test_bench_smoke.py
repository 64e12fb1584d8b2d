"""``python -m bench run --quick --tessera-only`` runs and reports; no figure is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ["define", "materialize", "snapshot", "launch", "ingest", "catalog", "mixed_load"]
SIDE_STATUSES = {"ok", "skipped", "timeout", "error"}


def test_quick_tessera_only_run_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--tessera-only", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(out.read_text())

    assert document["schema_version"] == 1
    assert document["settings"] == {"quick": True, "reps": None, "tessera_only": True}
    assert document["machine"]["nproc"] >= 1
    assert document["sides"]["dagster"] == {"note": "not run (--tessera-only)"}
    assert "python" in document["sides"]["tessera"]
    assert [workload["name"] for workload in document["workloads"]] == WORKLOADS

    ran = [w for w in document["workloads"] if w["status"] == "ran"]
    for workload in document["workloads"]:
        assert workload["status"] in {"ran", "not built yet"}
        if workload["status"] == "not built yet":
            assert workload["name"] + ":" in completed.stdout
            assert workload["cases"] == []
        assert workload["notes"]["dagster"] == "not run (--tessera-only)"
    for workload in ran:
        assert workload["cases"], workload["name"]
        for case in workload["cases"]:
            assert set(case["sides"]) == {"tessera"}
            tessera = case["sides"]["tessera"]
            assert tessera["status"] in SIDE_STATUSES
            if tessera["status"] == "ok":
                assert len(tessera["samples"]) == case["reps"]
                assert 0 < tessera["min"] <= tessera["median"] <= tessera["max"]
            assert case["ratio_dagster_over_tessera"] == {"pairwise": [], "median": None}
    if ran:
        header = next(line for line in completed.stdout.splitlines() if line.startswith("case "))
        assert "| tessera median" in header
        assert "| dagster median" in header
        assert header.rstrip().endswith("D/T")
    assert f"wrote {out}" in completed.stdout
