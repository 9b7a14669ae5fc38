#!/usr/bin/env bash
# The JSON gateway (issue 4) under wrk, next to pgbench -S on the same
# private Postgres, in one run on this machine: GET /v1/callable-devices and
# POST /v1/call (pushes to callpush-sandbox over TLS), through the gateway in
# callpush-server (--http_address) and through the separate callpush-gateway
# process; then latency at LOAD_FRACTION of each peak. Prints a markdown
# table and writes it to tests/bench/results/gateway-<date>.md. A stage of
# run.sh (which sets WORK_DIR, BENCH_PG_DIR and SKIP_BUILD), and runnable
# alone. See README.md here.
#
#   tests/bench/gateway_bench.sh [BUILD_DIR]
#
# Environment (all optional):
#   BUILD_DIR      build directory (default: $repo/build-bench, configured
#                  Release if new; an argument wins)
#   CONCURRENCY    wrk connections = pgbench clients                 [16]
#   WRK_THREADS    wrk -t (pgbench runs -j 2)                        [2]
#   DB_WORKERS     callpush-server --db_workers                      [8]
#   PAIRS          in-process / separate pairs, order alternating    [2]
#   DURATION       seconds measured per run                          [15]
#   WARMUP         seconds of load before each measurement           [3]
#   LOAD_FRACTION  fraction of the median peak for the latency runs  [0.8]
#   LATENCY_CONNECTIONS wrk connections in the paced runs, spare ones so
#                  that a send is rarely due while all are busy [4 × CONCURRENCY]
#   PATIENTS       seeded patients (1-3 devices each)                [10000]
#   PGBENCH_SCALE  pgbench -i -s                                     [10]
#   MAX_DELIVERIES the sandbox's --max_deliveries (its memory bound) [1000]
#   SKIP_BUILD=1   use the binaries already in BUILD_DIR
#   KEEP_WORK=1    keep the scratch directory (raw JSON, logs)
#   WORK_DIR       use (and keep) this scratch directory
#   BENCH_PG_DIR   use this running, seeded Postgres (lib.sh)
#   OUT            where the table goes [tests/bench/results/gateway-<date>.md]
#
# Besides the table it leaves $work/summary.json, the figures run.sh reads.
# Everything it starts (Postgres, the sandbox, callpush-server,
# callpush-gateway, wrk) is stopped on exit, error or Ctrl-C. Only 127.0.0.1
# is used.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD_DIR:-$repo/build-bench}}
concurrency=${CONCURRENCY:-16}
wrk_threads=${WRK_THREADS:-2}
db_workers=${DB_WORKERS:-8}
pairs=${PAIRS:-2}
duration=${DURATION:-15}
warmup=${WARMUP:-3}
load_fraction=${LOAD_FRACTION:-0.8}
latency_connections=${LATENCY_CONNECTIONS:-$((4 * concurrency))}
patients=${PATIENTS:-10000}
scale=${PGBENCH_SCALE:-10}
max_deliveries=${MAX_DELIVERIES:-1000}
out=${OUT:-$repo/tests/bench/results/gateway-$(date +%F).md}
first_number=447700900000

bench_name=gateway_bench.sh
bench_log_tag=gateway-bench
source "$repo/tests/bench/lib.sh"
bench_find_pg_tools
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null ||
    { echo "gateway_bench.sh: $tool missing (deploy/install-deps.sh installs it)" >&2; exit 1; }
done
((duration >= 3)) || { echo "gateway_bench.sh: DURATION must be at least 3" >&2; exit 1; }

# --- scratch space and cleanup ------------------------------------------------
bench_make_work callpush-gateway-bench
sandbox_pid=""
server_pid=""
gateway_pid=""

stop_stack() {
  stop_pid "$gateway_pid"
  gateway_pid=""
  stop_pid "$server_pid" 100
  server_pid=""
}

# Called by bench_cleanup (lib.sh) on exit, error or Ctrl-C.
bench_on_exit() {
  stop_stack
  stop_pid "$sandbox_pid"
  bench_stop_postgres
}
bench_install_traps

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
# What is measured: the tree as it is now, uncommitted changes included; a
# digest of those in the code under test tells runs of different trees apart.
measured_paths=(gateway server clients proto tests/sandbox tests/bench)
if [[ -n "$(git -C "$repo" status --porcelain -- "${measured_paths[@]}" 2>/dev/null)" ]]; then
  commit+=" + uncommitted changes in the measured code (diff sha256 $(
    git -C "$repo" diff HEAD -- "${measured_paths[@]}" | sha256sum | cut -c1-12))"
fi

