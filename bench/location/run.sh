#!/usr/bin/env bash
# Location benchmark: the Chrome extension in Chromium against a server process (the policy's default
# 60 s interval unless --interval). --phase idle (the default): idle, with location reporting off and
# then on; prints the CPU time the extension's process and the whole browser used in each phase.
# --phase crossing: end to end, from the device crossing its campus boundary to the live notice on a
# signed-in console page and to the extension's out-of-bounds message, --runs times walking out
# across the edge and --runs times jumping from deep inside; prints medians and maxima.
# --phase all: both. JSON goes to bench/results/.
#   bench/location/run.sh [--phase idle|crossing|all] [--minutes 3] [--interval 60] [--runs 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-chromium.sh
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Location -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Location/bin/Release/net10.0/Homeroom.Bench.Location.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll --extension extension "$@"
