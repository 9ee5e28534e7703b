#!/usr/bin/env bash
# Location benchmark: the Chrome extension in Chromium, idle, with location reporting off and then on
# (the policy's default 60 s interval unless --interval), against a server process. Prints the CPU
# time the extension's process and the whole browser used in each phase; JSON goes to bench/results/.
#   bench/location/run.sh [--minutes 3] [--interval 60]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-chromium.sh
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Location -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Location/bin/Release/net10.0/Homeroom.Bench.Location.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll --extension extension "$@"
