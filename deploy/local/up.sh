#!/usr/bin/env bash
# The local run (README): installs what it needs, builds, starts its own
# Postgres in a local data directory, migrates, loads demo data and runs
# callpush-server in the foreground. Ctrl-C or SIGTERM stops everything it
# started. A second run reuses the build and the data.
#
# Today this serves gRPC only, and pushes are not configured yet (Call answers
# UNAVAILABLE); the push sandbox and the JSON gateway join this script with
# their issues.
#
# Environment: CALLPUSH_LOCAL_DIR (default /var/tmp/callpush-local),
# BUILD_DIR (default ./build), CALLPUSH_GRPC_ADDRESS (default 127.0.0.1:50051).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
state=${CALLPUSH_LOCAL_DIR:-/var/tmp/callpush-local}
build=${BUILD_DIR:-$repo/build}
grpc=${CALLPUSH_GRPC_ADDRESS:-127.0.0.1:50051}

"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target callpush-server

pg="$repo/tests/pg/pg_instance.sh"
server_pid=""
stop() {
  trap - EXIT INT TERM
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" && wait "$server_pid" || true
  fi
  "$pg" stop "$state/pg" || true
  echo "callpush local run stopped (data kept in $state)"
}
trap stop EXIT INT TERM

admin_url=$("$pg" start "$state/pg")
psql -q "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'callpush'" | grep -q 1 ||
  psql -q "$admin_url" -c "CREATE DATABASE callpush"
db_url="${admin_url%/postgres}/callpush"
"$build/server/callpush-server" migrate --database_url="$db_url"
psql -q "$db_url" -v ON_ERROR_STOP=1 -f "$repo/deploy/local/demo-data.sql"

cat <<TEXT

callpush is starting:
  gRPC      $grpc  (callpush.v1.CallService, callpush.v1.DeviceService;
                      health and reflection on)
  Postgres  $db_url
Demo data: +447777123456 has an iPhone and an Android phone that can take
calls, and an iPad that refuses them; +447911123456 belongs to an inactive
patient. Press Ctrl-C to stop.

TEXT
"$build/server/callpush-server" --grpc_address="$grpc" --database_url="$db_url" &
server_pid=$!
wait "$server_pid"
