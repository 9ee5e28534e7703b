#!/usr/bin/env bash
# User-session helper benchmark: thumbnail size and rate at 1 fps while a teacher watches, and the
# helper's memory, on a real X server (Xvfb) with a busy desktop that changes every second.
# Prints a table; JSON goes to bench/results/.
#   bench/agent/run.sh [--seconds 60] [--max-width 400] [--interval-ms 1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-xvfb.sh
dotnet build bench/Homeroom.Bench.Agent/Homeroom.Bench.Agent.csproj -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Agent/bin/Release/net10.0/Homeroom.Bench.Agent.dll "$@"
