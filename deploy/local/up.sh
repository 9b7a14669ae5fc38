#!/usr/bin/env bash
# The local run (README): installs what it needs, builds, starts its own
# Postgres in a local data directory, migrates, loads demo data, and runs in
# the foreground
#   callpush-sandbox  the push sandbox: APNs, FCM and OAuth2 over HTTP/2+TLS
#                     on 127.0.0.1:8443, its admin API on 127.0.0.1:8444
#   callpush-server   gRPC on 127.0.0.1:50051 and the JSON gateway in-process
#                     on 127.0.0.1:8080 (no auth: loopback only)
# with throw-away push credentials for one app, `demo` (APNs token auth,
# sandbox environment, and FCM), made once with openssl. It prints curl
# examples that work. Ctrl-C or SIGTERM stops everything it started; if one
# of the processes dies, it stops the rest and exits non-zero. A second run
# reuses the build, the data and the credentials.
#
# Environment: CALLPUSH_LOCAL_DIR (state: Postgres data, credentials, logs;
# default /var/tmp/callpush-local), BUILD_DIR (default ./build), JOBS (build
# jobs, default nproc), and the loopback addresses CALLPUSH_GRPC_ADDRESS,
# CALLPUSH_HTTP_ADDRESS, CALLPUSH_SANDBOX_ADDRESS,
# CALLPUSH_SANDBOX_ADMIN_ADDRESS (defaults above).
# shellcheck disable=SC2317  # cleanup and on_signal run from traps
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
state=${CALLPUSH_LOCAL_DIR:-/var/tmp/callpush-local}
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-$(nproc)}
grpc=${CALLPUSH_GRPC_ADDRESS:-127.0.0.1:50051}
http=${CALLPUSH_HTTP_ADDRESS:-127.0.0.1:8080}
sandbox=${CALLPUSH_SANDBOX_ADDRESS:-127.0.0.1:8443}
sandbox_admin=${CALLPUSH_SANDBOX_ADMIN_ADDRESS:-127.0.0.1:8444}

# The demo app, as the push config, the sandbox and demo-data.sql know it.
app=demo
bundle_id=app.callpush.demo
apns_team_id=DEMOTEAM01
apns_key_id=DEMOKEY001
fcm_project=callpush-demo
fcm_client_email=callpush-demo@callpush-demo.iam.gserviceaccount.com

pg="$repo/tests/pg/pg_instance.sh"
creds="$state/credentials"
logs="$state/logs"
run="$state/run"

die() {
  echo "up.sh: $*" >&2
  exit 1
}

# Everything listens on loopback: the gateway runs without auth, and the
# sandbox's certificate names 127.0.0.1 and localhost only.
for address in "$grpc" "$http" "$sandbox" "$sandbox_admin"; do
  [[ "$address" =~ ^127\.0\.0\.1:[0-9]{1,5}$ ]] ||
    die "address $address: must be 127.0.0.1:PORT (the local run serves loopback only)"
done

# One run per state directory.
mkdir -p "$state" "$logs" "$run"
exec 9>"$state/lock"
flock -n 9 || die "another up.sh is running with $state (CALLPUSH_LOCAL_DIR)"

