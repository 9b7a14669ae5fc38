#!/usr/bin/env bash
# Soak mode (issue 7 item 5; documented, not run by CI): the full path
# (wrk -> the in-process gateway -> gRPC -> Postgres -> push pool -> the push
# sandbox over TLS) at SOAK_FRACTION of its peak for SOAK_MINUTES, sampled
# every SOAK_SAMPLE_SECONDS. Passes when callpush-server's resident memory
# grew less than SOAK_MAX_RSS_GROWTH percent from the end of the first
# SOAK_BASELINE_MINUTES to the end, every answer was 200 or 202 (no other
# status, no socket error, no timeout), every 202 is one push the sandbox
# answered 200, and the server exits 0 on SIGTERM at the end. Prints the
# samples and a last line
#
#   soak: PASS|FAIL rss +x.x% errors N
#
# exits 1 on FAIL, and writes tests/bench/results/soak-<date>.md with an SVG
# of RSS and rate over time beside it. See README.md here.
#
#   tests/bench/soak.sh [BUILD_DIR]
#   SOAK_MINUTES=2 SKIP_BUILD=1 tests/bench/soak.sh      # a check of the script
#
# The load is one mix: per wrk thread, of every 4 requests 3 are
# GET /v1/callable-devices (a seeded number) and 1 a POST; of every 8 POSTs
# 6 are /v1/call with a call id never used before (every one a push), 1 is
# /v1/update-call and 1 /v1/cancel-call (reasons alternating) of the
# thread's latest call (each a push too: neither is deduplicated). The
# requests are gateway_bench.sh's (tests/bench/wrk/get.lua, post.lua and
# common.lua: pacing, late-send counts and the latency curve); the mix is
# tests/bench/wrk/soak.lua.
#
# First the peak: wrk -c CONCURRENCY closed loop for WARMUP + SOAK_PEAK_SECONDS.
# Then the soak: one wrk run paced at SOAK_FRACTION of that peak over
# LATENCY_CONNECTIONS connections (common.lua's delay()), on the same
# processes. Each sample reads VmRSS, threads and open fds of the server,
# VmRSS of the sandbox, Postgres' Pss, CPU, the server's /metrics (answers
# by route and status, pushes by kind and outcome, the request latency
# histogram) and the number of pushes the sandbox answered 200 (its log:
# it keeps only --max_deliveries records, so it runs at --log_level=info,
# one line per push, and those lines are counted).
#
# Environment (all optional):
#   BUILD_DIR       build directory (default: $repo/build-bench, configured
#                   Release if new; an argument wins)
#   SOAK_MINUTES    length of the paced run                          [30]
#   SOAK_FRACTION   fraction of the peak it runs at                  [0.5]
#   SOAK_SAMPLE_SECONDS  seconds between samples                     [30]
#   SOAK_BASELINE_MINUTES  RSS growth counts from this sample (warm-up,
#                   caches, pools); at most half the run             [5]
#   SOAK_MAX_RSS_GROWTH  percent allowed                             [5]
#   SOAK_PEAK_SECONDS  the closed-loop peak run, after WARMUP        [20]
#   WARMUP          seconds of closed-loop load before the peak run  [5]
#   CONCURRENCY     wrk connections for the peak                     [16]
#   LATENCY_CONNECTIONS  wrk connections of the paced run  [4 × CONCURRENCY]
#   WRK_THREADS     wrk -t                                           [2]
#   DB_WORKERS      callpush-server --db_workers                     [8]
#   PATIENTS        seeded patients (1-3 devices each)               [10000]
#   PGBENCH_SCALE   pgbench -i -s (lib.sh seeds it; unused here)     [1]
#   MAX_DELIVERIES  the sandbox's --max_deliveries                   [1000]
#   SKIP_BUILD=1    use the binaries already in BUILD_DIR
#   KEEP_WORK=1     keep the scratch directory (raw samples, logs)
#   WORK_DIR        use (and keep) this scratch directory
#   BENCH_PG_DIR    use this running, seeded Postgres (lib.sh)
#   OUT             the result [tests/bench/results/soak-<date>.md]; the
#                   plot goes beside it (.svg)
#
# The server logs two lines per request (its default level, as in the
# gateway stage) and the sandbox one per push: a 30-minute run at ~1300
# req/s leaves about 1 GB in the scratch directory while it runs (removed
# at the end unless kept). Everything it starts
# (Postgres, the sandbox, callpush-server, wrk) is stopped on exit, error,
# Ctrl-C or SIGTERM. Only 127.0.0.1 is used.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD_DIR:-$repo/build-bench}}
minutes=${SOAK_MINUTES:-30}
fraction=${SOAK_FRACTION:-0.5}
sample_s=${SOAK_SAMPLE_SECONDS:-30}
baseline_minutes=${SOAK_BASELINE_MINUTES:-5}
max_growth=${SOAK_MAX_RSS_GROWTH:-5}
peak_s=${SOAK_PEAK_SECONDS:-20}
warmup=${WARMUP:-5}
concurrency=${CONCURRENCY:-16}
latency_connections=${LATENCY_CONNECTIONS:-$((4 * concurrency))}
wrk_threads=${WRK_THREADS:-2}
db_workers=${DB_WORKERS:-8}
patients=${PATIENTS:-10000}
scale=${PGBENCH_SCALE:-1}
max_deliveries=${MAX_DELIVERIES:-1000}
out=${OUT:-$repo/tests/bench/results/soak-$(date +%F).md}
first_number=447700900000

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' >&2; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

