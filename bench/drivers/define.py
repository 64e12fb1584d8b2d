"""Time loading a generated asset module and building its ``Definitions``.

Timed, with ``time.perf_counter``, in this fresh process:

1. ``lib_s``: ``import dagster`` or ``import codeloc`` (the library, before any user code);
2. ``module_s``: importing the generated module, which defines the assets and runs
   ``defs = Definitions(assets=ASSETS)`` at module level;
3. ``resolve_s``: Dagster only, ``Definitions.validate_loadable(defs)``, which resolves the
   repository and every job in it (``load_all_definitions``, what ``dagster api grpc`` does on
   load) - Dagster builds that lazily, Tessera's ``Definitions`` validates and builds its graph
   in its constructor, so there is nothing left to force on the Tessera side.

``seconds`` is the sum of the three. ``peak_rss_mb`` is the process's peak resident set
(``ru_maxrss``), interpreter and library included.
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

    t0 = time.perf_counter()
    library = importlib.import_module(LIBRARY[args.side])
    t1 = time.perf_counter()
    module = importlib.import_module(args.module)
    defs = module.defs
    t2 = time.perf_counter()
    if args.side == "dagster":
        library.Definitions.validate_loadable(defs)
    t3 = time.perf_counter()

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": t3 - t0,
                "lib_s": t1 - t0,
                "module_s": t2 - t1,
                "resolve_s": t3 - t2,
                "peak_rss_mb": peak_kib / 1024,
                "assets": len(module.ASSETS),
            }
        )
    )


if __name__ == "__main__":
    main()
