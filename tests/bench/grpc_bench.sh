#!/usr/bin/env bash
# ListCallableDevices over gRPC next to pgbench -S on the same Postgres, in
# one run on this machine; prints a markdown table and writes it to
# tests/bench/results/grpc-<date>.md. A stage of run.sh (which sets WORK_DIR,
# BENCH_PG_DIR and SKIP_BUILD), and runnable alone. See README.md here.
#
#   tests/bench/grpc_bench.sh [BUILD_DIR]
#
# Environment (all optional):
#   BUILD_DIR      build directory (default: $repo/build-bench, configured
#                  Release if new; an argument wins)
#   CONCURRENCY    outstanding requests = pgbench clients; a list sweeps
#                  ("8 32")                                          [16]
#   DB_WORKERS     callpush-server --db_workers; a list tries each   [8]
#   DURATION       seconds measured per run                          [15]
#   WARMUP         seconds of load before each measurement           [3]
#   CHANNELS       callpush-grpc-load --channels                     [2]
#   LOAD_FRACTION  fraction of the measured peak for the latency run [0.8]
#   PATIENTS       seeded patients (1-3 devices each)                [10000]
#   PGBENCH_SCALE  pgbench -i -s                                     [10]
#   SKIP_BUILD=1   use the binaries already in BUILD_DIR
#   KEEP_WORK=1    keep the scratch directory (raw JSON, logs)
#   WORK_DIR       use (and keep) this scratch directory
#   BENCH_PG_DIR   use this running, seeded Postgres (lib.sh)
#   OUT            where the table goes [tests/bench/results/grpc-<date>.md]
#
# Besides the table it leaves $work/summary.json, the figures run.sh reads.
# Everything it starts (Postgres, callpush-server) is stopped on exit, error
# or Ctrl-C. Only 127.0.0.1 is used.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD_DIR:-$repo/build-bench}}
concurrency=${CONCURRENCY:-16}
db_workers=${DB_WORKERS:-8}
duration=${DURATION:-15}
warmup=${WARMUP:-3}
channels=${CHANNELS:-2}
load_fraction=${LOAD_FRACTION:-0.8}
patients=${PATIENTS:-10000}
scale=${PGBENCH_SCALE:-10}
out=${OUT:-$repo/tests/bench/results/grpc-$(date +%F).md}
first_number=447700900000

bench_name=grpc_bench.sh
bench_log_tag=grpc-bench
source "$repo/tests/bench/lib.sh"
bench_find_pg_tools

# --- scratch space and cleanup ------------------------------------------------
bench_make_work callpush-grpc-bench
server_pid=""

stop_server() {
  stop_pid "$server_pid" 100
  server_pid=""
}

# Called by bench_cleanup (lib.sh) on exit, error or Ctrl-C.
bench_on_exit() {
  stop_server
  bench_stop_postgres
}
bench_install_traps

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
# What is built and measured: the tree as it is now.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]] && commit+=" (with uncommitted changes)"