# A run that was killed (SIGKILL, a closed terminal) may have left processes
# behind; they are ours, found by the pid files this script writes.
stop_leftover() {
  local name=$1 file="$run/$1.pid" pid argv0
  [[ -f "$file" ]] || return 0
  pid=$(<"$file")
  argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || true
  if [[ -n "$pid" && "$(basename -- "${argv0:-none}")" == "$name" ]]; then
    echo "up.sh: stopping $name (pid $pid) left over from an earlier run"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
stop_leftover callpush-server
stop_leftover callpush-sandbox
if [[ -f "$run/postgres" ]]; then
  echo "up.sh: stopping the Postgres left over from an earlier run"
  "$pg" stop "$state/pg" 2>/dev/null || true
  rm -f "$run/postgres"
fi

# Fails if something already listens on the address, and says what.
check_free() {
  local what=$1 address=$2 holder
  if timeout 2 bash -c "exec 3<>/dev/tcp/${address%:*}/${address##*:}" 2>/dev/null; then
    holder=$(ss -Hltnp "sport = :${address##*:}" 2>/dev/null | grep -o 'users:.*' | head -n 1) || true
    die "$address ($what) is already in use${holder:+ by $holder}; stop that process or set $3"
  fi
}
check_ports() {
  check_free "gRPC" "$grpc" CALLPUSH_GRPC_ADDRESS
  check_free "HTTP gateway" "$http" CALLPUSH_HTTP_ADDRESS
  check_free "push sandbox" "$sandbox" CALLPUSH_SANDBOX_ADDRESS
  check_free "push sandbox admin" "$sandbox_admin" CALLPUSH_SANDBOX_ADMIN_ADDRESS
}
check_ports  # before a long build, and again before starting

"$repo/deploy/install-deps.sh"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target callpush-server callpush-sandbox callpushctl
server_bin="$build/server/callpush-server"
sandbox_bin="$build/tests/sandbox/callpush-sandbox"
ctl_bin="$build/clients/callpushctl/callpushctl"

# From here on, everything started is stopped on the way out.
server_pid=""
sandbox_pid=""
viewer_pids=()
stop_child() {  # NAME PID GRACE_SECONDS
  local name=$1 pid=$2 grace=$3 rc=0
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "up.sh: $name (pid $pid) did not stop within ${grace}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  rm -f "$run/$name.pid"
  return "$rc"
}
cleanup() {
  local rc=$?
  # A second Ctrl-C or SIGTERM must not cut the stopping short (it left
  # Postgres running): signals are ignored from here on.
  trap - EXIT
  trap '' INT TERM HUP
  set +e
  # The server first (it drains requests and pushes in flight), then the
  # sandbox that answers those pushes, then the database.
  stop_child callpush-server "$server_pid" 20 || { echo "up.sh: callpush-server exited with status $?" >&2; rc=1; }
  stop_child callpush-sandbox "$sandbox_pid" 10 || { echo "up.sh: callpush-sandbox exited with status $?" >&2; rc=1; }
  if [[ -f "$run/postgres" ]]; then
    "$pg" stop "$state/pg" || { echo "up.sh: could not stop Postgres ($state/pg)" >&2; rc=1; }
    rm -f "$run/postgres"
  fi
  # The log viewers end by themselves once their process is gone.
  ((${#viewer_pids[@]} == 0)) || wait "${viewer_pids[@]}" 2>/dev/null
  echo "callpush local run stopped (data, credentials and logs kept in $state)"
  exit "$rc"
}
on_signal() {
  echo
  echo "up.sh: $1, stopping"
  exit 0
}
trap cleanup EXIT
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP

# Postgres, the schema and the demo data.
touch "$run/postgres"
# (fd 9, the lock, stays with this script: a Postgres or a server left over
# by a killed run must not hold it.)
admin_url=$("$pg" start "$state/pg" 9>&-)
psql -q "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'callpush'" | grep -q 1 ||
  psql -q "$admin_url" -c "CREATE DATABASE callpush"
db_url="${admin_url%/postgres}/callpush"
"$server_bin" migrate --database_url="$db_url" >>"$logs/migrate.log" 2>&1 ||
  { tail -n 20 "$logs/migrate.log" >&2; die "migration failed (log: $logs/migrate.log)"; }
psql -q "$db_url" -v ON_ERROR_STOP=1 -f "$repo/deploy/local/demo-data.sql"

# Push credentials (made once) and the config that points app `demo` at the
# sandbox. The two JSON files are derived from the kept keys and addresses,
# and replaced only when that changes.
echo "push credentials: $("$repo/deploy/local/make-credentials.sh" "$creds")"
token_uri="https://$sandbox/token"
install_file() {  # TMP DEST: DEST := TMP unless equal
  if cmp -s "$1" "$2"; then rm -f "$1"; else mv "$1" "$2"; fi
}
(
  umask 077
  private_key=$(awk '{printf "%s\\n", $0}' "$creds/fcm-key.pem")
  cat >"$creds/fcm-service-account.json.tmp" <<JSON
{
  "type": "service_account",
  "project_id": "$fcm_project",
  "private_key_id": "callpush-local",
  "private_key": "$private_key",
  "client_email": "$fcm_client_email",
  "client_id": "000000000000000000000",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "$token_uri"
}
JSON
  install_file "$creds/fcm-service-account.json.tmp" "$creds/fcm-service-account.json"
)
cat >"$state/push-config.json.tmp" <<JSON
{
  "apps": [
    {
      "name": "$app",
      "apns": {
        "bundleId": "$bundle_id",
        "teamId": "$apns_team_id",
        "keyId": "$apns_key_id",
        "keyFile": "$creds/apns-key.p8",
        "defaultEnvironment": "sandbox",
        "sandboxEndpoint": "$sandbox",
        "productionEndpoint": "$sandbox",
        "caFile": "$creds/ca.pem"
      },
      "fcm": {
        "projectId": "$fcm_project",
        "serviceAccountFile": "$creds/fcm-service-account.json",
        "endpoint": "$sandbox",
        "caFile": "$creds/ca.pem"
      }
    }
  ]
}
JSON
install_file "$state/push-config.json.tmp" "$state/push-config.json"

# Waits until LOG has a line containing TEXT (the process prints it once it
# listens); fails if the process exits first (the exit trap reports its
# status) or after 60 s.
wait_for_line() {  # NAME PID LOG TEXT
  local name=$1 pid=$2 log=$3 text=$4 deadline=$((SECONDS + 60))
  until grep -qF -- "$text" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up.sh: $name stopped while starting; its log ($log) ends:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "up.sh: $name did not print \"$text\" within 60 s; its log ($log) ends:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Shows a process's log on the terminal, each line prefixed with its name;
# ends by itself once the process is gone.
show_log() {  # PREFIX PID LOG
  tail -n 0 -F --pid="$2" "$3" 2>/dev/null 9>&- | sed -u "s/^/$1 | /" 9>&- &
  viewer_pids+=($!)
}

check_ports

# The sandbox, in its own session so that the terminal's Ctrl-C reaches only
# this script, which stops the processes in order.
: >"$logs/sandbox.log"
setsid "$sandbox_bin" \
  --h2_address="$sandbox" --admin_address="$sandbox_admin" \
  --tls_cert="$creds/server.pem" --tls_key="$creds/server-key.pem" \
  --apns_public_key="$creds/apns-public.pem" \
  --apns_team_id="$apns_team_id" --apns_key_id="$apns_key_id" \
  --fcm_public_key="$creds/fcm-public.pem" --fcm_client_email="$fcm_client_email" \
  --fcm_project="$fcm_project" --token_uri="$token_uri" \
  </dev/null >>"$logs/sandbox.log" 2>&1 9>&- &
sandbox_pid=$!
echo "$sandbox_pid" >"$run/callpush-sandbox.pid"
wait_for_line callpush-sandbox "$sandbox_pid" "$logs/sandbox.log" \
  "callpush-sandbox listening " || exit 1

: >"$logs/server.log"
setsid "$server_bin" \
  --grpc_address="$grpc" --http_address="$http" \
  --database_url="$db_url" --push_config="$state/push-config.json" \
  </dev/null >>"$logs/server.log" 2>&1 9>&- &
server_pid=$!
echo "$server_pid" >"$run/callpush-server.pid"
wait_for_line callpush-server "$server_pid" "$logs/server.log" \
  "callpush-server listening grpc=" || exit 1
wait_for_line callpush-server "$server_pid" "$logs/server.log" \
  "callpush-gateway listening http=" || exit 1

# Ready: /readyz answers 200 once the server reports SERVING (Postgres answers).
if command -v curl >/dev/null; then
  deadline=$((SECONDS + 60))
  until curl -fs -o /dev/null --max-time 2 "http://$http/readyz"; do
    kill -0 "$server_pid" 2>/dev/null || die "callpush-server stopped while starting (log: $logs/server.log)"
    ((SECONDS < deadline)) || die "http://$http/readyz did not answer 200 within 60 s (log: $logs/server.log)"
    sleep 0.2
  done
fi

ctl=$ctl_bin
[[ "$grpc" == 127.0.0.1:50051 ]] || ctl+=" --server $grpc"
ctl_help="
The operator CLI over gRPC (callpushctl --help):
  $ctl device list +447777123456
  $ctl call-log demo-call-1
"

cat <<TEXT

callpush is running (Ctrl-C stops it):
  JSON gateway  http://$http  (no auth: loopback only)
  gRPC          $grpc  (callpush.v1.CallService, callpush.v1.DeviceService;
                health and reflection on)
  push sandbox  https://$sandbox (APNs, FCM, OAuth2), admin http://$sandbox_admin
  Postgres      $db_url
  state, logs   $state  (logs/server.log, logs/sandbox.log)

Demo data (app "$app": APNs bundle $bundle_id, sandbox environment; FCM
project $fcm_project): +447777123456 has an iPhone and an Android phone that
take calls and an iPad that refuses them; +447911123456 is an inactive
patient's. The demo rows are reset on every start.

Try:
  # 200 [{"id":"cbc16ed8-..."},{"id":"7d7e2fdb-..."}]  (+ is %2B in a query)
  curl -i 'http://$http/v1/callable-devices?mobileNumber=%2B447777123456'

  # 202: a VoIP push to the iPhone (APNs), then a data message to the Android phone (FCM)
  curl -i http://$http/v1/call -H 'content-type: application/json' \\
    -d '{"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callId":"demo-call-1","callerName":"Dr Jane Smith"}'
  curl -i http://$http/v1/call -H 'content-type: application/json' \\
    -d '{"deviceId":"7d7e2fdb-416d-4dc8-a545-e42ee157ef03","callId":"demo-call-1","callerName":"Dr Jane Smith"}'

  # 202: update the call, then cancel it (reason cancelled or answered_elsewhere)
  curl -i http://$http/v1/update-call -H 'content-type: application/json' \\
    -d '{"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callId":"demo-call-1","callerName":"Dr Jane Smith (surgery)"}'
  curl -i http://$http/v1/cancel-call -H 'content-type: application/json' \\
    -d '{"deviceId":"cbc16ed8-0422-456f-9e15-f269b8a25811","callId":"demo-call-1","reason":"answered_elsewhere"}'

  # 403 {"error":"device rejected inbound call"}: the iPad refuses calls
  curl -i http://$http/v1/call -H 'content-type: application/json' \\
    -d '{"deviceId":"c1a21fce-8660-4c69-a98d-820a50154f93","callId":"demo-call-2","callerName":"Dr Jane Smith"}'

  # 404, empty body: the inactive patient's device
  curl -i http://$http/v1/call -H 'content-type: application/json' \\
    -d '{"deviceId":"0b5e3c2a-1d4f-4e6a-8b7c-9d0e1f2a3b4c","callId":"demo-call-3","callerName":"Dr Jane Smith"}'

A repeated call with the same callId and deviceId within 60 s answers 202
without a second push; use a new callId to ring again.

What the sandbox received (newest last), and how to forget it:
  curl -s http://$sandbox_admin/deliveries | python3 -m json.tool
  curl -X DELETE http://$sandbox_admin/deliveries
Make it fail the next push to the iPhone like APNs would (410: the token is
cleared, the call answers 404; the token comes back on the next start):
  curl -X PUT http://$sandbox_admin/rules -d '[{"token":"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9","status":410,"reason":"Unregistered","times":1}]'
$ctl_help
TEXT

show_log server "$server_pid" "$logs/server.log"
show_log sandbox "$sandbox_pid" "$logs/sandbox.log"

# Until a signal (the traps above) or until one of the two exits.
set +e
wait -n -p dead "$server_pid" "$sandbox_pid"
rc=$?
set -e
if [[ "$dead" == "$server_pid" ]]; then
  server_pid=""
  rm -f "$run/callpush-server.pid"
  die "callpush-server exited with status $rc; stopping the rest (log: $logs/server.log)"
fi
sandbox_pid=""
rm -f "$run/callpush-sandbox.pid"
die "callpush-sandbox exited with status $rc; stopping the rest (log: $logs/sandbox.log)"
