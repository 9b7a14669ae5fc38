# shellcheck shell=bash
# shellcheck disable=SC2154  # work, repo, patients, ...: the sourcing script's
# Shell functions shared by the benchmark scripts here (run.sh and its
# stages grpc_bench.sh, push_bench.sh, gateway_bench.sh). Source it after
# `set -euo pipefail`:
#
#   bench_name=grpc_bench.sh  # prefix of error messages
#   bench_log_tag=grpc-bench  # log lines read "[grpc-bench 10:00:00] ..."
#   source "$repo/tests/bench/lib.sh"
#
# It defines functions and the variable child_pid (and exports
# PYTHONDONTWRITEBYTECODE), and nothing else; the
# Postgres helpers expect the scripts' own variables (work, warmup, duration,
# patients, scale, first_number, server_bin), named in each comment.
#
# Two settings from the environment make a script a stage of run.sh:
# WORK_DIR (bench_make_work: the scratch directory, kept afterwards, where
# the script leaves its raw JSON and summary.json) and BENCH_PG_DIR
# (bench_start_postgres: a Postgres that run.sh started and seeded, shared
# by the stages).

log() { echo "[${bench_log_tag:-bench} $(date +%T)] $*" >&2; }

# The Python modules here (latency_curve.py, bench_summary.py) are imported
# by the scripts' inline Python: leave no __pycache__ in the tree.
export PYTHONDONTWRITEBYTECODE=1

# --- processes ----------------------------------------------------------------

child_pid=""

# Runs a command in the background and waits for it, so that a signal runs
# the trap at once rather than after the command; bench_cleanup stops it.
run_child() {
  "$@" &
  child_pid=$!
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

# stop_pid PID [TENTHS]: SIGTERM, up to TENTHS tenths of a second (default
# 50) for it to exit, then SIGKILL; reaps it. No-op for an empty PID.
stop_pid() {
  local pid=$1 tenths=${2:-50}
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq "$tenths"); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# The EXIT trap: stops child_pid (allowing it bench_child_grace tenths of a
# second, default 50, before SIGKILL), then calls the script's bench_on_exit
# (if it defines one) to stop its own processes, then removes $work unless
# KEEP_WORK is set. Exits with the script's status.
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$child_pid" "${bench_child_grace:-50}"
  child_pid=""
  [[ -z "${bench_sleep_pid:-}" ]] || stop_pid "$bench_sleep_pid"
  if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
  if [[ -n "${KEEP_WORK:-}" ]]; then
    log "scratch kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}

# bench_make_work PREFIX: sets work to $WORK_DIR (created if need be, and
# kept on exit) or to a new /tmp/PREFIX.XXXXXX (removed on exit unless
# KEEP_WORK is set).
bench_make_work() {
  if [[ -n "${WORK_DIR:-}" ]]; then
    mkdir -p "$WORK_DIR"
    work=$(cd "$WORK_DIR" && pwd)
    KEEP_WORK=1
  else
    work=$(mktemp -d "/tmp/$1.XXXXXX")
  fi
}

bench_install_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# wait_for_line PID FILE SED_SCRIPT: waits up to 20 s for the process PID to
# print a line that `sed -n SED_SCRIPT` turns into a non-empty value (e.g.
# 's/^x listening port=\([0-9]*\)$/\1/p') into FILE; prints that value.
# Returns 1 if PID exits or the time runs out first.
wait_for_line() {
  local pid=$1 file=$2 script=$3 value=""
  for _ in $(seq 200); do
    value=$(sed -n "$script" "$file" | head -n 1)
    [[ -n "$value" ]] && { echo "$value"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# --- /proc --------------------------------------------------------------------

# /proc/PID/stat field N (1-based, as in proc(5)).
stat_field() {
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) }
  local fields
  read -r -a fields <<<"$stat"
  echo "${fields[$(($2 - 3))]}"
}

# CPU seconds (utime + stime, all threads) of a live process.
cpu_of() {
  awk -v hz="$(getconf CLK_TCK)" '{
    sub(/^.*\) /, ""); split($0, f, " "); printf "%.3f\n", (f[12] + f[13]) / hz
  }' "/proc/$1/stat"
}

