#!/usr/bin/env bash
# Classroom benchmark: a 30-student class of simulated Chromebooks at 1 s thumbnails and a teacher's
# classroom page in Chromium. Bytes per second per teacher and per device, capture-to-display delay,
# and class lock from click to every tile locked. Prints a table; JSON goes to bench/results/.
#   bench/classroom/run.sh [--students 30] [--seconds 20] [--locks 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-chromium.sh
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Classroom -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Classroom/bin/Release/net10.0/Homeroom.Bench.Classroom.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
