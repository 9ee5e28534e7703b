#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed: the browser tests drive it through Playwright
# (Playwright's own browser download does not work here).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# The extension's unit tests run on Node's built-in test runner.
if ! command -v node >/dev/null 2>&1; then
  echo "Installing Node.js from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi
