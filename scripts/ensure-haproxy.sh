#!/usr/bin/env bash
# Makes sure Debian's HAProxy is installed: the cluster kill test (tests/Homeroom.Server.Tests/Hosting/Cluster)
# and scripts/cluster.sh put it in front of several server nodes. They start their own haproxy processes with
# configurations of their own; the package's system service, if the machine starts one, is not used.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  echo "Installing HAProxy from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