# CPU seconds of the live children of PID (for the postmaster: its backends
# and background processes), summed.
children_cpu() {
  local pids
  pids=$(pgrep -P "$1" | sed 's|$|/stat|' | tr '\n' ' ' || true)
  [[ -n "$pids" ]] || { echo 0.000; return 0; }
  # A child may exit in between: its CPU then moves to the parent's cutime.
  # shellcheck disable=SC2086  # one word per stat file
  (cd /proc && cat $pids 2>/dev/null || true) | awk -v hz="$(getconf CLK_TCK)" '{
    sub(/^.*\) /, ""); split($0, f, " "); t += f[12] + f[13]
  } END { printf "%.3f\n", t / hz }'
}

# CPU seconds the whole machine has been busy since boot (all cores: user,
# nice, system, irq, softirq, steal from /proc/stat). Its change over a
# window, less the CPU of the processes measured, is what the neighbours
# took.
machine_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
    printf "%.3f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit
  }' /proc/stat
}

# Context switches (voluntary + involuntary) of a live process's threads
# that are alive now: a thread hand-off costs one or two per request.
ctxsw_of() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# Peak resident set (VmHWM) of a live process, in KiB.
vmhwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# The same, or 0 when PID is empty or gone.
vmhwm_or_0() {
  local kb=""
  if [[ -n "$1" ]]; then kb=$(vmhwm_kb "$1" 2>/dev/null) || kb=""; fi
  echo "${kb:-0}"
}

# Postgres' memory now, in KiB: the proportional set size (Pss: each shared
# page split among the processes that map it) of the postmaster and all its
# children, summed. Their RSS would count shared_buffers once per backend.
pg_pss_kb() {
  local p
  for p in "$pg_pid" $(pgrep -P "$pg_pid" || true); do
    cat "/proc/$p/smaps_rollup" 2>/dev/null || true
  done | awk '/^Pss:/ { s += $2 } END { print s + 0 }'
}

# --- build --------------------------------------------------------------------

