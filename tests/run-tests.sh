#!/usr/bin/env bash
# Runs every test of Grid.Edge, then checks that the hub publishes for the Raspberry Pi (linux-arm64).
# Installs the Debian packages the tests use when they are missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/influxd ] || missing+=(influxdb)
[ -x /usr/bin/victoria-metrics ] || missing+=(victoria-metrics)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "Installing test dependencies: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

dotnet build Grid.Edge.sln -c Release -warnaserror
dotnet test Grid.Edge.sln -c Release --no-build --logger "console;verbosity=minimal" --blame-hang-timeout 5m

echo "Publishing the hub for linux-arm64 (Raspberry Pi)..."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet publish hub/Grid.Edge.Hub -c Release -r linux-arm64 --self-contained false -o "$out" -v quiet -nologo
machine=$(od -An -t u2 -j 18 -N 2 "$out/Grid.Edge.Hub" | tr -d ' ')
if [ "$machine" != "183" ]; then
  echo "error: $out/Grid.Edge.Hub is not an aarch64 executable (ELF machine $machine)" >&2
  exit 1
fi
test -f "$out/libe_sqlite3.so" || { echo "error: the arm64 SQLite library is missing from the publish output" >&2; exit 1; }
echo "Publishing the agent for linux-arm64..."
dotnet publish edge/Grid.Edge.Agent -c Release -r linux-arm64 --self-contained false -o "$out/agent" -v quiet -nologo
machine=$(od -An -t u2 -j 18 -N 2 "$out/agent/grid-agent" | tr -d ' ')
if [ "$machine" != "183" ]; then
  echo "error: $out/agent/grid-agent is not an aarch64 executable (ELF machine $machine)" >&2
  exit 1
fi
test -f "$out/agent/grid-agent.service" || { echo "error: the systemd unit is missing from the agent's publish output" >&2; exit 1; }
echo "linux-arm64 publish: OK"