# --- build --------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bench_cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  bench_build "$build" callpush-server callpush-gateway callpush-sandbox
fi
server_bin="$build/server/callpush-server"
gateway_bin="$build/gateway/callpush-gateway"
sandbox_bin="$build/tests/sandbox/callpush-sandbox"
for bin in "$server_bin" "$gateway_bin" "$sandbox_bin"; do
  [[ -x "$bin" ]] || { echo "gateway_bench.sh: $bin missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)

# --- Postgres -----------------------------------------------------------------
# The test instance (lib.sh): fsync, synchronous_commit and full_page_writes
# are off. POST /v1/call writes (a claim row per push, then its outcome):
# with fsync off that measures the server's work, not this machine's disk.
bench_start_postgres
bench_seed

bench_write_list_sql "$work/list_callable_devices.sql"

# The devices POST /v1/call rings: every callable one (else 403 or 404).
"$psql" -qAt -v ON_ERROR_STOP=1 "$cp_url" >"$work/devices.txt" <<'SQL'
SELECT d.id FROM devices d JOIN patients p ON p.id = d.patient_id
 WHERE p.active AND d.inbound_calls_allowed AND d.voip_token IS NOT NULL
 ORDER BY d.id;
SQL
log "$(wc -l <"$work/devices.txt") callable devices exported for POST /v1/call"

# The SQL one POST /v1/call runs (server/pg/sql.h: kGetDeviceSql,
# kClaimCallSql, kCompletePushSql), run by pgbench: what Postgres alone
# answers for exactly that. pgbench cannot read a list, so the device comes
# from a numbered copy of it (one more primary-key lookup per transaction,
# inside the first statement).
"$psql" -q -v ON_ERROR_STOP=1 "$cp_url" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_devices;
CREATE TABLE bench_devices (i serial PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_devices (id)
SELECT d.id FROM devices d JOIN patients p ON p.id = d.patient_id
 WHERE p.active AND d.inbound_calls_allowed AND d.voip_token IS NOT NULL
 ORDER BY d.id;
VACUUM ANALYZE bench_devices;
SQL
cat >"$work/call.sql" <<SQL
\set k random(1, $(wc -l <"$work/devices.txt"))
\set c random(1, 9000000000000000000)
SELECT d.id::text AS device_id, d.patient_id::text, p.mobile_number, p.active, d.platform, d.app, coalesce(d.environment, ''), d.voip_token, d.push_token, d.inbound_calls_allowed, (extract(epoch FROM d.token_updated_at) * 1000000)::bigint, (extract(epoch FROM d.created_at) * 1000000)::bigint, (extract(epoch FROM d.updated_at) * 1000000)::bigint FROM devices d JOIN patients p ON p.id = d.patient_id WHERE d.id = (SELECT id FROM bench_devices WHERE i = :k) \gset
SELECT claimed, attempt_id, existing_outcome FROM claim_call_push('pgbench-' || :c, :device_id::uuid, 'apns', 60000) \gset
UPDATE call_pushes SET outcome = 'accepted', provider = 'apns', provider_status = 200, provider_reason = '', provider_id = 'pgbench', latency_us = 1000, token_invalidated = false, claim_open = ('accepted' = 'accepted'), completed_at = clock_timestamp() WHERE id = :attempt_id;
SQL

# --- the push sandbox -----------------------------------------------------------
bench_start_sandbox gateway_bench.sh

# App "demo" (the seeded devices' app) on the sandbox (lib.sh).
bench_write_push_config

# --- wrk scripts ----------------------------------------------------------------
# tests/bench/wrk/: get.lua and post.lua, with common.lua's pacing and
# BENCH_JSON report; they read the seeded numbers and devices from here.
export BENCH_FIRST_NUMBER=$first_number BENCH_PATIENTS=$patients \
  BENCH_DEVICES="$work/devices.txt"

# --- the stack under test -------------------------------------------------------
# start_stack MODE TAG: MODE "inproc" (the gateway inside callpush-server) or
# "separate" (callpush-gateway to the server's gRPC port). Sets http_port and
# waits until /readyz answers 200 (Postgres reachable, push credentials
# loaded).
start_stack() {
  local mode=$1 tag=$2
  local http=()
  [[ "$mode" == inproc ]] && http=(--http_address=127.0.0.1:0)
  "$server_bin" --grpc_address=127.0.0.1:0 --database_url="$cp_url" \
    --db_workers="$db_workers" --push_config="$work/push_config.json" "${http[@]}" \
    >"$work/server-$tag.out" 2>"$work/server-$tag.err" &
  server_pid=$!
  local grpc_port
  grpc_port=$(wait_for_line "$server_pid" "$work/server-$tag.out" \
    's/^callpush-server listening grpc=127\.0\.0\.1:\([0-9]*\)$/\1/p') ||
    { echo "gateway_bench.sh: callpush-server did not start:" >&2; tail -n 20 "$work/server-$tag.err" >&2; exit 1; }
  if [[ "$mode" == inproc ]]; then
    http_port=$(wait_for_line "$server_pid" "$work/server-$tag.out" \
      's/^callpush-gateway listening http=127\.0\.0\.1:\([0-9]*\)$/\1/p') ||
      { echo "gateway_bench.sh: the in-process gateway did not start:" >&2; tail -n 20 "$work/server-$tag.err" >&2; exit 1; }
  else
    "$gateway_bin" --grpc_target="127.0.0.1:$grpc_port" --http_address=127.0.0.1:0 \
      >"$work/gateway-$tag.out" 2>"$work/gateway-$tag.err" &
    gateway_pid=$!
    http_port=$(wait_for_line "$gateway_pid" "$work/gateway-$tag.out" \
      's/^callpush-gateway listening http=127\.0\.0\.1:\([0-9]*\)$/\1/p') ||
      { echo "gateway_bench.sh: callpush-gateway did not start:" >&2; tail -n 20 "$work/gateway-$tag.err" >&2; exit 1; }
  fi
  for _ in $(seq 300); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/readyz")" == 200 ]] && return 0
    sleep 0.1
  done
  echo "gateway_bench.sh: /readyz never answered 200 (mode $mode)" >&2
  tail -n 20 "$work/server-$tag.err" >&2
  exit 1
}

