#!/usr/bin/env bash
# Runs every test: unit, integration (real Kestrel, real WebSockets, SQLite and PostgreSQL) and the
# simulator against a real server. Installs and starts what the tests need on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-node.sh
# Databases left behind by an interrupted earlier run.
for db in $(psql "postgresql://homeroom:homeroom@127.0.0.1:5432/postgres" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'homeroom_test_%'"); do
  psql "postgresql://homeroom:homeroom@127.0.0.1:5432/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
done
export HOMEROOM_TEST_POSTGRES="${HOMEROOM_TEST_POSTGRES:-Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres;Timeout=10}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n 65536 2>/dev/null || true

results=artifacts/test-results
rm -rf "$results" artifacts/screenshots
mkdir -p "$results"

# The Chrome extension's own logic (plain JavaScript modules, Node's built-in test runner).
node_status=0
node --test extension/test/ > "$results/extension-node-tests.txt" 2>&1 || node_status=$?
grep -E "^# (pass|fail)" "$results/extension-node-tests.txt" | sed 's/^# /extension (node): /' || true
dotnet build Homeroom.slnx -c Release --nologo -v quiet -clp:ErrorsOnly
status=0
dotnet test Homeroom.slnx -c Release --no-build --nologo \
  --logger "console;verbosity=normal" --logger trx \
  --results-directory "$results" "$@" || status=$?

# One plain summary line over every test project.
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
totals = {"passed": 0, "failed": 0, "notExecuted": 0}
for path in glob.glob(sys.argv[1] + "/*.trx"):
    counters = ET.parse(path).getroot().find("{*}ResultSummary/{*}Counters")
    for key in totals:
        totals[key] += int(counters.get(key, 0))
import re
node = open(sys.argv[1] + "/extension-node-tests.txt").read()
for key, pattern in (("passed", r"^# pass (\d+)"), ("failed", r"^# fail (\d+)"), ("notExecuted", r"^# skipped (\d+)")):
    match = re.search(pattern, node, re.M)
    totals[key] += int(match.group(1)) if match else 0
print(f"tests: {totals['passed']} passed, {totals['failed']} failed, {totals['notExecuted']} skipped")
PY
if [ "$node_status" -ne 0 ]; then
  cat "$results/extension-node-tests.txt"
  status=$node_status
fi
exit $status
