#!/usr/bin/env bash
# The benchmark suite in one command (DESIGN.md section 11, issue 7): builds
# in Release, starts and seeds one private Postgres, then runs three stages
# on this machine, one after the other:
#
#   grpc_bench.sh     pgbench -S -M prepared; ListCallableDevices over gRPC
#   gateway_bench.sh  pgbench -S again; GET /v1/callable-devices and
#                     POST /v1/call (pushes to the sandbox over TLS) through
#                     the separate gateway and the in-process one, with wrk
#   push_bench.sh     the push pool alone against the sandbox next to h2load,
#                     1 and 4 connections, 100 streams each
#
# and from their summaries (bench_summary.py) writes one flat JSON object,
# the table between the bench:table markers in BENCHMARKS.md, the stages'
# own tables in tests/bench/results/last/ and one latency plot per measure
# (gnuplot, SVG) in tests/bench/results/plots/. See README.md here.
#
#   tests/bench/run.sh [--quick] [--json FILE] [--no-update]
#
#   --quick      5 s runs after 1 s of warm-up, one run of each kind, no
#                push-RSS run: about 3.5 minutes with an up-to-date build
#                (the full run takes about 14)
#   --json FILE  also write the flat JSON object to FILE
#   --no-update  leave BENCHMARKS.md, results/last/ and results/plots/
#                alone (everything goes to the scratch directory; use with
#                KEEP_WORK=1)
#
# Environment (all optional): BUILD_DIR (default: $repo/build-bench,
# configured Release if new), SKIP_BUILD=1, KEEP_WORK=1, WORK_DIR,
# CONCURRENCY (16: gRPC requests in flight, wrk connections, pgbench
# clients), DB_WORKERS (8), PATIENTS (10000), PGBENCH_SCALE (10), DURATION
# and WARMUP (seconds per run: 15 and 3, or 5 and 1 with --quick).
#
# Everything it starts (Postgres, the stages and what they start) is
# stopped on exit, error, Ctrl-C or SIGTERM. Only 127.0.0.1 is used.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_dir="$repo/tests/bench"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' >&2; }