metrics() { curl -sf "http://127.0.0.1:$http_port/metrics"; }

# run_wrk NAME SCRIPT CONNECTIONS [RATE]: a WARMUP-second wrk run, then a
# DURATION-second one, both with the same pacing; writes $work/NAME.json:
# wrk's figures, the CPU of every process on the path sampled inside the
# measured window, and the gateway's request counts by route and status
# over that run.
run_wrk() {
  local name=$1 script=$2 connections=$3 rate=${4:-}
  local url="http://127.0.0.1:$http_port"
  local wrk_cmd=(wrk -t "$wrk_threads" -c "$connections" --timeout 10s -s "$repo/tests/bench/wrk/$script.lua")
  BENCH_RATE=$rate BENCH_THREADS=$wrk_threads BENCH_RUN="$name-warmup" \
    run_child "${wrk_cmd[@]}" -d "${warmup}s" "$url" >"$work/$name-warmup.out" 2>&1 ||
    { cat "$work/$name-warmup.out" >&2; exit 1; }
  metrics >"$work/$name-metrics-before.txt"
  BENCH_RATE=$rate BENCH_THREADS=$wrk_threads BENCH_RUN="$name" \
    "${wrk_cmd[@]}" -d "${duration}s" "$url" >"$work/$name.out" 2>&1 &
  child_pid=$!
  # CPU sampled from half a second after the start to 0.7 s before the end,
  # so that wrk is alive at both samples (taking one costs ~10 forks).
  # Per request = CPU / (rate × interval).
  local start inner
  start=$(date +%s.%N)
  sleep 0.5
  local s0 g0 p0 w0 x0 m0 t0 s1 g1 p1 w1 x1 m1 t1 cs0 cs1 cg0 cg1
  cs0=$(ctxsw_of "$server_pid")
  cg0=$([[ -n "$gateway_pid" ]] && ctxsw_of "$gateway_pid" || echo 0)
  m0=$(machine_cpu)
  t0=$(date +%s.%N)
  w0=$(cpu_of "$child_pid")
  s0=$(cpu_of "$server_pid")
  g0=$([[ -n "$gateway_pid" ]] && cpu_of "$gateway_pid" || echo 0)
  p0=$(children_cpu "$pg_pid")
  x0=$(cpu_of "$sandbox_pid")
  inner=$(awk -v s="$start" -v d="$duration" -v now="$(date +%s.%N)" \
    'BEGIN { x = s + d - 0.7 - now; printf "%.3f\n", (x > 0 ? x : 0) }')
  sleep "$inner"
  t1=$(date +%s.%N)
  w1=$(cpu_of "$child_pid") ||
    { echo "gateway_bench.sh: wrk ended before the CPU sample at $t1 (started $start)" >&2; exit 1; }
  s1=$(cpu_of "$server_pid")
  g1=$([[ -n "$gateway_pid" ]] && cpu_of "$gateway_pid" || echo 0)
  p1=$(children_cpu "$pg_pid")
  w1=$(cpu_of "$child_pid")
  x1=$(cpu_of "$sandbox_pid")
  m1=$(machine_cpu)
  cs1=$(ctxsw_of "$server_pid")
  cg1=$([[ -n "$gateway_pid" ]] && ctxsw_of "$gateway_pid" || echo 0)
  # Memory near the end of the run: peak RSS (since each process started:
  # the POST runs follow the GET runs on the same server and gateway) and
  # Postgres' Pss.
  local mem
  mem="$(vmhwm_or_0 "$child_pid") $(vmhwm_or_0 "$server_pid") $(vmhwm_or_0 "$gateway_pid")"
  mem+=" $(vmhwm_or_0 "$sandbox_pid") $(pg_pss_kb)"
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  ((rc == 0)) || { cat "$work/$name.out" >&2; exit 1; }
  metrics >"$work/$name-metrics-after.txt"
  python3 - "$work" "$name" "$rate" "$s0" "$s1" "$g0" "$g1" "$p0" "$p1" "$w0" "$w1" \
    "$x0" "$x1" "$t0" "$t1" "$m0" "$m1" "$cs0" "$cs1" "$cg0" "$cg1" "$mem" >"$work/$name.json" <<'PY'
import json, os, re, sys
work, name, rate = sys.argv[1:4]
(s0, s1, g0, g1, p0, p1, w0, w1, x0, x1, t0, t1, m0, m1,
 cs0, cs1, cg0, cg1) = (float(x) for x in sys.argv[4:22])
mem = [int(x) for x in sys.argv[22].split()]
out = open(os.path.join(work, name + ".out")).read()
j = json.loads(re.search(r"^BENCH_JSON (.*)$", out, re.M).group(1))
j["rate"] = j["requests"] * 1e6 / j["duration_us"]
j["target_rate"] = float(rate) if rate else None
n = j["rate"] * (t1 - t0)  # requests in the sampled interval
for key, a, b in (("server", s0, s1), ("gateway", g0, g1), ("pg", p0, p1),
                  ("wrk", w0, w1), ("sandbox", x0, x1)):
    j[key + "_cpu_us_per_request"] = (b - a) * 1e6 / n if n else 0
j["sampled_s"] = t1 - t0
for key, kb in zip(("wrk", "server", "gateway", "sandbox"), mem):
    j[key + "_vmhwm_kb"] = kb
j["pg_pss_kb"] = mem[4]
j["server_ctxsw_per_request"] = (cs1 - cs0) / n if n else 0
j["gateway_ctxsw_per_request"] = (cg1 - cg0) / n if n else 0
# Cores busy with anything else than the processes above (a compiler, ...).
j["others_cores"] = ((m1 - m0) - sum(b - a for a, b in ((s0, s1), (g0, g1), (p0, p1),
                                                         (w0, w1), (x0, x1)))) / (t1 - t0)

def counts(path):
    c = {}
    for line in open(path):
        m = re.match(r'callpush_http_requests_total\{(.*)\} ([0-9.e+]+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            key = labels.get("route", "?") + " " + labels.get("status", "?")
            c[key] = c.get(key, 0) + float(m.group(2))
    return c
before = counts(os.path.join(work, name + "-metrics-before.txt"))
after = counts(os.path.join(work, name + "-metrics-after.txt"))
j["gateway_counts"] = {k: int(v - before.get(k, 0)) for k, v in sorted(after.items())
                       if v - before.get(k, 0) > 0 and not k.startswith("/metrics")}
# wrk's own total including its warm-up run: answers that were not 2xx/3xx.
w = re.search(r"^BENCH_JSON (.*)$", open(os.path.join(work, name + "-warmup.out")).read(), re.M)
j["warmup"] = json.loads(w.group(1))
print(json.dumps(j))
PY
  log "$name: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, timeouts %d, %s; others %.2f cores" % (j["rate"], j["latency_us"]["p50"] / 1e3, j["latency_us"]["p99"] / 1e3, j["errors"]["status"], j["errors"]["timeout"], j["gateway_counts"], j["others_cores"]))' "$work/$name.json")"
}

