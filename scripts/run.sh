#!/usr/bin/env bash
# Starts Homeroom on http://127.0.0.1:5080 with SQLite in ./data and a demo district.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export Homeroom__Demo__Enabled="${Homeroom__Demo__Enabled:-true}"
export Homeroom__DataDirectory="${Homeroom__DataDirectory:-$PWD/data}"
exec dotnet run --project src/Homeroom.Server -c Release -- "$@"
