#!/usr/bin/env bash
# Starts Homeroom on http://127.0.0.1:5080 with SQLite in ./data and a demo district.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bash scripts/ensure-node.sh
export Homeroom__Demo__Enabled="${Homeroom__Demo__Enabled:-true}"
export Homeroom__DataDirectory="${Homeroom__DataDirectory:-$PWD/data}"
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
# Run the built server directly (not through `dotnet run`) so Ctrl+C and service managers reach it.
cd src/Homeroom.Server/bin/Release/net10.0
exec dotnet Homeroom.Server.dll "$@"