# finish_stack TAG: records the peak RSS of the processes and the push
# accounting of this server's lifetime, then stops them.
finish_stack() {
  local tag=$1
  local server_hwm gateway_hwm=0
  server_hwm=$(vmhwm_kb "$server_pid")
  [[ -n "$gateway_pid" ]] && gateway_hwm=$(vmhwm_kb "$gateway_pid")
  metrics >"$work/stack-$tag-metrics.txt"
  stop_stack
  echo "{\"server_vmhwm_kb\": $server_hwm, \"gateway_vmhwm_kb\": $gateway_hwm}" >"$work/stack-$tag.json"
}

median_rate() {
  python3 -c 'import json,statistics,sys; print(round(statistics.median(json.load(open(f))["rate"] for f in sys.argv[1:]), 1))' "$@"
}

# --- the runs -------------------------------------------------------------------
log "pgbench -S -M prepared -c $concurrency -j 2 -T $duration (before)"
run_pgbench pgbench-S-before "$concurrency" "$pgb_url" -S
log "pgbench with the server's own query"
run_pgbench pgbench-query "$concurrency" "$cp_url" -f "$work/list_callable_devices.sql"
log "pgbench with the SQL of POST /v1/call"
run_pgbench pgbench-call "$concurrency" "$cp_url" -f "$work/call.sql"