quick=""
json_out=""
update=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --json)
      [[ $# -ge 2 ]] || { echo "run.sh: --json needs a file" >&2; exit 2; }
      json_out=$2
      shift
      ;;
    --json=*) json_out=${1#--json=} ;;
    --no-update) update="" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# A relative --json path is relative to where run.sh was started.
[[ -z "$json_out" || "$json_out" == /* ]] || json_out="$PWD/$json_out"

build=${BUILD_DIR:-$repo/build-bench}
concurrency=${CONCURRENCY:-16}
db_workers=${DB_WORKERS:-8}
patients=${PATIENTS:-10000}
scale=${PGBENCH_SCALE:-10}
first_number=447700900000
if [[ -n "$quick" ]]; then
  duration=${DURATION:-5}
  warmup=${WARMUP:-1}
  quick_env=(PAIRS=1 REPEAT=1 RSS_RATE=0)
else
  duration=${DURATION:-15}
  warmup=${WARMUP:-3}
  quick_env=()
fi
[[ "$concurrency" =~ ^[0-9]+$ && "$db_workers" =~ ^[0-9]+$ ]] ||
  { echo "run.sh: CONCURRENCY and DB_WORKERS take one number each (the stages sweep lists)" >&2; exit 2; }

bench_name=run.sh
bench_log_tag=bench
source "$bench_dir/lib.sh"
bench_find_pg_tools
for tool in wrk curl h2load python3 gnuplot; do
  command -v "$tool" >/dev/null ||
    { echo "run.sh: $tool missing (deploy/install-deps.sh installs it)" >&2; exit 1; }
done

# --- scratch space and cleanup ------------------------------------------------
bench_make_work callpush-bench
# A stage stops what it started when it is stopped: give it time for that.
bench_child_grace=300

# Called by bench_cleanup (lib.sh) on exit, error or Ctrl-C.
bench_on_exit() {
  bench_stop_postgres
}
bench_install_traps

started=$(date +%s.%N)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
# What is measured: the tree as it is now, uncommitted changes included; a
# digest of those in the code under test tells runs of different trees apart.
measured_paths=(gateway server clients proto tests/sandbox tests/bench)
diff_sha=""
if [[ -n "$(git -C "$repo" status --porcelain -- "${measured_paths[@]}" 2>/dev/null)" ]]; then
  diff_sha=$(git -C "$repo" diff HEAD -- "${measured_paths[@]}" | sha256sum | cut -c1-12)
fi

# --- build --------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bench_cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  if command -v ccache >/dev/null; then
    bench_cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  bench_build "$build" callpush-server callpush-gateway callpush-sandbox \
    callpush-grpc-load callpush-push-load
fi
server_bin="$build/server/callpush-server"
for bin in "$server_bin" "$build/gateway/callpush-gateway" \
  "$build/tests/sandbox/callpush-sandbox" "$build/tests/bench/callpush-grpc-load" \
  "$build/tests/bench/callpush-push-load"; do
  [[ -x "$bin" ]] || { echo "run.sh: $bin missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[[ "$build_type" == Release ]] ||
  log "warning: $build is a ${build_type:-default} build, not Release: the figures say so"
built_s=$(date +%s.%N)

# --- one Postgres for every stage ---------------------------------------------
bench_start_postgres
bench_seed
export BENCH_PG_DIR=$pgdir

# --- the stages ---------------------------------------------------------------
if [[ -n "$update" ]]; then
  results="$bench_dir/results/last"
  plots="$bench_dir/results/plots"
else
  results="$work/results"
  plots="$work/plots"
fi
mkdir -p "$results" "$plots"

# run_stage NAME SCRIPT [VAR=VALUE...]: runs one stage with its scratch
# directory in $work/NAME and its table in $results/NAME.md; its log lines
# go to stderr as it runs.
run_stage() {
  local name=$1 script=$2
  shift 2
  log "stage $name: $script"
  local t0
  t0=$(date +%s)
  run_child env WORK_DIR="$work/$name" OUT="$results/$name.md" SKIP_BUILD=1 \
    BUILD_DIR="$build" DURATION="$duration" WARMUP="$warmup" PATIENTS="$patients" \
    PGBENCH_SCALE="$scale" "$@" "$bench_dir/$script" >"$work/$name.stdout" ||
    { echo "run.sh: stage $name failed (its scratch: $work/$name; KEEP_WORK=1 keeps it)" >&2; exit 1; }
  log "stage $name done in $(($(date +%s) - t0)) s"
}

run_stage grpc grpc_bench.sh CONCURRENCY="$concurrency" DB_WORKERS="$db_workers" \
  ${quick_env[@]+"${quick_env[@]}"}
run_stage gateway gateway_bench.sh CONCURRENCY="$concurrency" DB_WORKERS="$db_workers" \
  ${quick_env[@]+"${quick_env[@]}"}
run_stage push push_bench.sh CONNECTIONS="1 4" STREAMS=100 ${quick_env[@]+"${quick_env[@]}"}

bench_stop_postgres
pgdir=""

# --- the report ---------------------------------------------------------------
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
report_args=(--work "$work" --results "$results" --plots "$plots"
  --commit "$commit" --diff-sha "$diff_sha" --build-type "$build_type"
  --loadavg-start "$loadavg_start" --loadavg-end "$loadavg_end"
  --started "$started" --build-s "$(awk -v a="$started" -v b="$built_s" 'BEGIN { printf "%.1f", b - a }')"
  --duration "$duration" --warmup "$warmup" --concurrency "$concurrency"
  --db-workers "$db_workers" --patients "$patients")
[[ -z "$quick" ]] || report_args+=(--quick)
[[ -z "$json_out" ]] || report_args+=(--json "$json_out")
[[ -z "$update" ]] || report_args+=(--benchmarks "$repo/BENCHMARKS.md")
python3 "$bench_dir/report.py" "${report_args[@]}"
