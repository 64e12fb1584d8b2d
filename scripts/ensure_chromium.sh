#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when /usr/bin/chromium is missing.
# Playwright drives this browser (tests/e2e/conftest.py); `playwright install` is never used.
# Usage: scripts/ensure_chromium.sh   (needs root, or sudo without a password)
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "ensure_chromium: /usr/bin/chromium is missing and installing it needs root" >&2
    exit 1
  fi
fi
echo "installing chromium (apt-get)"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
