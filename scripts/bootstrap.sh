#!/usr/bin/env bash
# Create .venv (once) and install into it the locked dependencies of one profile, then the
# project itself (editable, without dependencies). Plain pip: every file is checked against
# the hashes in the lock.
# Usage: scripts/bootstrap.sh [PROFILE]   PROFILE: dev, server (the default) or codeloc,
# the lock files requirements/PROFILE.txt (scripts/lock.sh makes them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
profile=${1:-server}
lock="requirements/$profile.txt"
if [ ! -f "$lock" ]; then
  echo "error: no lock file $lock; the profiles are dev, server and codeloc" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
# Reinstall only when the lock or the project's own metadata changed since the last install
# of this profile: the stamp holds a digest of both.
stamp=".venv/.installed-$profile"
digest=$(.venv/bin/python -c 'import hashlib, sys
print(hashlib.sha256(b"".join(open(p, "rb").read() for p in sys.argv[1:])).hexdigest())' \
  "$lock" pyproject.toml)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "installing $lock into .venv"
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$digest" >"$stamp"
fi
