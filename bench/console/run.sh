#!/usr/bin/env bash
# Console page benchmark: a district of 50,000 devices seeded into SQLite, the server in this process,
# and every console page opened in Chromium as the district admin: time from navigation to the page's
# content settled. Prints a table; JSON goes to bench/results/.
#   bench/console/run.sh [--devices 50000] [--runs 5] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-chromium.sh
dotnet build bench/Homeroom.Bench.Console -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Console/bin/Release/net10.0/Homeroom.Bench.Console.dll "$@"
