#!/usr/bin/env bash
# A local Homeroom cluster on one machine, for development: PostgreSQL and HAProxy from Debian's packages and N
# nodes of the built server, all on 127.0.0.1. No containers. See docs/operations.md ("A local cluster").
#   bash scripts/cluster.sh start [N]   N nodes (default 3) behind HAProxy; prints the address
#   bash scripts/cluster.sh status      each node's process and /readyz, and HAProxy's view of them
#   bash scripts/cluster.sh kill I      SIGKILL node I (1..N), to watch its devices move to the others
#   bash scripts/cluster.sh stop        stops HAProxy, then the nodes (SIGTERM: they answer /readyz 503 and drain)
# Settings (environment): HOMEROOM_CLUSTER_DIR (state folder, default ./cluster-state), HOMEROOM_CLUSTER_DB
# (database, default homeroom_cluster), HOMEROOM_CLUSTER_PORT (HAProxy, default 5090; its stats page is the next
# port, nodes follow from the one after). The database and the nodes' data stay after stop; remove the state folder
# and `DROP DATABASE homeroom_cluster` to begin again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
state="${HOMEROOM_CLUSTER_DIR:-$repo/cluster-state}"
database="${HOMEROOM_CLUSTER_DB:-homeroom_cluster}"
port="${HOMEROOM_CLUSTER_PORT:-5090}"
stats_port=$((port + 1))
dll="$repo/src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll"
admin_url="postgresql://homeroom:homeroom@127.0.0.1:5432/postgres"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# A pid from the state folder, if that process still runs and is what the file says it is.
alive() {
  local file=$1 what=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$what" && echo "$pid"
}

nodes() { ls -d "$state"/node-* 2>/dev/null | sed 's/.*node-//' | sort -n; }

node_port() { echo $((port + 1 + $1)); }

ready() { curl -fsS --max-time 3 "http://127.0.0.1:$1/readyz" 2>/dev/null || true; }

haproxy_config() {
  local count=$1 servers=""
  # Two file descriptors per connection (client and node side): half of what this shell may open, less a margin.
  local maxconn=$(( ($(ulimit -n) - 100) / 2 ))
  for i in $(seq 1 "$count"); do
    servers+="    server node-$i 127.0.0.1:$(node_port "$i") cookie node-$i"$'\n'
  done
  # The same template the kill test fills in (scripts/haproxy.cfg.in).
  SERVERS="${servers%$'\n'}" awk -v maxconn="$maxconn" -v port="$port" -v stats="$stats_port" '
    /^@SERVERS@$/ { print ENVIRON["SERVERS"]; next }
    { gsub(/@MAXCONN@/, maxconn); gsub(/@PORT@/, port); gsub(/@STATS_PORT@/, stats); print }
  ' scripts/haproxy.cfg.in
}

start_node() {
  local i=$1 dir="$state/node-$1"
  mkdir -p "$dir/data"
  chmod 700 "$dir"
  # Every node seals and opens the shared keys with node 1's cluster key (docs/operations.md, "shared keys and secrets").
  local key="$state/node-1/data/keys/cluster.key"
  if [ "$i" != 1 ] && [ -f "$key" ] && [ ! -f "$dir/data/keys/cluster.key" ]; then
    install -d -m 700 "$dir/data/keys"
    install -m 600 "$key" "$dir/data/keys/cluster.key"
  fi
  (
    cd "$(dirname "$dll")"
    export Urls="http://127.0.0.1:$(node_port "$i")"
    # Every node's pool together must stay under PostgreSQL's max_connections (100 by default, 3 kept for superusers).
    export ConnectionStrings__Postgres="Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=$database;Maximum Pool Size=$(( 90 / $(cat "$state/nodes") ))"
    export Homeroom__DataDirectory="$dir/data"
    export Homeroom__Cluster__NodeName="node-$i"
    # A node told to stop answers 503 on /readyz and keeps its agents 3 s, while HAProxy (two checks 0.5-1 s apart) takes it out.
    export Homeroom__Readiness__DrainDelay="00:00:03"
    export HOMEROOM_BOOTSTRAP_API_KEY="$(cat "$state/api-key")"
    export HOMEROOM_ADMIN_PASSWORD="$(cat "$state/admin-password")"
    nohup dotnet "$dll" > "$dir/node.log" 2>&1 &
    echo $! > "$dir/pid"
  )
}

wait_ready() {
  local i=$1
  for _ in $(seq 1 240); do
    [ "$(ready "$(node_port "$i")")" = "ready" ] && return 0
    if ! alive "$state/node-$i/pid" Homeroom.Server.dll >/dev/null; then
      echo "node-$i exited; the end of $state/node-$i/node.log:" >&2
      tail -20 "$state/node-$i/node.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "node-$i was not ready after 2 minutes ($state/node-$i/node.log)" >&2
  return 1
}

