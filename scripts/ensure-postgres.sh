#!/usr/bin/env bash
# Makes sure a local PostgreSQL server is running on 127.0.0.1:5432 with the role the tests use
# (homeroom/homeroom, allowed to create databases). Installs Debian's postgresql package if needed.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "Installing PostgreSQL from Debian's packages..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version "; then
  as_root pg_createcluster "$version" main >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  as_root pg_ctlcluster "$version" main start
fi

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432

# The suite runs PostgreSQL tests side by side, and the cluster tests start whole server processes with pools of their
# own: Debian's default of 100 connections is too tight for both at once (a test then fails with 53300).
if [ "$(as_postgres "psql -tAc 'SHOW max_connections'")" -lt 300 ]; then
  as_postgres "psql -q -c 'ALTER SYSTEM SET max_connections = 300'"
  as_root pg_ctlcluster "$version" main restart
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p 5432
fi

if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'homeroom'\"" | grep -q 1; then
  as_postgres "psql -q -c \"CREATE ROLE homeroom LOGIN PASSWORD 'homeroom' CREATEDB\""
fi
# Lets the test role end stray sessions (autovacuum) when it drops a test database WITH (FORCE).
as_postgres "psql -q -c \"GRANT pg_signal_backend TO homeroom\"" >/dev/null
