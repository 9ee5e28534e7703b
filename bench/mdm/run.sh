#!/usr/bin/env bash
# Apple MDM benchmark: starts a Homeroom server process (SQLite), enrolls N simulated iPads through
# the enrollment profile, then measures check-ins, idle polls and a command to every device.
# Prints a table; JSON goes to bench/results/.
#   bench/mdm/run.sh [--devices 1000] [--concurrency 64] [--seconds 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Mdm -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Mdm/bin/Release/net10.0/Homeroom.Bench.Mdm.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
