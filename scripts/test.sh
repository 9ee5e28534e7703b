#!/usr/bin/env bash
# Runs every test: unit, integration (real Kestrel, real WebSockets, SQLite and PostgreSQL) and the
# simulator against a real server. Installs and starts what the tests need on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-node.sh
bash scripts/ensure-xvfb.sh
bash scripts/ensure-haproxy.sh
# Databases left behind by an interrupted earlier run, and the migrated templates the tests copy
# (tests/Homeroom.Server.Tests/Infrastructure/TestDatabase.cs builds a new one on first use).
for db in $(psql "postgresql://homeroom:homeroom@127.0.0.1:5432/postgres" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'homeroom_test_%' OR datname LIKE 'homeroom_template_%'"); do
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
# Two test processes at a time, as before, but the server tests (most of the time) start at once
# instead of after whichever projects come first: the other projects run one after another beside
# them, their output kept in a file and shown when they are done.
run_tests() {
  dotnet test "$1" -c Release --no-build --nologo \
    --logger "console;verbosity=normal" --logger trx \
    --results-directory "$results" "${@:2}"
}
# The machine's CPU use over the test run (busy share of all cores, from /proc/stat), printed with its
# time: whether the tests wait or compute decides whether more of them at once would finish sooner.
cpu_ticks() { awk '/^cpu /{ idle=$5+$6; total=0; for (i=2; i<=9; i++) total+=$i; print total, idle, $9 }' /proc/stat; }
read -r cpu_total0 cpu_idle0 cpu_steal0 < <(cpu_ticks)
started=$(date +%s)
other_status=0
# The server tests that measure their process's memory run alone (parallelisation off), which xunit does
# after all the others, on one thread while the second core waits: they run in a test process of their own
# first in the other projects' lane (tests/Homeroom.Server.Tests/Infrastructure/AloneInProcess.cs), and the
# rest of the server tests in their own lane without them.
alone="Category=AloneInProcess"
(
  failed=0
  dotnet test tests/Homeroom.Server.Tests -c Release --no-build --nologo \
    --logger "console;verbosity=normal" --logger "trx;LogFileName=server-tests-alone.trx" \
    --results-directory "$results" --filter "$alone" "$@" || failed=$?
  for project in Browser Simulator Agent Rules Contracts; do
    run_tests "tests/Homeroom.$project.Tests" "$@" || failed=$?
  done
  exit $failed
) > "$results/other-projects.log" 2>&1 &
others=$!
status=0
run_tests tests/Homeroom.Server.Tests --filter "${alone/=/!=}" "$@" || status=$?
wait $others || other_status=$?
cat "$results/other-projects.log"
[ "$status" -ne 0 ] || status=$other_status
read -r cpu_total1 cpu_idle1 cpu_steal1 < <(cpu_ticks)
ticks=$(( cpu_total1 - cpu_total0 + 1 ))
echo "dotnet test: $(( $(date +%s) - started )) s, CPU busy $(( 100 - 100 * (cpu_idle1 - cpu_idle0) / ticks )) % of $(nproc) cores ($(( 100 * (cpu_steal1 - cpu_steal0) / ticks )) % taken by the host)"

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
# The failures again, last, so the end of a long log names them.
for path in glob.glob(sys.argv[1] + "/*.trx"):
    for result in ET.parse(path).getroot().iterfind(".//{*}UnitTestResult"):
        if result.get("outcome") == "Failed":
            message = result.find("{*}Output/{*}ErrorInfo/{*}Message")
            text = [line.strip() for line in (message.text or "").strip().splitlines()] if message is not None else []
            stack = result.find("{*}Output/{*}ErrorInfo/{*}StackTrace")
            frames = [line.strip() for line in (stack.text or "").strip().splitlines()][:8] if stack is not None else []
            # The whole assertion (Shouldly puts expected and actual on lines of their own) and where it failed.
            print(f"FAILED {result.get('testName')} ({result.get('duration')}): {' | '.join(text)[:1500]}")
            for frame in frames:
                print(f"    {frame[:300]}")
PY
if [ "$node_status" -ne 0 ]; then
  cat "$results/extension-node-tests.txt"
  status=$node_status
fi
exit $status
