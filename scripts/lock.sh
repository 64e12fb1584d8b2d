#!/usr/bin/env bash
# Regenerate the lock files in requirements/ from pyproject.toml: every package pinned, with
# the hashes of its files for every platform. Pins that still fit are kept; --upgrade takes
# the newest of everything. Usage: scripts/lock.sh [--upgrade]   (or: make lock)
#
#   requirements/dev.txt      every extra and the tools: make test, CI
#   requirements/server.txt   the server and celery extras: the Docker image, make demo
#   requirements/codeloc.txt  the celery extra only: a code location's image without the server
#
# The last two are resolved within dev.txt, so one package has one version in all three.
# Installing needs plain pip only (scripts/bootstrap.sh); making the locks needs uv, which this
# installs into .venv-lock/ the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
if ! .venv-lock/bin/uv --version 2>/dev/null | grep -qx "uv $UV_VERSION.*"; then
  "$PYTHON" -m venv .venv-lock
  .venv-lock/bin/python -m pip install --quiet "uv==$UV_VERSION"
fi
compile() {
  .venv-lock/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "make lock" "$@"
}
upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)
compile "${upgrade[@]}" pyproject.toml --extra dev -o requirements/dev.txt
compile pyproject.toml --extra server --extra celery -c requirements/dev.txt \
  -o requirements/server.txt
compile pyproject.toml --extra celery -c requirements/dev.txt -o requirements/codeloc.txt
echo "locked: requirements/dev.txt, requirements/server.txt, requirements/codeloc.txt"