bench_name=soak.sh
bench_log_tag=soak
source "$repo/tests/bench/lib.sh"
bench_find_pg_tools
for tool in wrk curl python3 gnuplot; do
  command -v "$tool" >/dev/null ||
    { echo "soak.sh: $tool missing (deploy/install-deps.sh installs it)" >&2; exit 1; }
done
duration_s=$(awk -v m="$minutes" 'BEGIN { printf "%d\n", m * 60 + 0.5 }')
((duration_s >= 2 * sample_s)) ||
  { echo "soak.sh: SOAK_MINUTES must cover at least two samples (SOAK_SAMPLE_SECONDS=$sample_s)" >&2; exit 1; }
# The baseline sample: the end of the warm-up, on the sample grid, at most
# half-way through the run (so that a short check still compares two halves).
baseline_s=$(awk -v b="$baseline_minutes" -v d="$duration_s" -v s="$sample_s" 'BEGIN {
  t = b * 60; if (t > d / 2) t = d / 2; printf "%d\n", int(t / s) * s }')

# --- scratch space and cleanup ------------------------------------------------
bench_make_work callpush-soak
sandbox_pid=""
server_pid=""

# Called by bench_cleanup (lib.sh) on exit, error or Ctrl-C.
bench_on_exit() {
  stop_pid "$server_pid" 100
  server_pid=""
  stop_pid "$sandbox_pid"
  sandbox_pid=""
  bench_stop_postgres
}
bench_install_traps

started_at=$(date +%s)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
measured_paths=(gateway server clients proto tests/sandbox tests/bench)
if [[ -n "$(git -C "$repo" status --porcelain -- "${measured_paths[@]}" 2>/dev/null)" ]]; then
  commit+=" + uncommitted changes in the measured code (diff sha256 $(
    git -C "$repo" diff HEAD -- "${measured_paths[@]}" | sha256sum | cut -c1-12))"
fi

# --- build --------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bench_cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  bench_build "$build" callpush-server callpush-sandbox
fi
server_bin="$build/server/callpush-server"
real_sandbox_bin="$build/tests/sandbox/callpush-sandbox"
for bin in "$server_bin" "$real_sandbox_bin"; do
  [[ -x "$bin" ]] || { echo "soak.sh: $bin missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)

# --- Postgres -------------------------------------------------------------------
bench_start_postgres
bench_seed
"$psql" -qAt -v ON_ERROR_STOP=1 "$cp_url" >"$work/devices.txt" <<'SQL'
SELECT d.id FROM devices d JOIN patients p ON p.id = d.patient_id
 WHERE p.active AND d.inbound_calls_allowed AND d.voip_token IS NOT NULL
 ORDER BY d.id;
SQL
log "$(wc -l <"$work/devices.txt") callable devices exported"

# --- the push sandbox -------------------------------------------------------------
# lib.sh starts it at --log_level=warning; a later flag wins, so this
# wrapper (exec: the PID stays the sandbox's) makes it log every push.
sandbox_bin="$work/callpush-sandbox-info"
printf '#!/bin/sh\nexec %q "$@" --log_level=info\n' "$real_sandbox_bin" >"$sandbox_bin"
chmod +x "$sandbox_bin"
bench_start_sandbox soak.sh
sandbox_log="$work/sandbox.err"

# The pushes the sandbox answered 200 so far (one log line each).
sandbox_accepted() {
  grep -c '"msg":"push",.*"status":"200"' "$sandbox_log" || true
}

bench_write_push_config

# --- wrk scripts ------------------------------------------------------------------
# tests/bench/wrk/soak.lua: the mix, built from gateway_bench.sh's get.lua
# and post.lua (same requests, same pacing, same BENCH_JSON report).
export BENCH_FIRST_NUMBER=$first_number BENCH_PATIENTS=$patients \
  BENCH_DEVICES="$work/devices.txt"

# --- the server with its in-process gateway (gateway_bench.sh's flags) ----------
log "starting callpush-server with the in-process gateway"
"$server_bin" --grpc_address=127.0.0.1:0 --database_url="$cp_url" \
  --db_workers="$db_workers" --push_config="$work/push_config.json" \
  --http_address=127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
wait_for_line "$server_pid" "$work/server.out" \
  's/^callpush-server listening grpc=127\.0\.0\.1:\([0-9]*\)$/\1/p' >/dev/null ||
  { echo "soak.sh: callpush-server did not start:" >&2; tail -n 20 "$work/server.err" >&2; exit 1; }
http_port=$(wait_for_line "$server_pid" "$work/server.out" \
  's/^callpush-gateway listening http=127\.0\.0\.1:\([0-9]*\)$/\1/p') ||
  { echo "soak.sh: the in-process gateway did not start:" >&2; tail -n 20 "$work/server.err" >&2; exit 1; }
url="http://127.0.0.1:$http_port"
ready=""
for _ in $(seq 300); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" == 200 ]] && { ready=1; break; }
  sleep 0.1
done
[[ -n "$ready" ]] || { echo "soak.sh: /readyz never answered 200" >&2; tail -n 20 "$work/server.err" >&2; exit 1; }

metrics() { curl -sf --max-time 10 "$url/metrics"; }

# Answers so far on the API routes (/metrics and the probes left out):
# "total non2xx".
answers() {
  awk '/^callpush_http_requests_total\{/ && /route="\/v1\// {
    n = $NF + 0; t += n; if ($0 !~ /status="20[02]"/) bad += n
  } END { printf "%d %d\n", t, bad }' "$1"
}

