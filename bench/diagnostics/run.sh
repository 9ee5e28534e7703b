#!/usr/bin/env bash
# Diagnostics benchmark: a server process (SQLite, or PostgreSQL with --provider postgres) and 1,000 simulated devices on loopback WebSockets; one
# staff request for the group's diagnostics (POST /api/groups/{id}/diagnostics), then the time until every
# report is stored and readable (GET /api/groups/{id}/diagnostics). Target (issue 21): at most 10 s.
# Prints a table; JSON goes to bench/results/.
#   bench/diagnostics/run.sh [--devices 1000] [--runs 3] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Diagnostics -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Diagnostics/bin/Release/net10.0/Homeroom.Bench.Diagnostics.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