for p in $(seq "$pairs"); do
  if ((p % 2 == 1)); then order=(inproc separate); else order=(separate inproc); fi
  for mode in "${order[@]}"; do
    log "pair $p/$pairs: $mode gateway"
    start_stack "$mode" "$mode-$p"
    run_wrk "get-$mode-$p" get "$concurrency"
    run_wrk "post-$mode-$p" post "$concurrency"
    finish_stack "$mode-$p"
  done
done

# Latency: paced runs, PAIRS of them too (order alternating), each stack
# fresh, at LOAD_FRACTION of the median closed-loop peak of that path.
for p in $(seq "$pairs"); do
  if ((p % 2 == 1)); then order=(inproc separate); else order=(separate inproc); fi
  for mode in "${order[@]}"; do
    start_stack "$mode" "$mode-latency-$p"
    for endpoint in get post; do
      files=()
      for q in $(seq "$pairs"); do files+=("$work/$endpoint-$mode-$q.json"); done
      peak=$(median_rate "${files[@]}")
      rate=$(python3 -c "print(round($peak * $load_fraction, 1))")
      log "$endpoint $mode ($p/$pairs): paced at $rate req/s ($load_fraction of the median peak $peak) over $latency_connections connections"
      run_wrk "$endpoint-$mode-latency-$p" "$endpoint" "$latency_connections" "$rate"
    done
    finish_stack "$mode-latency-$p"
  done
done

log "pgbench -S again"
run_pgbench pgbench-S-after "$concurrency" "$pgb_url" -S

# Push accounting over the whole run: the server records a push as accepted
# (provider_status 200) only once the sandbox answered it.
"$psql" -qAt -F ' ' -v ON_ERROR_STOP=1 "$cp_url" >"$work/pushes.txt" <<'SQL'
SELECT outcome, provider_status, count(*) FROM call_pushes
 WHERE kind = 'call' AND call_id LIKE 'bench-%' GROUP BY 1, 2 ORDER BY 1, 2;
SQL
curl -sf "http://$sandbox_admin/deliveries" >"$work/deliveries.json"
sandbox_hwm=$(vmhwm_kb "$sandbox_pid")

# --- report -------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT="$commit" LOADAVG="$loadavg_start -> $loadavg_end" BUILD_TYPE="$build_type" \
  BUILT="$(date -r "$server_bin" +%FT%T) / $(date -r "$gateway_bin" +%FT%T)" \
  WRK_VERSION="$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)" \
  python3 - "$work" "$pairs" "$duration" "$warmup" "$load_fraction" "$patients" "$scale" \
  "$concurrency" "$wrk_threads" "$db_workers" "$max_deliveries" "$sandbox_hwm" \
  "$latency_connections" >"$work/report.md" <<'PY'
import datetime, glob, json, os, platform, statistics, sys

(work, pairs, duration, warmup, fraction, patients, scale, conc, threads,
 db_workers, max_deliveries, sandbox_hwm, lat_conns) = sys.argv[1:14]
pairs, fraction, conc = int(pairs), float(fraction), int(conc)
load = lambda name: json.load(open(os.path.join(work, name + ".json")))
med = statistics.median

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

pgs_b, pgs_a, pgq = load("pgbench-S-before"), load("pgbench-S-after"), load("pgbench-query")
pgs = (pgs_b["tps"] + pgs_a["tps"]) / 2
modes = {"inproc": "in-process gateway", "separate": "separate callpush-gateway"}
targets = {("get", "inproc"): 0.45, ("get", "separate"): 0.35,
           ("post", "inproc"): 0.25, ("post", "separate"): 0.25}
paths = {"get": "GET /v1/callable-devices", "post": "POST /v1/call"}

def ms(us):
    return f"{us / 1000:.2f}"

def non2xx(j):
    e = j["errors"]
    s = f"{e['status']}"
    other = {k: v for k, v in e.items() if k != "status" and v}
    if other:
        s += " (" + ", ".join(f"{k} {v}" for k, v in other.items()) + ")"
    return s

def others(pg):
    """Cores the neighbours used during a pgbench run."""
    return f"{pg['others_cpu_s'] / pg['wall_s']:.2f}"