run_tag="soak$(date +%s)"
wrk_cmd=(wrk -t "$wrk_threads" --timeout 10s -s "$repo/tests/bench/wrk/soak.lua")

# --- the peak -----------------------------------------------------------------------
log "peak: wrk -c $concurrency closed loop, ${warmup}s warm-up + ${peak_s}s"
BENCH_THREADS=$wrk_threads BENCH_RUN="$run_tag-warmup" \
  run_child "${wrk_cmd[@]}" -c "$concurrency" -d "${warmup}s" "$url" >"$work/warmup.out" 2>&1 ||
  { cat "$work/warmup.out" >&2; exit 1; }
BENCH_THREADS=$wrk_threads BENCH_RUN="$run_tag-peak" \
  run_child "${wrk_cmd[@]}" -c "$concurrency" -d "${peak_s}s" "$url" >"$work/peak.out" 2>&1 ||
  { cat "$work/peak.out" >&2; exit 1; }
peak=$(python3 -c 'import json,re,sys
j = json.loads(re.search(r"^BENCH_JSON (.*)$", open(sys.argv[1]).read(), re.M).group(1))
print(round(j["requests"] * 1e6 / j["duration_us"], 1))' "$work/peak.out")
rate=$(awk -v p="$peak" -v f="$fraction" 'BEGIN { printf "%.1f\n", p * f }')
log "peak $peak req/s; the soak runs at $rate req/s ($fraction) for ${duration_s}s over $latency_connections connections"

# --- the soak ---------------------------------------------------------------------
mkdir -p "$work/samples"
samples="$work/samples.tsv"
printf 't_s\tserver_rss_kb\tserver_hwm_kb\tserver_threads\tserver_fds\tsandbox_rss_kb\tsandbox_hwm_kb\tpg_pss_kb\tserver_cpu_s\tsandbox_cpu_s\tpg_cpu_s\twrk_cpu_s\tmachine_cpu_s\twall_s\tsandbox_200\n' >"$samples"

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# take_sample T: one line of $samples and samples/T.metrics.
take_sample() {
  local t=$1
  kill -0 "$server_pid" 2>/dev/null || { echo "soak.sh: callpush-server died at t=${t}s:" >&2; tail -n 20 "$work/server.err" >&2; exit 1; }
  kill -0 "$sandbox_pid" 2>/dev/null || { echo "soak.sh: the sandbox died at t=${t}s" >&2; exit 1; }
  local wall m srss shwm sthr sfds xrss xhwm pss scpu xcpu pcpu wcpu acc
  wall=$(date +%s.%N)
  m=$(machine_cpu)
  srss=$(status_kb "$server_pid" VmRSS)
  shwm=$(status_kb "$server_pid" VmHWM)
  sthr=$(awk '$1 == "Threads:" { print $2 }' "/proc/$server_pid/status")
  sfds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  xrss=$(status_kb "$sandbox_pid" VmRSS)
  xhwm=$(status_kb "$sandbox_pid" VmHWM)
  scpu=$(cpu_of "$server_pid")
  xcpu=$(cpu_of "$sandbox_pid")
  pcpu=$(children_cpu "$pg_pid")
  wcpu=$(cpu_of "$child_pid")
  pss=$(pg_pss_kb)
  metrics >"$work/samples/$t.metrics" ||
    { echo "soak.sh: /metrics did not answer at t=${t}s" >&2; exit 1; }
  acc=$(sandbox_accepted)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$srss" "$shwm" \
    "$sthr" "$sfds" "$xrss" "$xhwm" "$pss" "$scpu" "$xcpu" "$pcpu" "$wcpu" "$m" "$wall" "$acc" >>"$samples"
  local a
  read -r -a a <<<"$(answers "$work/samples/$t.metrics")"
  log "t=${t}s: server RSS $((srss / 1024)) MiB, $sthr threads, $sfds fds; sandbox RSS $((xrss / 1024)) MiB; answers ${a[0]} (not 200/202: ${a[1]}); sandbox 200s $acc"
}

# sleep_until EPOCH_SECONDS (as run_child: a signal runs the trap at once).
sleep_until() {
  local d
  d=$(awk -v t="$1" -v now="$(date +%s.%N)" 'BEGIN { d = t - now; printf "%.3f\n", (d > 0 ? d : 0) }')
  sleep "$d" &
  bench_sleep_pid=$!
  wait "$bench_sleep_pid"
  bench_sleep_pid=""
}

loadavg_soak=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_RATE=$rate BENCH_THREADS=$wrk_threads BENCH_RUN="$run_tag-soak" \
  "${wrk_cmd[@]}" -c "$latency_connections" -d "${duration_s}s" "$url" >"$work/soak.out" 2>&1 &
child_pid=$!
t0=$(date +%s.%N)
take_sample 0
# Samples every sample_s seconds, and a last one a second before wrk stops.
for ((t = sample_s; t < duration_s - 1; t += sample_s)); do
  sleep_until "$(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.3f\n", a + b }')"
  kill -0 "$child_pid" 2>/dev/null || break
  take_sample "$t"
