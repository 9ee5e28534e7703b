#!/usr/bin/env bash
# OneRoster import benchmark: a generated OneRoster 1.1 CSV set of 50,000 users (48,500 students, 1,490
# teachers, 10 guardians) in 20 schools with 6,000 classes and 200,000 enrollments, zipped, then previewed
# and applied through the same use case the API calls (read the zip, compare with the stored roster,
# store the preview; apply: compare again and write in one transaction). Then the same set again (no
# changes) and a set with 1,000 students gone (archived). Prints a table; JSON goes to bench/results/.
#   bench/roster/run.sh [--students 48500] [--provider sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Roster -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Roster/bin/Release/net10.0/Homeroom.Bench.Roster.dll "$@"