print("# callpush benchmark: the JSON gateway under wrk vs pgbench -S\n")
print(f"- code: {os.environ['COMMIT']}")
print(f"- build: {os.environ['BUILD_TYPE'] or '(default)'}; binaries built "
      f"(callpush-server / callpush-gateway): {os.environ['BUILT']}")
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}")
print(f"- load average (1/5/15 min) at start -> end: {os.environ['LOADAVG']}")
print(f"- {os.environ['WRK_VERSION']}, `-t {threads} -c {conc}` keep-alive; pgbench "
      f"`-M prepared -c {conc} -j 2`; callpush-server `--db_workers={db_workers}`, "
      "gateway defaults (2 HTTP threads); callpush-sandbox (one loop thread, "
      f"--max_deliveries={max_deliveries}) on the same machine")
print(f"- runs: {duration}s measured after {warmup}s warm-up; {patients} patients "
      f"(1-3 devices each); pgbench scale {scale}; {pairs} in-process/separate "
      f"pair(s), order alternating, medians; latency runs paced at {fraction:.0%} "
      "of each median peak")
print()
print(f"Throughput, closed loop ({conc} connections):\n")
print("| path | gateway | req/s (runs) | **÷ pgbench -S** | target | p50 / p99 / p99.9 ms "
      "| non-2xx | CPU µs/req: server / gateway / Postgres / wrk / sandbox / **all** "
      "| context switches/req: server / gateway | VmHWM MiB: server / gateway "
      "| others, cores (runs) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| pgbench -S | (before / after) | {pgs:.0f} ({pgs_b['tps']:.0f} / {pgs_a['tps']:.0f}) "
      f"| 100% | | {pgs_b['latency_us']['p50'] / 1000:.2f} / {pgs_b['latency_us']['p99'] / 1000:.2f} "
      f"/ {pgs_b['latency_us']['p99.9'] / 1000:.2f} | {pgs_b['failed']}; {pgs_a['failed']} "
      f"| - / - / {pgs_b['pg_cpu_us_per_request']:.0f} / {pgs_b['client_cpu_us_per_request']:.0f} (pgbench) / - "
      f"/ **{pgs_b['pg_cpu_us_per_request'] + pgs_b['client_cpu_us_per_request']:.0f}** | | "
      f"| {others(pgs_b)}, {others(pgs_a)} |")
print(f"| pgbench, server's SQL | | {pgq['tps']:.0f} | {100 * pgq['tps'] / pgs:.0f}% | "
      f"| {pgq['latency_us']['p50'] / 1000:.2f} / {pgq['latency_us']['p99'] / 1000:.2f} "
      f"/ {pgq['latency_us']['p99.9'] / 1000:.2f} | {pgq['failed']} "
      f"| - / - / {pgq['pg_cpu_us_per_request']:.0f} / {pgq['client_cpu_us_per_request']:.0f} (pgbench) / - "
      f"/ **{pgq['pg_cpu_us_per_request'] + pgq['client_cpu_us_per_request']:.0f}** | | "
      f"| {others(pgq)} |")
pgc = load("pgbench-call")
print(f"| pgbench, SQL of POST /v1/call | | {pgc['tps']:.0f} | {100 * pgc['tps'] / pgs:.0f}% | "
      f"| {pgc['latency_us']['p50'] / 1000:.2f} / {pgc['latency_us']['p99'] / 1000:.2f} "
      f"/ {pgc['latency_us']['p99.9'] / 1000:.2f} | {pgc['failed']} "
      f"| - / - / {pgc['pg_cpu_us_per_request']:.0f} / {pgc['client_cpu_us_per_request']:.0f} (pgbench) / - "
      f"/ **{pgc['pg_cpu_us_per_request'] + pgc['client_cpu_us_per_request']:.0f}** | | "
      f"| {others(pgc)} |")
