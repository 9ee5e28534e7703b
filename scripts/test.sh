#!/usr/bin/env bash
# Runs every test: unit, integration (real Kestrel, real WebSockets, SQLite and PostgreSQL).
# Installs and starts what the tests need on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
export HOMEROOM_TEST_POSTGRES="${HOMEROOM_TEST_POSTGRES:-Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres;Timeout=10}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build Homeroom.slnx -c Release --nologo -v quiet
dotnet test Homeroom.slnx -c Release --no-build --nologo \
  --logger "console;verbosity=normal" \
  --results-directory artifacts/test-results "$@"
