#!/usr/bin/env bash
# OS update rings benchmark: the health gate's promotion decision over a ring of 50,000 devices, through
# the same pass the periodic job runs (RolloutEvaluator: read the ring's devices and failed commands,
# measure, decide, write), and the pure gate alone. Prints a table; JSON goes to bench/results/.
#   bench/updates/run.sh [--devices 50000] [--runs 10] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Updates -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Updates/bin/Release/net10.0/Homeroom.Bench.Updates.dll "$@"
