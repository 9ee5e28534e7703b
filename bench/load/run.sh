#!/usr/bin/env bash
# Load benchmark: starts a Homeroom server process, runs the simulator against it and prints a table;
# JSON goes to bench/results/. Defaults: 2,000 devices on SQLite (a few minutes).
#   bench/load/run.sh [--devices 10000] [--postgres] [--activity-devices 400] [--activity-rate 60] [--steady-seconds 30] [--gcdump]
#     [--settle-seconds 60] (memory again that long after the steady window) [--server-env NAME=VALUE,...] (for the server alone)
#     [--second-wave N] (N more devices connect after the memory figures; their memory per added device is the slope)
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ " $* " == *" --postgres "* ]]; then bash scripts/ensure-postgres.sh >/dev/null; fi
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Load -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Load/bin/Release/net10.0/Homeroom.Bench.Load.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
