"""Time one in-process ``materialize(ASSETS)`` of a generated asset module.

The module is imported first, and ``materialize`` looked up (not timed). Timed, with
``time.perf_counter``: the call ``materialize(ASSETS)`` with no other argument, so each side
uses its defaults - Dagster an ephemeral instance and a filesystem IO manager in a temporary
directory, Tessera its in-memory event sink and values pickled to a temporary directory. The
run must succeed (``result.success``), or the driver exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import time

LIBRARY = {"tessera": "codeloc", "dagster": "dagster"}
RECURSION_LIMIT = 5_000
"""Raised on both sides, as a user would: Dagster builds its asset job by recursing once per
level of a chain: at Python's default of 1,000, a 1,000-deep chain sometimes fails with
``RecursionError`` (seen once in about 15 runs here)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=sorted(LIBRARY), required=True)
    parser.add_argument("--dir", required=True, help="directory holding the generated module")
    parser.add_argument("--module", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.dir)
    sys.setrecursionlimit(RECURSION_LIMIT)

    library = importlib.import_module(LIBRARY[args.side])
    module = importlib.import_module(args.module)
    assets = module.ASSETS
    # Looked up before the clock starts: codeloc loads its engine on first use of
    # ``materialize``, which is importing, not materializing.
    materialize = library.materialize

    t0 = time.perf_counter()
    result = materialize(assets)
    seconds = time.perf_counter() - t0

    if not result.success:
        sys.exit(f"materialize() did not succeed: {result!r}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "ms_per_asset": seconds * 1000 / len(assets),
                "peak_rss_mb": peak_kib / 1024,
                "assets": len(assets),
            }
        )
    )


if __name__ == "__main__":
    main()
