#!/usr/bin/env bash
# Safety scan benchmark: MB/s per core over generated student text with a 10,000-entry English and Spanish
# lexicon (normalisation included) against lower-casing plus one compiled Regex alternation; the lexicon's
# load and build time. Prints a table; JSON goes to bench/results/.
#   bench/safety/run.sh [--entries 10000] [--texts 200000] [--seconds 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Safety -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Safety/bin/Release/net10.0/Homeroom.Bench.Safety.dll "$@"