# --- build --------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bench_cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  bench_build "$build" callpush-server callpush-grpc-load
fi
server_bin="$build/server/callpush-server"
load_bin="$build/tests/bench/callpush-grpc-load"
for bin in "$server_bin" "$load_bin"; do
  [[ -x "$bin" ]] || { echo "grpc_bench.sh: $bin missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done

# --- Postgres -----------------------------------------------------------------
# The test instance (lib.sh): fsync, synchronous_commit and full_page_writes
# are off. Both workloads here only read, so that changes nothing measured.
bench_start_postgres
bench_seed

bench_write_list_sql "$work/list_callable_devices.sql"

start_server() {
  local w=$1 tag=$2
  "$server_bin" --grpc_address=127.0.0.1:0 --database_url="$cp_url" \
    --db_workers="$w" >"$work/server-$tag.out" 2>"$work/server-$tag.err" &
  server_pid=$!
  port=$(wait_for_line "$server_pid" "$work/server-$tag.out" \
    's/^callpush-server listening grpc=127\.0\.0\.1:\([0-9]*\)$/\1/p') && return 0
  echo "grpc_bench.sh: callpush-server did not start:" >&2
  tail -n 20 "$work/server-$tag.err" >&2
  exit 1
}

rows=()
for c in $concurrency; do
  log "C=$c: pgbench -S -M prepared -c $c -j 2 -T $duration"
  run_pgbench "pgbench-S-c$c-before" "$c" "$pgb_url" -S
  log "C=$c: pgbench with the server's own query"
  run_pgbench "pgbench-query-c$c" "$c" "$cp_url" -f "$work/list_callable_devices.sql"
  for w in $db_workers; do
    tag="c$c-w$w"
    start_server "$w" "$tag"
    load=("$load_bin" --target="127.0.0.1:$port" --concurrency="$c"
      --channels="$channels" --warmup="$warmup" --duration="$duration"
      --numbers="$patients" --first_number="$first_number"
      --server_pid="$server_pid" --pg_pid="$pg_pid")
    log "C=$c db_workers=$w: gRPC closed loop"
    run_child "${load[@]}" >"$work/grpc-peak-$tag.json"
    pss=$(pg_pss_kb)  # the server's connections are still open
    rate=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["rate"] * float(sys.argv[2]), 1))' \
      "$work/grpc-peak-$tag.json" "$load_fraction")
    log "C=$c db_workers=$w: gRPC open loop at $rate req/s"
    run_child "${load[@]}" --rate="$rate" >"$work/grpc-load-$tag.json"
    hwm=$(vmhwm_kb "$server_pid")
    stop_server
    echo "{\"c\": $c, \"db_workers\": $w, \"channels\": $channels, \"server_vmhwm_kb\": $hwm, \"pg_pss_kb\": $pss}" >"$work/server-$tag.json"
    rows+=("$tag")
  done
  # Again, so that a neighbour's load during the gRPC runs shows as spread.
  log "C=$c: pgbench -S again"
  run_pgbench "pgbench-S-c$c-after" "$c" "$pgb_url" -S
done

# --- report -------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT="$commit" LOADAVG="$loadavg_start -> $loadavg_end" python3 - "$work" "$load_fraction" "$duration" "$warmup" "$patients" "$scale" "${rows[@]}" >"$work/report.md" <<'PY'
import datetime, json, os, platform, sys

work, fraction, duration, warmup, patients, scale = sys.argv[1:7]
tags = sys.argv[7:]
fraction = float(fraction)
load = lambda name: json.load(open(os.path.join(work, name + ".json")))

rows = []
for tag in tags:
    s = load("server-" + tag)
    rows.append(dict(
        s, pgs_before=load(f"pgbench-S-c{s['c']}-before"),
        pgs_after=load(f"pgbench-S-c{s['c']}-after"),
        pgq=load(f"pgbench-query-c{s['c']}"),
        peak=load("grpc-peak-" + tag), at=load("grpc-load-" + tag)))
    r = rows[-1]
    r["pgs_tps"] = (r["pgs_before"]["tps"] + r["pgs_after"]["tps"]) / 2
best = {}
for r in rows:
    if r["c"] not in best or r["peak"]["rate"] > best[r["c"]]["peak"]["rate"]:
        best[r["c"]] = r

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def short(a):
    """Flags an open-loop run that could not keep up with its target rate."""
    t = a["target_rate"]
    return f" (target {t:.0f}: overloaded)" if a["rate"] < 0.97 * t else ""

def errs(j):
    return ", ".join(f"{k} {v}" for k, v in j["errors_by_code"].items()) or "0"

print(f"# callpush benchmark: ListCallableDevices vs pgbench -S\n")
print(f"- commit (at start): {os.environ['COMMIT']}")
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}")
print(f"- load average (1/5/15 min) at start -> end: {os.environ['LOADAVG']}")
print(f"- runs: {duration}s measured after {warmup}s warm-up; {patients} patients; "
      f"pgbench scale {scale}; latency run at {fraction:.0%} of the gRPC peak")
