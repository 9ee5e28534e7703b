#!/usr/bin/env bash
# App assignment benchmark: a real server (in this process) and 10,000 simulated devices (Chromebooks and
# other agent devices over WebSockets, iPads over Apple MDM); one app required for the whole district;
# time until every device's status is final, the reconciler's passes and their database time.
# Prints a table; JSON goes to bench/results/.
#   bench/apps/run.sh [--devices 10000] [--ipads 1000] [--provider sqlite|postgres] [--timeout-seconds 900]
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ " $* " == *" postgres "* ]]; then bash scripts/ensure-postgres.sh >/dev/null; fi
dotnet build bench/Homeroom.Bench.Apps -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Apps/bin/Release/net10.0/Homeroom.Bench.Apps.dll "$@"
