#!/usr/bin/env bash
# Notification benchmark: from an out-of-bounds report reaching the alert service to the notification
# in the hands of N console connections (1, 100, 1000, 5000 by default; 10 % of them never read).
# Prints a table; JSON goes to bench/results/.
#   bench/notify/run.sh [--listeners 1,100,1000,5000] [--runs 20] [--stuck-percent 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build bench/Homeroom.Bench.Notify/Homeroom.Bench.Notify.csproj -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Notify/bin/Release/net10.0/Homeroom.Bench.Notify.dll "$@"