verdicts = []
for ep in ("get", "post"):
    for mode in ("inproc", "separate"):
        runs = [load(f"{ep}-{mode}-{p}") for p in range(1, pairs + 1)]
        stacks = [load(f"stack-{mode}-{p}") for p in range(1, pairs + 1)]
        rate = med([r["rate"] for r in runs])
        ratio = rate / pgs
        t = targets[(ep, mode)]
        ok = "met" if ratio >= t else "missed"
        verdicts.append(f"{paths[ep]}, {modes[mode]}: {100 * ratio:.0f}% of pgbench -S "
                        f"(target ≥ {100 * t:.0f}%): **{ok}** ({ratio / t:.2f}× the target)")
        m = lambda k: med([r[k] for r in runs])
        cpu = [m("server_cpu_us_per_request"), m("gateway_cpu_us_per_request"),
               m("pg_cpu_us_per_request"), m("wrk_cpu_us_per_request"),
               m("sandbox_cpu_us_per_request")]
        lat = lambda q: med([r["latency_us"][q] for r in runs])
        gw = "-" if mode == "inproc" else f"{max(s['gateway_vmhwm_kb'] for s in stacks) / 1024:.0f}"
        each = ", ".join(f"{r['rate']:.0f}" for r in runs)
        oth = ", ".join(f"{r['others_cores']:.2f}" for r in runs)
        print(f"| {paths[ep]} | {modes[mode]} | {rate:.0f} ({each}) "
              f"| **{100 * ratio:.0f}%** | ≥ {100 * t:.0f}%: {ok} "
              f"| {ms(lat('p50'))} / {ms(lat('p99'))} / {ms(lat('p99.9'))} "
              f"| {'; '.join(non2xx(r) for r in runs)} "
              f"| {cpu[0]:.0f} / {cpu[1]:.0f} / {cpu[2]:.0f} / {cpu[3]:.0f} / {cpu[4]:.0f} "
              f"/ **{sum(cpu):.0f}** "
              f"| {m('server_ctxsw_per_request'):.1f} / "
              f"{'-' if mode == 'inproc' else format(m('gateway_ctxsw_per_request'), '.1f')} "
              f"| {max(s['server_vmhwm_kb'] for s in stacks) / 1024:.0f} / {gw} "
              f"| {oth} |")
print()
print(f"Latency, paced at {fraction:.0%} of the median peak ({lat_conns} connections; "
      "medians of the runs, p99 of each run in brackets):\n")