done
sleep_until "$(awk -v a="$t0" -v b="$duration_s" 'BEGIN { printf "%.3f\n", a + b - 1 }')"
kill -0 "$child_pid" 2>/dev/null ||
  { echo "soak.sh: wrk ended before the end of the run:" >&2; cat "$work/soak.out" >&2; exit 1; }
take_sample $((duration_s - 1))
wrk_rc=0
wait "$child_pid" || wrk_rc=$?
child_pid=""
((wrk_rc == 0)) || { cat "$work/soak.out" >&2; exit 1; }

# Requests still in flight when wrk closed its connections are answered
# (and pushed) all the same: wait until no push is in flight and the
# answers stop changing, then count.
prev=""
for _ in $(seq 100); do
  metrics >"$work/final.metrics"
  inflight=$(awk '/^callpush_pushes_in_flight/ { s += $NF } END { print s + 0 }' "$work/final.metrics")
  now="$(answers "$work/final.metrics") $(sandbox_accepted)"
  [[ "$inflight" == 0 && "$now" == "$prev" ]] && break
  prev=$now
  sleep 0.2
done
server_hwm=$(status_kb "$server_pid" VmHWM)
sandbox_hwm=$(status_kb "$sandbox_pid" VmHWM)
sandbox_total=$(sandbox_accepted)
curl -sf "http://$sandbox_admin/deliveries" >"$work/deliveries.json"
"$psql" -qAt -F ' ' -v ON_ERROR_STOP=1 "$cp_url" >"$work/pushes.txt" <<SQL
SELECT kind, outcome, coalesce(provider_status, 0), count(*) FROM call_pushes
 WHERE call_id LIKE 'bench-$run_tag-%' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SQL
# SIGTERM: the server drains and exits; its exit status is part of the
# verdict (a crash on the way out is a failure too).
log "stopping callpush-server"
kill -TERM "$server_pid"
(sleep 30 && kill -KILL "$server_pid" 2>/dev/null) &
watchdog_pid=$!
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=""
stop_pid "$watchdog_pid" 1
# Server log lines by level, and the commonest warnings and errors.
awk -F'"level":"' 'NF > 1 { split($2, a, "\""); n[a[1]]++ } END { for (l in n) print l, n[l] }' \
  "$work/server.err" | sort >"$work/server-levels.txt"
{ grep -E '"level":"(warning|error)"' "$work/server.err" || true; } |
  sed 's/.*"msg":"\([^"]*\)".*/\1/' | sort | uniq -c | sort -rn | head -n 10 >"$work/server-warnings.txt"
log_mib=$(du -m "$work/server.err" "$sandbox_log" | awk '{ s += $1 } END { print s }')