# bench_build BUILD TARGET...: configures BUILD (with the array
# bench_cmake_args, if set) when it has no CMakeCache.txt, then builds the
# targets (as run_child: a signal stops the build); logs to $work/cmake.log
# and $work/build.log.
bench_build() {
  local build=$1
  shift
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    log "configuring $build"
    run_child cmake -S "$repo" -B "$build" -G Ninja ${bench_cmake_args[@]+"${bench_cmake_args[@]}"} \
      >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 1; }
  fi
  local names=$1
  if (($# > 1)); then names="$(IFS=,; echo "${*:1:$#-1}" | sed 's/,/, /g') and ${!#}"; fi
  log "building $names in $build"
  # ninja itself when it is the generator: on SIGTERM it stops its
  # compilers, where `cmake --build` would leave ninja running.
  local tool=(cmake --build "$build" --target)
  [[ -f "$build/build.ninja" ]] && command -v ninja >/dev/null && tool=(ninja -C "$build")
  run_child "${tool[@]}" "$@" >"$work/build.log" 2>&1 ||
    { tail -n 50 "$work/build.log" >&2; exit 1; }
}

# --- Postgres -----------------------------------------------------------------

# Sets pgbindir, pgbench and psql; exits if they are missing.
bench_find_pg_tools() {
  pgbindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
  pgbench="$pgbindir/pgbench"
  psql="$pgbindir/psql"
  local tool
  for tool in "$pgbench" "$psql"; do
    [[ -x "$tool" ]] || { echo "$bench_name: $tool missing (deploy/install-deps.sh installs postgresql-15)" >&2; exit 1; }
  done
}

# Starts a private Postgres in $work/pg (tests/pg/pg_instance.sh: 127.0.0.1,
# a free port) with the databases callpush and pgbench. Sets pg_instance,
# pgdir, pg_url, pg_pid (the postmaster), base_url, cp_url and pgb_url.
# Stop it with bench_stop_postgres.
#
# With BENCH_PG_DIR set, uses that running instance instead (run.sh started
# and seeded it for all its stages): bench_seed and bench_stop_postgres
# then do nothing.
#
# pg_instance.sh is the test instance: fsync, synchronous_commit and
# full_page_writes are off; shared_buffers is 128MB, which holds both data
# sets.
bench_start_postgres() {
  pg_instance="$repo/tests/pg/pg_instance.sh"
  if [[ -n "${BENCH_PG_DIR:-}" ]]; then
    pgdir=$BENCH_PG_DIR
    pg_shared=1
    pg_url=$("$pg_instance" url "$pgdir")
    pg_pid=$(head -n 1 "$pgdir/data/postmaster.pid")
    kill -0 "$pg_pid" 2>/dev/null ||
      { echo "$bench_name: no Postgres running in BENCH_PG_DIR=$pgdir" >&2; exit 1; }
    log "using the Postgres in $pgdir"
  else
    pgdir="$work/pg"
    pg_shared=""
    chmod 755 "$work"  # pg_instance.sh runs Postgres as the postgres user
    log "starting a private Postgres in $pgdir"
    pg_url=$(PG_PORT='' "$pg_instance" start "$pgdir")  # a free port
    pg_pid=$(head -n 1 "$pgdir/data/postmaster.pid")
  fi
  base_url=${pg_url%/*}
  cp_url="$base_url/callpush"
  pgb_url="$base_url/pgbench"
  [[ -n "$pg_shared" ]] ||
    "$psql" -q -v ON_ERROR_STOP=1 "$pg_url" -c 'CREATE DATABASE callpush' -c 'CREATE DATABASE pgbench'
}

bench_stop_postgres() {
  [[ -n "${pgdir:-}" && -z "${pg_shared:-}" ]] || return 0
  "$pg_instance" destroy "$pgdir" >/dev/null 2>&1 || true
}

# Migrates the callpush database with $server_bin, seeds $patients patients
# from +$first_number, and runs pgbench -i -s $scale on the pgbench database.
# Does nothing on a shared instance (BENCH_PG_DIR), which is seeded already.
bench_seed() {
  [[ -z "${pg_shared:-}" ]] || return 0
  log "migrating and seeding $patients patients"
  "$server_bin" migrate --database_url="$cp_url" >"$work/migrate.log" 2>&1 ||
    { cat "$work/migrate.log" >&2; exit 1; }
  # Numbers +447700900000 + i. Patient n has 1 + n % 3 iOS devices (two on
  # average). The second device of every fifth patient refuses inbound calls,
  # and so does the only device of one patient in 150: those get an empty list.
  "$psql" -q -v ON_ERROR_STOP=1 "$cp_url" <<SQL
INSERT INTO patients (mobile_number)
SELECT '+' || ($first_number + i) FROM generate_series(0, $patients - 1) AS i;
INSERT INTO devices (patient_id, platform, app, environment, voip_token,
                     push_token, inbound_calls_allowed)
SELECT p.id, 'ios', 'demo', 'sandbox',
       encode(sha256(convert_to('voip:' || p.mobile_number || ':' || k, 'UTF8')), 'hex'),
       encode(sha256(convert_to('push:' || p.mobile_number || ':' || k, 'UTF8')), 'hex'),
       NOT ((k = 2 AND p.n % 5 = 0) OR (p.n % 3 = 0 AND p.n % 50 = 0))
FROM (SELECT id, mobile_number, substr(mobile_number, 2)::bigint AS n
        FROM patients) AS p
CROSS JOIN LATERAL generate_series(1, 1 + (p.n % 3)::int) AS k;
VACUUM ANALYZE patients;
VACUUM ANALYZE devices;
SQL

  log "pgbench -i -s $scale"
  "$pgbench" -i -s "$scale" -q "$pgb_url" >"$work/pgbench-init.log" 2>&1 ||
    { cat "$work/pgbench-init.log" >&2; exit 1; }
}

# CPU seconds of the postmaster's exited (reaped) children: backends of
# connections that have closed.
pg_reaped_cpu() {
  awk -v u="$(stat_field "$pg_pid" 16)" -v s="$(stat_field "$pg_pid" 17)" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.6f\n", (u + s) / hz }'
}

# run_pgbench_sampled DELAY ARGS...: runs pgbench ARGS as run_child does,
# and DELAY seconds in, while it still runs, writes the peak RSS of the
# pgbench process (KiB) and Postgres' Pss (pg_pss_kb) to $pgbench_mem_file.
run_pgbench_sampled() {
  local delay=$1
  shift
  "$pgbench" "$@" &
  child_pid=$!
  sleep "$delay" &
  bench_sleep_pid=$!
  wait "$bench_sleep_pid"  # as run_child: a signal runs the trap at once
  bench_sleep_pid=""
  echo "$(vmhwm_or_0 "$child_pid") $(pg_pss_kb)" >"$pgbench_mem_file"
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

# run_pgbench NAME C URL ARGS...: pgbench -n -M prepared over C clients, a
# $warmup-second run and then a $duration-second one; writes $work/NAME.json
# (tps, latency percentiles and curve from -l, pgbench's and its backends'
# CPU per transaction, pgbench's peak RSS and Postgres' Pss near the end).
run_pgbench() {
  local name=$1 c=$2 url=$3
  shift 3
  local jobs=$((c < 2 ? c : 2))
  run_child "$pgbench" -n -M prepared -c "$c" -j "$jobs" -T "$warmup" "$@" "$url" >/dev/null 2>&1
  sleep 0.5
  local before after m0 m1 t0 t1
  before=$(pg_reaped_cpu)
  m0=$(machine_cpu)
  t0=$(date +%s.%N)
  pgbench_mem_file="$work/$name.mem"
  # -l: one line per transaction (for percentiles), about 1 µs each. The
  # memory sample (a few forks, in `time`'s count) comes half a second
  # before the end.
  { TIMEFORMAT='%U %S'; time run_pgbench_sampled "$(awk -v d="$duration" 'BEGIN { print d - 0.5 }')" \
      -n -M prepared -c "$c" -j "$jobs" -T "$duration" \
      -l --log-prefix="$work/$name.log" "$@" "$url" \
      >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time" ||
    { cat "$work/$name.err" >&2; exit 1; }
  m1=$(machine_cpu)
  t1=$(date +%s.%N)
  sleep 0.5  # let the postmaster reap the backends
  after=$(pg_reaped_cpu)
  PYTHONPATH="$repo/tests/bench" python3 - "$work/$name.out" "$work/$name.time" "$before" "$after" "$work/$name.log" \
    "$m0" "$m1" "$t0" "$t1" "$work/$name.mem" >"$work/$name.json" <<'PY'
import glob, json, re, sys
import latency_curve
out = open(sys.argv[1]).read()
# Per-transaction log lines: client, transaction, latency µs, script, epoch s, µs.
lat_us = sorted(int(line.split()[2]) for f in glob.glob(sys.argv[5] + ".*")
                for line in open(f))
pct = lambda q: latency_curve.percentile(lat_us, q)
pgbench_hwm_kb, pg_pss_kb = (int(x) for x in open(sys.argv[10]).read().split())
tps = float(re.search(r"tps = ([0-9.]+) \(without initial", out).group(1))
n = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
failed = re.search(r"number of failed transactions: (\d+)", out)
lat = float(re.search(r"latency average = ([0-9.]+) ms", out).group(1))
user, sys_ = (float(x) for x in open(sys.argv[2]).read().split())
pg_cpu = float(sys.argv[4]) - float(sys.argv[3])
print(json.dumps({
    "tps": tps, "transactions": n,
    "failed": int(failed.group(1)) if failed else 0,
    "latency_avg_us": lat * 1000,
    "latency_us": {"p50": pct(0.5), "p99": pct(0.99), "p99.9": pct(0.999),
                   "max": lat_us[-1]},
    "latency_curve_us": latency_curve.curve(lat_us, 0),
    "pgbench_vmhwm_kb": pgbench_hwm_kb, "pg_pss_kb": pg_pss_kb,
    "client_cpu_us_per_request": (user + sys_) * 1e6 / n,
    "pg_cpu_us_per_request": pg_cpu * 1e6 / n,
    # The whole machine's busy CPU over the run; less pgbench's and its
    # backends', what the neighbours took (in cores: / wall_s).
    "machine_cpu_s": float(sys.argv[7]) - float(sys.argv[6]),
    "wall_s": float(sys.argv[9]) - float(sys.argv[8]),
    "others_cpu_s": float(sys.argv[7]) - float(sys.argv[6]) - pg_cpu - user - sys_,
}))
PY
}

# The server's own list query (server/pg/sql.h kListCallableDevicesSql) as a
# pgbench script over the seeded numbers: what Postgres alone answers for
# exactly the GET / ListCallableDevices workload.
# bench_write_list_sql FILE
bench_write_list_sql() {
  cat >"$1" <<SQL
\set n random($first_number, $first_number + $patients - 1)
SELECT d.id::text FROM patients p JOIN devices d ON d.patient_id = p.id WHERE p.mobile_number = '+' || :n::text AND p.active AND d.inbound_calls_allowed AND d.voip_token IS NOT NULL ORDER BY d.created_at, d.id;
SQL
}

# One push sandbox for a whole run, its credentials in $work/certs. It keeps
# at most $max_deliveries pushes in memory (a bounded deque), so its memory
# does not grow with the run. Sets sandbox_pid, sandbox_h2 and sandbox_admin
# (host:port each); exits with the sandbox's log when it does not start.
# bench_start_sandbox SCRIPT_NAME
bench_start_sandbox() {
  certs="$work/certs"
  mkdir -p "$certs"
  log "starting the push sandbox"
  "$sandbox_bin" --make_certs="$certs" --h2_address=127.0.0.1:0 \
    --admin_address=127.0.0.1:0 --log_level=warning \
    --max_deliveries="$max_deliveries" >"$work/sandbox.out" 2>"$work/sandbox.err" &
  sandbox_pid=$!
  local line
  if ! line=$(wait_for_line "$sandbox_pid" "$work/sandbox.out" \
    's/^callpush-sandbox listening \(h2=127\.0\.0\.1:[0-9]* admin=127\.0\.0\.1:[0-9]*\)$/\1/p'); then
    echo "$1: callpush-sandbox did not start:" >&2
    tail -n 20 "$work/sandbox.err" >&2
    exit 1
  fi
  sandbox_h2=$(sed 's/^h2=\([^ ]*\) .*$/\1/' <<<"$line")
  sandbox_admin=$(sed 's/^.* admin=//' <<<"$line")
}

# App "demo" (the seeded devices' app) on the sandbox started by
# bench_start_sandbox, as tests/testing/sandbox_process.cc PushConfig()
# writes it: $work/push_config.json.
bench_write_push_config() {
  python3 - "$certs" "$sandbox_h2" >"$work/push_config.json" <<'PY'
import json, sys
certs, h2 = sys.argv[1:3]
print(json.dumps({"apps": [{
    "name": "demo",
    "apns": {"bundleId": "org.example.callpush.bench", "teamId": "SANDBOXTM1",
             "keyId": "SANDBOXKY1", "keyFile": f"{certs}/apns-key.p8",
             "defaultEnvironment": "production", "productionEndpoint": h2,
             "sandboxEndpoint": h2, "caFile": f"{certs}/ca.pem"},
    "fcm": {"projectId": "callpush-sandbox",
            "serviceAccountFile": f"{certs}/fcm-service-account.json",
            "endpoint": h2, "caFile": f"{certs}/ca.pem"}}]}, indent=2))
PY
}
