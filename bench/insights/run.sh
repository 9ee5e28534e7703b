#!/usr/bin/env bash
# Insights benchmark: (a) ingestion with rollups through the activity writer, (b) a seeded year of
# rollups for 50,000 devices (rows generated directly, over 2 billion events' worth) and each report's
# latency. Prints a table; JSON goes to bench/results/.
#   bench/insights/run.sh [--provider sqlite|postgres] [--devices 50000] [--schools 100] [--days 365] [--ingest-events 600000] [--runs 5]
#                         [--only ingest|reports] [--flush-interval 00:00:10] [--keep] [--reuse-database NAME]
# --keep leaves the seeded database (its name is printed: PostgreSQL's database, with its server's data directory
# /tmp/homeroom-bench-NAME; SQLite's data directory) for EXPLAIN ANALYZE and later runs; drop and delete them after.
# --reuse-database NAME skips the roster, ingestion and seed and times the reports on a kept database (migrated
# first, as a server start does; its year ends on the last day it seeded). Never dropped by the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ " $* " == *" postgres "* ]]; then bash scripts/ensure-postgres.sh >/dev/null; fi
dotnet build bench/Homeroom.Bench.Insights -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Insights/bin/Release/net10.0/Homeroom.Bench.Insights.dll "$@"
