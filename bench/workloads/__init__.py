"""The registered workloads, in the order ``python -m bench run`` runs them.

To add one: write a :class:`bench.model.Workload` subclass in its own module here and list it
in :data:`WORKLOADS`; ``bench/README.md`` says what it measures.
"""

from __future__ import annotations

from bench.model import Workload
from bench.workloads.catalog import Catalog
from bench.workloads.define import Define
from bench.workloads.ingest import Ingest
from bench.workloads.launch import Launch
from bench.workloads.materialize import Materialize
from bench.workloads.mixed_load import MixedLoad
from bench.workloads.snapshot import Snapshot

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Define(),
        Materialize(),
        Snapshot(),
        Launch(),
        Ingest(),
        Catalog(),
        MixedLoad(),
    )
}

__all__ = ["WORKLOADS"]
