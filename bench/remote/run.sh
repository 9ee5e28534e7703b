#!/usr/bin/env bash
# Remote session benchmark (issue 21): a server process, the real agent and its user-session helper as processes on a
# 1366x768 Xvfb desktop with classroom content (a text page being typed into with a blinking cursor, a scrolling
# region), and a technician's session socket in this process. Measures frames per second and bandwidth at the viewer,
# input-to-screen latency on loopback (a pointer move sent by the viewer, a probe window that changes colour when the
# pointer reaches it, until the changed tile arrives at the viewer), and the server process's CPU during the session.
# Targets: >= 10 fps, <= 1 Mbit/s, <= 150 ms, < 5 % of a core. Prints a table; JSON goes to bench/results/.
#   bench/remote/run.sh [--seconds 30] [--probes 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ensure-xvfb.sh
dotnet build src/Homeroom.Server -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet build bench/Homeroom.Bench.Remote -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Homeroom.Bench.Remote/bin/Release/net10.0/Homeroom.Bench.Remote.dll \
  --server-dll src/Homeroom.Server/bin/Release/net10.0/Homeroom.Server.dll "$@"
