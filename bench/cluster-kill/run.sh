#!/usr/bin/env bash
# Cluster kill benchmark (issue 19): N server nodes as processes on one PostgreSQL database behind Debian's HAProxy,
# a simulated fleet connected through it, a burst of stored commands issued through the API and one node killed with
# SIGKILL in the middle. Prints a table (deliveries lost, executed twice, time until the dead node's devices are back
# online); JSON goes to bench/results/. Defaults: 3 nodes, 3,000 devices, 30 commands (90,000 deliveries).
#   bench/cluster-kill/run.sh [--nodes 3] [--devices 3000] [--commands 30] [--kill-after 15] [--keep-logs]
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bash scripts/ensure-postgres.sh >/dev/null
bash scripts/ensure-haproxy.sh
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.ClusterKill -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.ClusterKill/bin/Release/net10.0/Homeroom.Bench.ClusterKill.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
