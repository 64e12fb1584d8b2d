#!/usr/bin/env bash
# The demo, from a fresh clone: install, then materialize the examples and show what happened.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export TESSERA_HOME=${TESSERA_HOME:-.tessera}
export TESSERA_EXAMPLE_DATA=${TESSERA_EXAMPLE_DATA:-$TESSERA_HOME/data}
echo "== the cereals example, every asset"
.venv/bin/tessera materialize -m examples.cereals --select '*'
echo
echo "== the two code locations of the cross-location example, upstream first"
.venv/bin/tessera materialize -m examples.cross_location.code_location_1 --select '*'
.venv/bin/tessera materialize -m examples.cross_location.code_location_2 --select '*'
echo "code_location_2_asset = $(cat "$TESSERA_EXAMPLE_DATA/code_location_2_asset.json")"