# --- report -----------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
svg="${out%.md}.svg"
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
verdict_rc=0
verdict=$(COMMIT="$commit" LOADAVG="$loadavg_start -> $loadavg_soak (soak start) -> $loadavg_end" \
  BUILD_TYPE="$build_type" BUILT="$(date -r "$server_bin" +%FT%T) / $(date -r "$real_sandbox_bin" +%FT%T)" \
  WRK_VERSION="$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)" WALL_S="$(($(date +%s) - started_at))" \
  python3 - "$work" "$work/report.md" "$svg" "$peak" "$rate" "$fraction" "$duration_s" "$sample_s" \
  "$baseline_s" "$max_growth" "$concurrency" "$latency_connections" "$wrk_threads" "$db_workers" \
  "$patients" "$max_deliveries" "$server_hwm" "$sandbox_hwm" "$sandbox_total" "$log_mib" "$warmup" \
  "$peak_s" "$server_rc" <<'PY'
import datetime, json, os, platform, re, subprocess, sys

(work, report, svg, peak, rate, fraction, duration_s, sample_s, baseline_s, max_growth,
 conc, lat_conns, threads, db_workers, patients, max_deliveries, server_hwm, sandbox_hwm,
 sandbox_total, log_mib, warmup, peak_s, server_rc) = sys.argv[1:24]
peak, rate, fraction, max_growth = float(peak), float(rate), float(fraction), float(max_growth)
duration_s, sample_s, baseline_s = int(duration_s), int(sample_s), int(baseline_s)
sandbox_total, server_rc = int(sandbox_total), int(server_rc)
MIB = 1024.0
API = ("/v1/callable-devices", "/v1/call", "/v1/update-call", "/v1/cancel-call")
PUSH_ROUTES = API[1:]


def parse_metrics(path):
    """[(name, {label: value}, value)] of a Prometheus text page."""
    out = []
    for line in open(path):
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+0-9.eEinfNa]+)$', line.strip())
        if m:
            out.append((m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")),
                        float(m.group(3))))
    return out


def answers(ms):
    """{(route, status): count} on the API routes."""
    c = {}
    for name, labels, v in ms:
        if name == "callpush_http_requests_total" and labels.get("route") in API:
            k = (labels["route"], labels["status"])
            c[k] = c.get(k, 0) + v
    return c


def pushes(ms):
    """{(kind, outcome): count} of the server's push attempts."""
    c = {}
    for name, labels, v in ms:
        if name == "callpush_push_attempts_total":
            k = (labels.get("kind", "?"), labels.get("outcome", "?"))
            c[k] = c.get(k, 0) + v
    return c


def buckets(ms):
    """{le: cumulative count} of the request latency on the API routes."""
    c = {}
    for name, labels, v in ms:
        if (name == "callpush_http_request_duration_seconds_bucket"
                and labels.get("route") in API):
            le = float(labels["le"])
            c[le] = c.get(le, 0) + v
    return c


def quantile(q, b0, b1):
    """histogram_quantile over the interval b0 -> b1 (linear in a bucket), s."""
    les = sorted(b1)
    d = [b1[le] - b0.get(le, 0) for le in les]
    if not d or d[-1] <= 0:
        return None
    rank = q * d[-1]
    lo, prev = 0.0, 0.0
    for le, n in zip(les, d):
        if n >= rank:
            if le == float("inf"):
                return lo
            return lo + (le - lo) * ((rank - prev) / (n - prev) if n > prev else 1)
        lo, prev = le, n
    return les[-1]


def wrk_json(name):
    text = open(os.path.join(work, name + ".out")).read()
    return json.loads(re.search(r"^BENCH_JSON (.*)$", text, re.M).group(1))


# --- samples
rows = []
lines = open(os.path.join(work, "samples.tsv")).read().split("\n")
head = lines[0].split("\t")
for line in lines[1:]:
    if line.strip():
        r = dict(zip(head, line.split("\t")))
        r = {k: float(v) for k, v in r.items()}
        ms = parse_metrics(os.path.join(work, "samples", f"{int(r['t_s'])}.metrics"))
        r["answers"], r["pushes"], r["buckets"] = answers(ms), pushes(ms), buckets(ms)
        rows.append(r)

