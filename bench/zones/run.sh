#!/usr/bin/env bash
# Zone outline benchmark: how long the GeoJSON check takes on the largest and most awkward outlines
# an administrator can upload (10,000 positions: round, sawtooth, a sheared comb that is refused),
# and point-in-zone lookups per second. Prints a table; JSON goes to bench/results/.
#   bench/zones/run.sh [--runs 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Zones -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Zones/bin/Release/net10.0/Homeroom.Bench.Zones.dll "$@"
