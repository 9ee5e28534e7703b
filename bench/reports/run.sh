#!/usr/bin/env bash
# Insights reports benchmark (fleet health, classroom use): the fleet-health report (GROUP BY over the devices table) and the
# classroom-use report at district scale, through the same use cases the API and console call.
# Prints a table; JSON goes to bench/results/.
#   bench/reports/run.sh [--devices 50000] [--runs 20] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Reports -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Reports/bin/Release/net10.0/Homeroom.Bench.Reports.dll "$@"