table = []
for prev, r in zip(rows, rows[1:]):
    dt = r["wall_s"] - prev["wall_s"]
    da = {k: v - prev["answers"].get(k, 0) for k, v in r["answers"].items()}
    total = sum(da.values())
    ok200 = sum(v for (route, st), v in da.items() if st == "200")
    ok202 = sum(v for (route, st), v in da.items() if st == "202")
    acc = (sum(v for (k, o), v in r["pushes"].items() if o == "accepted")
           - sum(v for (k, o), v in prev["pushes"].items() if o == "accepted"))
    cpu = lambda k: (r[k] - prev[k]) / dt
    others = cpu("machine_cpu_s") - cpu("server_cpu_s") - cpu("sandbox_cpu_s") - cpu("pg_cpu_s") \
        - cpu("wrk_cpu_s")
    p99 = quantile(0.99, prev["buckets"], r["buckets"])
    table.append({
        "t_s": int(r["t_s"]), "rate": total / dt, "ok200": ok200, "ok202": ok202,
        "other": total - ok200 - ok202, "accepted": acc,
        "sandbox": r["sandbox_200"] - prev["sandbox_200"],
        "p99_ms": None if p99 is None else p99 * 1000,
        "server_rss_mib": r["server_rss_kb"] / MIB, "threads": int(r["server_threads"]),
        "fds": int(r["server_fds"]), "sandbox_rss_mib": r["sandbox_rss_kb"] / MIB,
        "pg_pss_mib": r["pg_pss_kb"] / MIB, "server_cores": cpu("server_cpu_s"),
        "others_cores": others})

# --- the verdict
by_t = {int(r["t_s"]): r for r in rows}
base, end = by_t.get(baseline_s, rows[0]), rows[-1]
growth = 100 * (end["server_rss_kb"] - base["server_rss_kb"]) / base["server_rss_kb"]
sandbox_growth = 100 * (end["sandbox_rss_kb"] - base["sandbox_rss_kb"]) / base["sandbox_rss_kb"]
runs = {name: wrk_json(name) for name in ("warmup", "peak", "soak")}
sockets = {k: sum(j["errors"][k] for j in runs.values())
           for k in ("connect", "read", "write", "timeout")}
wrk_status = sum(j["errors"]["status"] for j in runs.values())
final = parse_metrics(os.path.join(work, "final.metrics"))
fa, fp = answers(final), pushes(final)
server_bad = {f"{route} {st}": int(v) for (route, st), v in fa.items()
              if st not in ("200", "202") and v}
errors = sum(sockets.values()) + max(wrk_status, sum(server_bad.values()))
server_202 = int(sum(v for (route, st), v in fa.items() if route in PUSH_ROUTES and st == "202"))
server_accepted = int(sum(v for (k, o), v in fp.items() if o == "accepted"))
db = {}
for line in open(os.path.join(work, "pushes.txt")):
    kind, outcome, status, n = line.split()
    db[(kind, outcome, status)] = int(n)
db_accepted = sum(n for (k, o, s), n in db.items() if o == "accepted" and s == "200")
deliveries = json.load(open(os.path.join(work, "deliveries.json")))
kept = {}
for d in deliveries:
    k = f"{d.get('status')} {d.get('answer', '')}".strip()
    kept[k] = kept.get(k, 0) + 1

reasons = []
if growth >= max_growth:
    reasons.append(f"callpush-server RSS grew {growth:+.1f}% (limit {max_growth:g}%)")
if errors:
    reasons.append(f"{errors} errors")
if not (server_202 == server_accepted == sandbox_total == db_accepted):
    reasons.append(f"202 answers {server_202}, pushes accepted by the server {server_accepted}, "
                   f"by the sandbox {sandbox_total}, call_pushes accepted {db_accepted}: not equal")
if server_rc != 0:
    reasons.append(f"callpush-server exited {server_rc} after SIGTERM")
soak = runs["soak"]
soak_rate = soak["requests"] * 1e6 / soak["duration_us"]
verdict = (f"soak: {'FAIL' if reasons else 'PASS'} rss {growth:+.1f}% errors {errors}")


# --- the plot
def plot():
    dat = os.path.join(work, "soak.dat")
    with open(dat, "w") as f:
        # t = 0: memory only (a rate is over an interval that ends at t).
        f.write(f"0 {rows[0]['server_rss_kb'] / MIB:.2f} {rows[0]['sandbox_rss_kb'] / MIB:.2f} NaN\n")
        for t in table:
            f.write(f"{t['t_s'] / 60:.3f} {t['server_rss_mib']:.2f} {t['sandbox_rss_mib']:.2f} "
                    f"{t['rate']:.1f}\n")
    stamp = f"{os.environ['COMMIT'].split(' ')[0]}, {datetime.datetime.now():%Y-%m-%d %H:%M}"
    gp = os.path.join(work, "soak.gp")
    top = max(t["rate"] for t in table) if table else 1
    with open(gp, "w") as f:
        f.write(f"""set terminal svg size 760,500 dynamic enhanced font "sans,11" background rgb "white"
set output "{svg}"
set title "soak: the full path at {fraction:.0%} of the peak ({stamp})" noenhanced
set xlabel "minutes"
set xrange [0:*]
set ylabel "RSS, MiB"
set y2label "answers per second"
set yrange [0:*]
set y2range [0:{top * 1.3:.0f}]
set ytics nomirror
set y2tics
set grid xtics ytics
set key below noenhanced
set arrow from {baseline_s / 60:.3f}, graph 0 to {baseline_s / 60:.3f}, graph 1 nohead dt 2 lc rgb "gray40"
set label "RSS baseline" at {baseline_s / 60:.3f}, graph 0.97 offset 0.5,0 tc rgb "gray40"
plot "{dat}" using 1:2 with linespoints pointsize 0.5 lw 1.5 title "callpush-server VmRSS", \\
     "{dat}" using 1:3 with linespoints pointsize 0.5 lw 1.5 title "callpush-sandbox VmRSS", \\
     "{dat}" using 1:4 axes x1y2 with lines lw 1 lc rgb "gray50" title "answers/s (right)"
""")
    subprocess.run(["gnuplot", gp], check=True)


