#!/usr/bin/env bash
# Desktop agent footprint: resident memory and CPU of the agent service while idle and connected to a real
# server (30 s heartbeat). Prints a table; JSON goes to bench/results/.
#   bench/agent-footprint/run.sh [--settle-seconds 30] [--seconds 120] [--agent PATH_TO_SINGLE_FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.AgentFootprint -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.AgentFootprint/bin/Release/net10.0/Homeroom.Bench.AgentFootprint.dll "$@"
