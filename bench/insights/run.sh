#!/usr/bin/env bash
# Insights report benchmark: the fleet-health report (GROUP BY over the devices table) and the
# classroom-use report at district scale, through the same use cases the API and console call.
# Prints a table; JSON goes to bench/results/.
#   bench/insights/run.sh [--devices 50000] [--runs 20] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Insights -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Insights/bin/Release/net10.0/Homeroom.Bench.Insights.dll "$@"