plot()


# --- the report
def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def f1(x):
    return "-" if x is None else f"{x:.1f}"


out = []
p = out.append
p(f"# callpush soak: {duration_s / 60:g} minute{'' if duration_s == 60 else 's'} at "
  f"{fraction:.0%} of the peak\n")
p(f"`{verdict}`" + (": " + "; ".join(reasons) if reasons else "") + "\n")
p(f"- code: {os.environ['COMMIT']}")
p(f"- build: {os.environ['BUILD_TYPE'] or '(default)'}; binaries built "
  f"(callpush-server / callpush-sandbox): {os.environ['BUILT']}")
p(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
  f"the whole command took {int(os.environ['WALL_S']) / 60:.1f} min")
p(f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}")
p(f"- load average (1/5/15 min) at start -> soak start -> end: {os.environ['LOADAVG']}")
others = [t["others_cores"] for t in table]
mean_others = sum(others) / len(others) if others else 0
if mean_others > 0.25:
    p(f"- **a shared machine**: neighbours (compilers, tests) took {mean_others:.2f} of its "
      f"{os.cpu_count()} cores on average during the soak ({min(others):.2f}-{max(others):.2f} "
      "per sample; 'others' below): the peak, and so the soak's rate, are lower and noisier "
      "than on a quiet machine, and the latency has their stalls in it. That does not weaken "
      "the verdict's terms (no growth, no error, nothing lost), which hold for the rate run here.")
p(f"- the path: {os.environ['WRK_VERSION']} -> callpush-server's in-process gateway "
  f"(`--http_address`, `--db_workers={db_workers}`) -> gRPC -> Postgres (private, "
  f"{patients} patients) -> the push pool -> callpush-sandbox over TLS "
  f"(`--max_deliveries={max_deliveries}`, `--log_level=info`: one log line per push, counted)")
p(f"- the mix, per wrk thread: 3 of 4 requests `GET /v1/callable-devices`, 1 a POST; of 8 "
  f"POSTs 6 `/v1/call` (a call id never used before: a push each), 1 `/v1/update-call` and "
  f"1 `/v1/cancel-call` of the thread's latest call (a push each)")
p(f"- peak: wrk `-t {threads} -c {conc}` closed loop, {peak_s} s after {warmup} s of warm-up: "
  f"**{peak:.0f} req/s** (p50 {runs['peak']['latency_us']['p50'] / 1000:.2f} ms, "
  f"p99 {runs['peak']['latency_us']['p99'] / 1000:.2f} ms)")
late = (f"{100 * soak['late_1ms'] / max(soak['paced_sends'], 1):.2f}% / "
        f"{100 * soak['late_10ms'] / max(soak['paced_sends'], 1):.3f}% "
        f"(worst {soak['late_max_ms']:.1f} ms)")
p(f"- soak: paced at {rate:.0f} req/s over {lat_conns} connections for {duration_s} s: "
  f"achieved **{soak_rate:.0f} req/s**"
  f"{' (overloaded: below 97% of the target)' if soak_rate < 0.97 * rate else ''}, "
  f"{soak['requests']} answers seen by wrk; latency from the actual send p50 "
  f"{soak['latency_us']['p50'] / 1000:.2f} / p99 {soak['latency_us']['p99'] / 1000:.2f} / "
  f"p99.9 {soak['latency_us']['p99.9'] / 1000:.2f} / max {soak['latency_us']['max'] / 1000:.1f} ms; "
  f"sends late > 1 ms / > 10 ms: {late}")
p("")
p("Verdict:\n")
p(f"- callpush-server VmRSS {base['server_rss_kb'] / MIB:.1f} MiB at {baseline_s / 60:g} min "
  f"(the baseline) -> {end['server_rss_kb'] / MIB:.1f} MiB at the end: **{growth:+.1f}%** "
  f"(limit < {max_growth:g}%); from the soak's start "
  f"{rows[0]['server_rss_kb'] / MIB:.1f} MiB; VmHWM at the end {int(server_hwm) / MIB:.1f} MiB")