print("| path | gateway | target req/s | achieved | p50 ms | p90 ms | **p99 ms** | p99.9 ms "
      "| max ms | sends late > 1 ms / > 10 ms (max ms) | non-2xx | others, cores | p99 ≤ 10 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for ep in ("get", "post"):
    for mode in ("inproc", "separate"):
        runs = [load(f"{ep}-{mode}-latency-{p}") for p in range(1, pairs + 1)]
        lat = lambda q: med([r["latency_us"][q] for r in runs])
        p99 = lat("p99")
        ok = "met" if p99 <= 10000 else "missed"
        margin = (f"{10000 / max(p99, 1):.1f}× headroom" if ok == "met"
                  else f"{p99 / 10000:.1f}× over")
        each = ", ".join(ms(r["latency_us"]["p99"]) for r in runs)
        verdicts.append(f"p99 at {fraction:.0%} of peak, {paths[ep]}, {modes[mode]}: "
                        f"{ms(p99)} ms, median of {each} (target ≤ 10 ms): **{ok}** ({margin})")
        short = lambda r: " (overloaded)" if r["rate"] < 0.97 * r["target_rate"] else ""
        late = "; ".join(f"{100 * r['late_1ms'] / max(r['paced_sends'], 1):.2f}% / "
                         f"{100 * r['late_10ms'] / max(r['paced_sends'], 1):.2f}% "
                         f"({r['late_max_ms']:.1f})" for r in runs)
        achieved = ", ".join(format(r["rate"], ".0f") + short(r) for r in runs)
        print(f"| {paths[ep]} | {modes[mode]} | {runs[0]['target_rate']:.0f} "
              f"| {achieved} "
              f"| {ms(lat('p50'))} | {ms(lat('p90'))} | **{ms(p99)}** ({each}) | {ms(lat('p99.9'))} "
              f"| {ms(max(r['latency_us']['max'] for r in runs))} | {late} "
              f"| {'; '.join(non2xx(r) for r in runs)} "
              f"| {', '.join(format(r['others_cores'], '.2f') for r in runs)} | {ok} |")
print()
print("Targets (issue 4):\n")
for v in verdicts:
    print(f"- {v}")
print()

# Push accounting: every POST answered 202 is one push the sandbox accepted.
wrk_2xx = 0
gw_202 = 0
gw_other = {}
for f in sorted(glob.glob(os.path.join(work, "post-*.json"))):
    j = json.load(open(f))
    for r in (j, j["warmup"]):
        wrk_2xx += r["requests"] - r["errors"]["status"]
for f in sorted(glob.glob(os.path.join(work, "stack-*-metrics.txt"))):
    for line in open(f):
        if line.startswith('callpush_http_requests_total{') and 'route="/v1/call"' in line:
            status = line.split('status="')[1].split('"')[0]
            v = int(float(line.rsplit(" ", 1)[1]))
            if status == "202":
                gw_202 += v
            else:
                gw_other[status] = gw_other.get(status, 0) + v
pushes = {}
for line in open(os.path.join(work, "pushes.txt")):
    outcome, status, n = line.split()
    pushes[f"{outcome} {status}"] = int(n)
deliveries = json.load(open(os.path.join(work, "deliveries.json")))
dstat = {}
for d in deliveries:
    dstat[d.get("status")] = dstat.get(d.get("status"), 0) + 1
accepted = pushes.get("accepted 200", 0)
print("Pushes, all POST runs (warm-ups included):\n")
print(f"- wrk: {wrk_2xx} answers 2xx (wrk does not count the answers still in flight "
      f"when a run stops: up to {conc} per closed-loop run, {lat_conns} per paced run)")
print(f"- the gateways' `callpush_http_requests_total{{route=\"/v1/call\",status=\"202\"}}`: "
      f"{gw_202}; other statuses: {gw_other or 'none'}")
print(f"- `call_pushes` (kind call) by outcome and provider status: {pushes}: "
      f"{'equal to' if accepted == gw_202 else 'DIFFERENT from'} the 202 count")
print(f"- the sandbox: the last {len(deliveries)} deliveries it keeps "
      f"(--max_deliveries={max_deliveries}) by status: {dstat}; its VmHWM "
      f"{int(sandbox_hwm) / 1024:.0f} MiB")
print()
print("'pgbench, server's SQL' runs the GET's query (kListCallableDevicesSql, one "
      "number per statement); 'SQL of POST /v1/call' runs GetDevice, claim_call_push and "
      "the completing UPDATE in one pgbench transaction, plus a primary-key lookup that "
      "picks the device: Postgres' own ceiling for those paths.\n")
print("÷ pgbench -S = median wrk rate / mean of the pgbench -S runs before and after "
      "everything else, same concurrency, same Postgres. CPU per request: utime + "
      "stime of each process (/proc/PID/stat; Postgres = the postmaster's live "
      "children) over the measured window divided by the requests in it; 'all' is "
      "their sum, the machine's cost of one request on this path. Latency: wrk's, "
      "from the actual send of each request. The paced runs schedule each wrk "
      "thread's sends at fixed intervals (Lua `delay()`, see gateway_bench.sh); a send "
      "due while all of a thread's connections were busy goes out late, and that "
      "wait is not in the latency: the 'late' column shows how often that happened. "
      "'overloaded': the achieved rate fell below 97% of the target. 'others, cores': "
      "the machine's busy CPU (/proc/stat) less that of the processes measured, over "
      "the same window, in cores: a neighbour (a compiler, a test) taking a share; "
      f"the machine has {os.cpu_count()}.")
PY
cp "$work/report.md" "$out"
cat "$out"
log "wrote $out"

# The figures run.sh reads (bench_summary.py).
PYTHONPATH="$repo/tests/bench" python3 - "$work" "$pairs" "$duration" "$warmup" "$load_fraction" \
  "$concurrency" "$latency_connections" <<'PY'
import json, os, sys
import bench_summary as bs

work, pairs, duration, warmup, fraction, conc, lat_conns = sys.argv[1:8]
load = lambda name: json.load(open(os.path.join(work, name + ".json")))
runs = [bs.pgbench_run(load(f"pgbench-S-{when}")) for when in ("before", "after")]
measures = {("get", "separate"): "gateway_list", ("get", "inproc"): "gateway_inproc_list",
            ("post", "separate"): "gateway_call", ("post", "inproc"): "gateway_inproc_call"}
for (ep, mode), measure in measures.items():
    procs = ["wrk"] + (["gateway"] if mode == "separate" else []) + ["server", "postgres"]
    if ep == "post":
        procs.append("sandbox")
    for p in range(1, int(pairs) + 1):
        for kind, name in (("peak", f"{ep}-{mode}-{p}"), ("paced", f"{ep}-{mode}-latency-{p}")):
            j = load(name)
            cpu = {"wrk": j["wrk_cpu_us_per_request"], "gateway": j["gateway_cpu_us_per_request"],
                   "server": j["server_cpu_us_per_request"], "postgres": j["pg_cpu_us_per_request"],
                   "sandbox": j["sandbox_cpu_us_per_request"]}
            rss = {k: j[k + "_vmhwm_kb"] for k in ("wrk", "gateway", "server", "sandbox")}
            runs.append(bs.run(
                measure, kind, j["rate"], target_rate=j["target_rate"],
                requests=j["requests"], errors=sum(j["errors"].values()),
                latency_ms=bs.ms(j["latency_us"]),
                curve=bs.curve_ms(j["latency_curve_us"], 1000.0),
                cpu_s_per_1k=bs.per_1k({k: v for k, v in cpu.items() if k in procs}),
                rss_mib=bs.mib({k: v for k, v in rss.items() if k in procs}),
                postgres_pss_mib=j["pg_pss_kb"] / bs.MIB, others_cores=j["others_cores"]))
bs.write(work, "gateway", {"concurrency": int(conc), "pairs": int(pairs),
                           "duration_s": float(duration), "warmup_s": float(warmup),
                           "load_fraction": float(fraction),
                           "latency_connections": int(lat_conns)}, runs)
PY