print()
print("| C | db_workers | pgbench -S tps (before / after) | gRPC req/s | ratio "
      "| p50 µs | p99 µs | p99.9 µs "
      f"| at {fraction:.0%}: req/s | p99 µs | p99 µs from send "
      "| server CPU µs/req | server RSS MiB | errors |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    p, a = r["peak"], r["at"]
    mark = " *" if len(rows) > 1 and best[r["c"]] is r else ""
    print(f"| {r['c']} | {r['db_workers']}{mark} "
          f"| {r['pgs_tps']:.0f} ({r['pgs_before']['tps']:.0f} / {r['pgs_after']['tps']:.0f}) "
          f"| {p['rate']:.0f} | **{100 * p['rate'] / r['pgs_tps']:.0f}%** "
          f"| {p['latency_us']['p50']:.0f} | {p['latency_us']['p99']:.0f} "
          f"| {p['latency_us']['p99.9']:.0f} | {a['rate']:.0f}{short(a)} "
          f"| **{a['latency_us']['p99']:.0f}** | {a['service_latency_us']['p99']:.0f} "
          f"| {p['server_cpu_us_per_request']:.0f} | {r['server_vmhwm_kb'] / 1024:.0f} "
          f"| {errs(p)}; {errs(a)} |")
print()
print("Where the time goes (same runs):\n")
print("| C | db_workers | pgbench, server's SQL: tps | gRPC / that "
      "| pgbench -S p50 / p99 / p99.9 µs "
      "| Postgres CPU µs/req: -S / server's SQL / gRPC "
      "| client CPU µs/req: pgbench -S / grpc-load "
      "| all CPU µs/req: pgbench -S / gRPC (ratio) "
      f"| gRPC p50 µs at {fraction:.0%} | empty lists |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    p, a = r["peak"], r["at"]
    pgs = r["pgs_before"]
    pg_all = pgs["pg_cpu_us_per_request"] + pgs["client_cpu_us_per_request"]
    grpc_all = (p["pg_cpu_us_per_request"] + p["server_cpu_us_per_request"]
                + p["client_cpu_us_per_request"])
    print(f"| {r['c']} | {r['db_workers']} | {r['pgq']['tps']:.0f} "
          f"| {100 * p['rate'] / r['pgq']['tps']:.0f}% "
          f"| {pgs['latency_us']['p50']} / {pgs['latency_us']['p99']} / {pgs['latency_us']['p99.9']} "
          f"| {pgs['pg_cpu_us_per_request']:.0f} / {r['pgq']['pg_cpu_us_per_request']:.0f} "
          f"/ {p['pg_cpu_us_per_request']:.0f} "
          f"| {pgs['client_cpu_us_per_request']:.0f} / {p['client_cpu_us_per_request']:.0f} "
          f"| {pg_all:.0f} / {grpc_all:.0f} ({100 * pg_all / grpc_all:.0f}%) "
          f"| {a['latency_us']['p50']:.0f} "
          f"| {100 * p['empty_responses'] / max(p['requests'], 1):.1f}% |")
if len(rows) > 1:
    print("\n`*`: the db_workers value with the highest gRPC rate at that concurrency.")
print(f"\nratio = gRPC req/s / mean pgbench -S tps at the same concurrency. gRPC over "
      f"{rows[0]['channels']} channel(s). Latency at {fraction:.0%} (open loop) counts from "
      "each request's scheduled send time; 'from send' leaves out the time a request "
      "waited in the load generator for its turn.")
PY
cp "$work/report.md" "$out"
cat "$out"
log "wrote $out"

# The figures run.sh reads (bench_summary.py).
PYTHONPATH="$repo/tests/bench" python3 - "$work" "$load_fraction" "$duration" "$warmup" \
  "$channels" "${rows[@]}" <<'PY'
import json, os, sys
import bench_summary as bs

work, fraction, duration, warmup, channels = sys.argv[1:6]
tags = sys.argv[6:]
load = lambda name: json.load(open(os.path.join(work, name + ".json")))
runs, cs = [], []
for tag in tags:
    s = load("server-" + tag)
    if s["c"] not in cs:
        cs.append(s["c"])
        runs += [bs.pgbench_run(load(f"pgbench-S-c{s['c']}-{when}")) for when in ("before", "after")]
    for kind, name in (("peak", "grpc-peak-"), ("paced", "grpc-load-")):
        j = load(name + tag)
        runs.append(bs.run(
            "grpc_list", kind, j["rate"], target_rate=j["target_rate"] or None,
            requests=j["requests"], errors=j["errors"], latency_ms=bs.ms(j["latency_us"]),
            curve=bs.curve_ms(j["latency_curve_us"], 1000.0),
            cpu_s_per_1k=bs.per_1k({"grpc_load": j["client_cpu_us_per_request"],
                                    "server": j["server_cpu_us_per_request"],
                                    "postgres": j["pg_cpu_us_per_request"]}),
            rss_mib=bs.mib({"grpc_load": j["client_vmhwm_kb"], "server": s["server_vmhwm_kb"]}),
            postgres_pss_mib=s["pg_pss_kb"] / bs.MIB))
bs.write(work, "grpc", {"concurrency": cs, "db_workers": sorted({load("server-" + t)["db_workers"] for t in tags}),
                        "channels": int(channels), "duration_s": float(duration),
                        "warmup_s": float(warmup), "load_fraction": float(fraction)}, runs)
PY