cmd_start() {
  local count=${1:-3}
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || { echo "N is 1 to 99" >&2; exit 2; }
  for i in $(nodes); do
    if alive "$state/node-$i/pid" Homeroom.Server.dll >/dev/null; then
      echo "A cluster runs already ($state): bash scripts/cluster.sh stop first." >&2
      exit 1
    fi
  done
  bash scripts/ensure-postgres.sh >/dev/null
  bash scripts/ensure-haproxy.sh
  bash scripts/ensure-node.sh
  dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
  mkdir -p "$state"
  chmod 700 "$state"
  # Secrets of this local cluster, made once and kept owner-only in the state folder.
  ( umask 077
    [ -s "$state/api-key" ] || echo "hrk_cluster-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$state/api-key"
    [ -s "$state/admin-password" ] || head -c 15 /dev/urandom | base64 | tr -d '/+=' > "$state/admin-password" )
  if [ -z "$(psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
    psql "$admin_url" -qc "CREATE DATABASE $database"
  fi
  # Nodes of an earlier, larger start are left out of HAProxy; their folders stay.
  echo "$count" > "$state/nodes"
  # The first node migrates the database and creates the admin account and API key; the others start after it.
  start_node 1
  wait_ready 1
  for i in $(seq 2 "$count"); do start_node "$i"; done
  for i in $(seq 2 "$count"); do wait_ready "$i"; done
  haproxy_config "$count" > "$state/haproxy.cfg"
  haproxy -c -q -f "$state/haproxy.cfg"
  nohup haproxy -db -f "$state/haproxy.cfg" > "$state/haproxy.log" 2>&1 &
  echo $! > "$state/haproxy.pid"
  for _ in $(seq 1 40); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.25
  done
  echo "Homeroom cluster: $count nodes behind HAProxy at http://127.0.0.1:$port"
  echo "  sign in as admin with the password in $state/admin-password"
  echo "  API key (Authorization: Bearer): $state/api-key"
  echo "  HAProxy stats: http://127.0.0.1:$stats_port/stats   logs and PIDs: $state"
}

cmd_status() {
  local count pid
  count=$(cat "$state/nodes" 2>/dev/null || echo 0)
  for i in $(seq 1 "$count"); do
    if pid=$(alive "$state/node-$i/pid" Homeroom.Server.dll); then
      echo "node-$i  pid $pid  http://127.0.0.1:$(node_port "$i")  readyz: $(ready "$(node_port "$i")")"
    else
      echo "node-$i  not running"
    fi
  done
  if pid=$(alive "$state/haproxy.pid" haproxy); then
    echo "haproxy  pid $pid  http://127.0.0.1:$port  stats http://127.0.0.1:$stats_port/stats"
    curl -fsS --max-time 3 "http://127.0.0.1:$stats_port/stats;csv" \
      | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i } $1 == "nodes" && $2 ~ /^node-/ { printf "  %-8s %-10s %s connections\n", $2, $col["status"], $col["scur"] }'
  else
    echo "haproxy  not running"
  fi
}

cmd_kill() {
  local i=${1:?node number} pid
  pid=$(alive "$state/node-$i/pid" Homeroom.Server.dll) || { echo "node-$i is not running" >&2; exit 1; }
  kill -KILL "$pid"
  echo "node-$i (pid $pid) killed; start it again with: bash scripts/cluster.sh restart $i"
}

cmd_restart() {
  local i=${1:?node number}
  if alive "$state/node-$i/pid" Homeroom.Server.dll >/dev/null; then echo "node-$i runs" >&2; exit 1; fi
  [ -d "$state/node-$i" ] || { echo "no node-$i in $state" >&2; exit 1; }
  start_node "$i"
  wait_ready "$i"
  echo "node-$i ready; HAProxy sends it new connections once its check passes twice"
}

cmd_stop() {
  local pid pids=()
  if pid=$(alive "$state/haproxy.pid" haproxy); then kill "$pid"; fi
  for i in $(nodes); do
    if pid=$(alive "$state/node-$i/pid" Homeroom.Server.dll); then kill -TERM "$pid"; pids+=("$pid"); fi
  done
  for _ in $(seq 1 60); do
    local running=0
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && running=1; done
    [ "$running" -eq 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && kill -KILL "$pid"; done
  rm -f "$state"/haproxy.pid "$state"/node-*/pid
  echo "stopped (database $database and $state kept)"
}

case "${1:-}" in
  start) cmd_start "${2:-3}" ;;
  status) cmd_status ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  stop) cmd_stop ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
