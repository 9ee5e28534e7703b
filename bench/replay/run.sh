#!/usr/bin/env bash
# Connect-notice catch-up benchmark (PostgreSQL only): what cluster_connections costs at 100,000 devices. Times the
# server's own statements: the connect batches' upsert (a connect storm onto one node, then every device moving to
# another node, then two nodes writing the same devices at once in different orders) and a sweep's read of a node's
# devices, 1,000 at a time, with none and with 1 % of them connected elsewhere. Prints a table; JSON goes to bench/results/.
#   bench/replay/run.sh [--devices 100000] [--batch 1000] [--runs 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Replay -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Replay/bin/Release/net10.0/Homeroom.Bench.Replay.dll "$@"
