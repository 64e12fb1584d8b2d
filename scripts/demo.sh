#!/usr/bin/env bash
# The demo, from a fresh clone: install, start the server with the example code locations
# on SQLite, materialize the two-location example through the REST API, and keep serving.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh server
export TESSERA_HOME=${TESSERA_HOME:-.tessera}
export TESSERA_EXAMPLE_DATA=${TESSERA_EXAMPLE_DATA:-$TESSERA_HOME/data}
exec .venv/bin/python scripts/demo.py "$@"
