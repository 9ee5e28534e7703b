#!/usr/bin/env bash
# Makes sure Node.js and npm are installed: the server's build installs the console's front-end
# libraries (Leaflet) from npm (src/Homeroom.Server/ClientAssets), and the extension's unit tests run on Node.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Installing Node.js and npm from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