p(f"- callpush-sandbox VmRSS {base['sandbox_rss_kb'] / MIB:.1f} -> "
  f"{end['sandbox_rss_kb'] / MIB:.1f} MiB ({sandbox_growth:+.1f}%); VmHWM "
  f"{int(sandbox_hwm) / MIB:.1f} MiB; Postgres Pss {base['pg_pss_kb'] / MIB:.0f} -> "
  f"{end['pg_pss_kb'] / MIB:.0f} MiB; server threads {int(base['server_threads'])} -> "
  f"{int(end['server_threads'])}, open fds {int(base['server_fds'])} -> {int(end['server_fds'])}")
p(f"- errors **{errors}**: socket errors (warm-up, peak and soak runs) "
  f"{', '.join(f'{k} {v}' for k, v in sockets.items())}; answers other than 200/202: "
  f"{server_bad or 'none'} (the server's count; wrk saw {wrk_status} non-2xx)")
p(f"- answers over the server's life (warm-up, peak, soak), by route and status: "
  + ", ".join(f"`{route}` {st}: {int(v)}" for (route, st), v in sorted(fa.items())))
p(f"- pushes: 202 answers {server_202}; the server's `callpush_push_attempts_total` "
  f"{ {f'{k} {o}': int(v) for (k, o), v in sorted(fp.items())} }; the sandbox answered "
  f"{sandbox_total} pushes 200; `call_pushes` rows "
  f"{ {' '.join(k): n for k, n in sorted(db.items())} }: "
  f"**{'all equal' if server_202 == server_accepted == sandbox_total == db_accepted else 'NOT EQUAL'}**"
  f"; the sandbox's last {len(deliveries)} kept deliveries by status and answer: {kept}")
p(f"- callpush-server exit status after SIGTERM: {server_rc}")
levels = open(os.path.join(work, "server-levels.txt")).read().split()
warn = open(os.path.join(work, "server-warnings.txt")).read().strip()
p(f"- the server's log lines by level: "
  f"{dict(zip(levels[::2], (int(x) for x in levels[1::2])))}"
  + (f"; warnings and errors by message: {' ; '.join(' '.join(l.split()) for l in warn.splitlines())}"
     if warn else "")
  + f" (server and sandbox logs together {log_mib} MiB)")
p("")
p(f"![RSS and rate over time]({os.path.basename(svg)})\n")
p(f"Samples every {sample_s} s (each row: the interval that ends at t; rates and counts over "
  "the interval; memory, threads and fds at t):\n")
p("| t min | answers/s | 200 / 202 / other | pushes accepted: server / sandbox | p99 ms "
  "| server RSS MiB | threads | fds | sandbox RSS MiB | Postgres Pss MiB "
  "| cores: server / others |")
p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
p(f"| 0 | | | | | {rows[0]['server_rss_kb'] / MIB:.1f} | {int(rows[0]['server_threads'])} "
  f"| {int(rows[0]['server_fds'])} | {rows[0]['sandbox_rss_kb'] / MIB:.1f} "
  f"| {rows[0]['pg_pss_kb'] / MIB:.0f} | |")
for t in table:
    mark = " (baseline)" if t["t_s"] == baseline_s else ""
    p(f"| {t['t_s'] / 60:.1f}{mark} | {t['rate']:.0f} | {t['ok200']:.0f} / {t['ok202']:.0f} / "
      f"{t['other']:.0f} | {t['accepted']:.0f} / {t['sandbox']:.0f} | {f1(t['p99_ms'])} "
      f"| {t['server_rss_mib']:.1f} | {t['threads']} | {t['fds']} | {t['sandbox_rss_mib']:.1f} "
      f"| {t['pg_pss_mib']:.0f} | {t['server_cores']:.2f} / {t['others_cores']:.2f} |")
p("")
p("p99 ms: from the server's `callpush_http_request_duration_seconds` histogram on the API "
  "routes over the interval (interpolated inside its buckets, as Prometheus' "
  "histogram_quantile; time from a complete request to its answer, without the wire). "
  "'others': the machine's busy CPU (/proc/stat) less the server's, the sandbox's, "
  "Postgres' and wrk's, in cores: what neighbours (compilers, tests) took; the machine "
  f"has {os.cpu_count()}. RSS growth counts from the baseline sample so that the pools, "
  "caches and allocator arenas filled in the warm-up are not taken for a leak.\n")
p(f"`{verdict}`")
open(report, "w").write("\n".join(out) + "\n")
print(verdict)
sys.exit(3 if reasons else 0)
PY
) || verdict_rc=$?
((verdict_rc == 0 || verdict_rc == 3)) || { echo "soak.sh: the report failed" >&2; exit 1; }
cp "$work/report.md" "$out"
cat "$out"
log "wrote $out and $svg"
echo "$verdict"
((verdict_rc == 0)) || exit 1
