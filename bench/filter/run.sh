#!/usr/bin/env bash
# Web filter benchmark: decisions per second per core and memory for the UT1 lists (read from
# ../shared/filter-lists/ut1) and 5 million synthetic domains, against a naive implementation; a
# reload while deciding. Prints a table; JSON goes to bench/results/.
#   bench/filter/run.sh [--synthetic 5000000] [--seconds 3] [--ut1 DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Filter -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Filter/bin/Release/net10.0/Homeroom.Bench.Filter.dll "$@"
