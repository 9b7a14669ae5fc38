#!/usr/bin/env bash
# The HTTP/2 push pool (clients/http2, driven by callpush-push-load) next to
# h2load, same connections and concurrent streams, same request bytes, same
# push sandbox, in one run on this machine (issue 3). Prints a markdown
# table and writes it to tests/bench/results/push-<date>.md. A stage of
# run.sh (which sets WORK_DIR and SKIP_BUILD), and runnable alone. See
# README.md here.
#
#   tests/bench/push_bench.sh [BUILD_DIR]
#
# Environment (all optional):
#   BUILD_DIR      build directory (default: $repo/build-bench, configured
#                  Release if new; an argument wins)
#   CONNECTIONS    connections (h2load -c); a list sweeps           ["1 4"]
#   STREAMS        concurrent streams per connection (h2load -m); a list
#                  tries each                                       [100]
#   REPEAT         h2load / pool pairs per (C, S); medians reported  [3]
#   DURATION       seconds measured per run                          [10]
#   WARMUP         seconds of load before each measurement           [2]
#   LOAD_FRACTION  fraction of the pool's peak for the latency run   [0.5]
#   RSS_RATE       pushes/s for the client-RSS run; 0 skips it       [10000]
#   MAX_DELIVERIES the sandbox's --max_deliveries (its memory bound) [1000]
#   SKIP_BUILD=1   use the binaries already in BUILD_DIR
#   KEEP_WORK=1    keep the scratch directory (raw JSON, logs)
#   WORK_DIR       use (and keep) this scratch directory
#   OUT            where the table goes [tests/bench/results/push-<date>.md]
#
# Besides the table it leaves $work/summary.json, the figures run.sh reads.
# Everything it starts (the sandbox, h2load, the load generator) is stopped
# on exit, error or Ctrl-C. Only 127.0.0.1 is used.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD_DIR:-$repo/build-bench}}
connections_list=${CONNECTIONS:-1 4}
streams_list=${STREAMS:-100}
repeat=${REPEAT:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
load_fraction=${LOAD_FRACTION:-0.5}
rss_rate=${RSS_RATE:-10000}
max_deliveries=${MAX_DELIVERIES:-1000}
out=${OUT:-$repo/tests/bench/results/push-$(date +%F).md}

command -v h2load >/dev/null || { echo "push_bench.sh: h2load missing (apt-get install nghttp2-client)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "push_bench.sh: python3 missing" >&2; exit 1; }

bench_name=push_bench.sh
bench_log_tag=push-bench
source "$repo/tests/bench/lib.sh"

# --- scratch space and cleanup ------------------------------------------------
bench_make_work callpush-push-bench
sandbox_pid=""

# Called by bench_cleanup (lib.sh) on exit, error or Ctrl-C.
bench_on_exit() {
  stop_pid "$sandbox_pid"
}
bench_install_traps

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
# What is measured: the tree as it is now, uncommitted changes included; a
# digest of those in the code under test tells runs of different trees apart.
measured_paths=(clients/http2 clients/apns clients/base tests/sandbox tests/bench)
if [[ -n "$(git -C "$repo" status --porcelain -- "${measured_paths[@]}" 2>/dev/null)" ]]; then
  commit+=" + uncommitted changes in the measured code (diff sha256 $(
    git -C "$repo" diff HEAD -- "${measured_paths[@]}" | sha256sum | cut -c1-12))"
fi

# --- build --------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bench_cmake_args=(-DCMAKE_BUILD_TYPE=Release)
  bench_build "$build" callpush-sandbox callpush-push-load
fi
sandbox_bin="$build/tests/sandbox/callpush-sandbox"
load_bin="$build/tests/bench/callpush-push-load"
for bin in "$sandbox_bin" "$load_bin"; do
  [[ -x "$bin" ]] || { echo "push_bench.sh: $bin missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done

# --- the sandbox --------------------------------------------------------------
bench_start_sandbox push_bench.sh
port=${sandbox_h2##*:}

load_common=("$load_bin" --port="$port" --ca_file="$certs/ca.pem"
  --apns_key="$certs/apns-key.p8" --warmup="$warmup" --duration="$duration"
  --sandbox_pid="$sandbox_pid")

# run_h2load NAME C S [log]: h2load with the request callpush-push-load
# would send (written fresh, so its JWT is new); writes $work/NAME.json.
# With "log", h2load also writes one line per request of its measured window
# (--log-file, one write(2) each: that costs it ~5-10% of its rate, so such
# a run gives latency percentiles, not the rate compared with the pool's).
run_h2load() {
  local name=$1 c=$2 s=$3 log=${4:-}
  local req="$work/request-$name"
  mkdir -p "$req"
  "${load_common[@]}" --print_request="$req"
  local args=(-c "$c" -m "$s" -t 1 -D "$duration" --warm-up-time="$warmup"
    -d "$req/body")
  rm -f "$work/$name.tsv"
  [[ -z "$log" ]] || args+=(--log-file="$work/$name.tsv")
  while IFS= read -r header; do
    args+=(-H "$header")
  done <"$req/headers"
  local url="https://127.0.0.1:$port$(cat "$req/path")"
  local inner
  inner=$(python3 -c "print(max($duration - 1, 0.1))")
  h2load "${args[@]}" "$url" >"$work/$name.out" 2>"$work/$name.err" &
  child_pid=$!
  # CPU is sampled inside h2load's measured window (which starts once it is
  # connected, within a few ms, and ends when it exits): from half a second
  # after the warm-up to half a second before the end, so that h2load is
  # alive at both samples. Per request = CPU / (rate × interval).
  sleep "$warmup"
  sleep 0.5
  local h0 s0 t0 h1 s1 t1
  h0=$(cpu_of "$child_pid")
  s0=$(cpu_of "$sandbox_pid")
  t0=$(date +%s.%N)
  sleep "$inner"
  h1=$(cpu_of "$child_pid")
  s1=$(cpu_of "$sandbox_pid")
  t1=$(date +%s.%N)
  local mem
  mem="$(vmhwm_or_0 "$child_pid") $(vmhwm_or_0 "$sandbox_pid")"
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=""
  if [[ $rc -ne 0 ]]; then
    cat "$work/$name.out" "$work/$name.err" >&2
    exit 1
  fi
  PYTHONPATH="$repo/tests/bench" python3 - "$work/$name.out" "$h0" "$h1" "$s0" "$s1" "$t0" "$t1" \
    "$mem" "$work/$name.tsv" >"$work/$name.json" <<'PY'
import json, os, re, sys
import latency_curve
out = open(sys.argv[1]).read()
h0, h1, s0, s1, t0, t1 = (float(x) for x in sys.argv[2:8])
h2load_kb, sandbox_kb = (int(x) for x in sys.argv[8].split())
m = re.search(r"finished in ([0-9.]+)(m?s), ([0-9.]+) req/s", out)
rate = float(m.group(3))
r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
              r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
done, ok = int(r.group(3)), int(r.group(4))
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
n = rate * (t1 - t0)  # requests in the sampled interval

def latency(tsv):
    """From --log-file: start µs, status (-1: failed), µs to the end."""
    if not os.path.exists(tsv):
        return {}
    us = sorted(int(line.split("\t")[2]) for line in open(tsv) if line.strip())
    pct = lambda q: latency_curve.percentile(us, q) / 1000.0
    return {"logged": len(us),
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99),
                           "p99.9": pct(0.999), "max": us[-1] / 1000.0 if us else None},
            "latency_curve_ms": [[p, v / 1000.0] for p, v in latency_curve.curve(us, 0)]}

print(json.dumps({
    "rate": rate, "requests": done, "ok": ok,
    "errors": done - ok + int(r.group(7)),
    "status_2xx": int(codes.group(1)), "status_4xx": int(codes.group(3)),
    "status_5xx": int(codes.group(4)),
    "client_cpu_us_per_request": (h1 - h0) * 1e6 / n if n else 0,
    "sandbox_cpu_us_per_request": (s1 - s0) * 1e6 / n if n else 0,
    "client_vmhwm_kb": h2load_kb, "sandbox_vmhwm_kb": sandbox_kb,
    **latency(sys.argv[9]),
}))
PY
  local non2xx
  non2xx=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["status_4xx"] + j["status_5xx"])' "$work/$name.json")
  if [[ "$non2xx" != 0 ]]; then
    log "h2load $name: $non2xx non-2xx answers (see $work/$name.out)"
  fi
  log "h2load $name: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f/s, cpu %.1f us/req, sandbox %.1f us/req" % (j["rate"], j["client_cpu_us_per_request"], j["sandbox_cpu_us_per_request"]))' "$work/$name.json")"
}

# run_pool NAME C S [ARGS...]: writes $work/NAME.json
run_pool() {
  local name=$1 c=$2 s=$3
  shift 3
  run_child "${load_common[@]}" --connections="$c" --streams="$s" "$@" \
    >"$work/$name.json" 2>"$work/$name.err" ||
    { cat "$work/$name.err" >&2; exit 1; }
  tail -n 1 "$work/$name.err" >&2
  vmhwm_or_0 "$sandbox_pid" >"$work/$name.sandbox-hwm"
}

median_rate() {
  python3 -c 'import json,statistics,sys; print(round(statistics.median(json.load(open(f))["rate"] for f in sys.argv[1:]), 1))' "$@"
}

rows=()
for c in $connections_list; do
  for s in $streams_list; do
    tag="c$c-s$s"
    pool_files=()
    for r in $(seq "$repeat"); do
      # Alternate who goes first, so that a drift in the machine's load
      # does not always favour the same side.
      if ((r % 2 == 1)); then
        log "C=$c S=$s run $r/$repeat: h2load, then the pool"
        run_h2load "h2load-$tag-$r" "$c" "$s"
        run_pool "pool-$tag-$r" "$c" "$s"
      else
        log "C=$c S=$s run $r/$repeat: the pool, then h2load"
        run_pool "pool-$tag-$r" "$c" "$s"
        run_h2load "h2load-$tag-$r" "$c" "$s"
      fi
      pool_files+=("$work/pool-$tag-$r.json")
    done
    peak=$(median_rate "${pool_files[@]}")
    rate=$(python3 -c "print(round($peak * $load_fraction, 1))")
    log "C=$c S=$s: open loop at $rate/s ($load_fraction of the pool's median peak $peak/s)"
    run_pool "latency-$tag" "$c" "$s" --rate="$rate"
    log "C=$c S=$s: h2load with --log-file, for its latency"
    run_h2load "h2load-$tag-latency" "$c" "$s" log
    if [[ "$rss_rate" != 0 ]]; then
      log "C=$c S=$s: open loop at $rss_rate/s for the client's RSS"
      run_pool "rss-$tag" "$c" "$s" --rate="$rss_rate"
    fi
    rows+=("$c:$s")
  done
done

# --- report -------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT="$commit" LOADAVG="$loadavg_start -> $loadavg_end" \
  BUILT="$(date -r "$load_bin" +%FT%T) / $(date -r "$sandbox_bin" +%FT%T)" \
  H2LOAD_VERSION="$(h2load --version 2>&1 | head -n 1)" \
  python3 - "$work" "$repeat" "$duration" "$warmup" "$load_fraction" "$rss_rate" \
  "$max_deliveries" "${rows[@]}" >"$work/report.md" <<'PY'
import datetime, json, os, platform, statistics, sys

work, repeat, duration, warmup, fraction, rss_rate, max_deliveries = sys.argv[1:8]
repeat, fraction, rss_rate = int(repeat), float(fraction), float(rss_rate)
rows = [tuple(int(x) for x in r.split(":")) for r in sys.argv[8:]]
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

def errs(j):
    e = j.get("errors_by_status")
    if e is not None:
        return ", ".join(f"{k} {v}" for k, v in e.items()) or "0"
    return str(j["errors"])

print("# callpush benchmark: push pool vs h2load\n")
print(f"- code: {os.environ['COMMIT']}")
print(f"- binaries built (callpush-push-load / callpush-sandbox): {os.environ['BUILT']}")
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
print(f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}")
print(f"- load average (1/5/15 min) at start -> end: {os.environ['LOADAVG']}")
print(f"- {os.environ['H2LOAD_VERSION']}, `-t 1`; callpush-sandbox (one loop thread, "
      f"--max_deliveries={max_deliveries}) on the same machine")
print(f"- runs: {duration}s measured after {warmup}s warm-up; {repeat} h2load/pool "
      f"pair(s) per row (order alternating), medians; latency run at {fraction:.0%} "
      f"of the pool's median peak; "
      + (f"RSS run at {rss_rate:.0f}/s" if rss_rate else "no RSS run (RSS_RATE=0)"))
print()
print("Throughput, closed loop (C connections × S streams in flight):\n")
print("| C | S | h2load req/s (runs) | pool req/s (runs) | **pool / h2load** "
      "| CPU µs/req: h2load / pool | sandbox CPU µs/req: under h2load / under pool "
      "| pool p50 / p99 ms at peak | h2load p50 / p99 ms at peak (logged run) "
      "| errors: h2load; pool |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for c, s in rows:
    tag = f"c{c}-s{s}"
    h = [load(f"h2load-{tag}-{r}") for r in range(1, repeat + 1)]
    hl = load(f"h2load-{tag}-latency")
    p = [load(f"pool-{tag}-{r}") for r in range(1, repeat + 1)]
    hr, pr = med([x["rate"] for x in h]), med([x["rate"] for x in p])
    runs = lambda xs: ", ".join(f"{x['rate']:.0f}" for x in xs)
    print(f"| {c} | {s} | {hr:.0f} ({runs(h)}) | {pr:.0f} ({runs(p)}) "
          f"| **{100 * pr / hr:.0f}%** "
          f"| {med([x['client_cpu_us_per_request'] for x in h]):.1f} / "
          f"{med([x['client_cpu_us_per_request'] for x in p]):.1f} "
          f"| {med([x['sandbox_cpu_us_per_request'] for x in h]):.1f} / "
          f"{med([x['sandbox_cpu_us_per_request'] for x in p]):.1f} "
          f"| {med([x['latency_ms']['p50'] for x in p]):.2f} / "
          f"{med([x['latency_ms']['p99'] for x in p]):.2f} "
          f"| {hl['latency_ms']['p50']:.2f} / {hl['latency_ms']['p99']:.2f} ({hl['rate']:.0f}/s) "
          f"| {'; '.join(errs(x) for x in h)}; {'; '.join(errs(x) for x in p)} |")
print()
print(f"Latency (open loop at {fraction:.0%} of the pool's peak) and client memory "
      f"(open loop at RSS_RATE = {rss_rate:.0f}/s, at most C × S outstanding; '-': "
      "no such run):\n")
print(f"| C | S | target /s | achieved /s | p50 ms | p90 ms | **p99 ms** | p99.9 ms "
      "| p99 ms from send | client CPU µs/req | client VmHWM MiB "
      f"| {'at %.0f/s' % rss_rate if rss_rate else 'RSS run'}: achieved /s "
      "| **client VmHWM MiB** | errors |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for c, s in rows:
    tag = f"c{c}-s{s}"
    a = load(f"latency-{tag}")
    short = " (overloaded)" if a["rate"] < 0.97 * a["target_rate"] else ""
    l = a["latency_ms"]
    if rss_rate:
        m = load(f"rss-{tag}")
        mshort = " (max reached)" if m["rate"] < 0.97 * m["target_rate"] else ""
        rss = f"{m['rate']:.0f}{mshort} | **{m['vmhwm_kb'] / 1024:.1f}** | {errs(a)}; {errs(m)}"
    else:
        rss = f"- | - | {errs(a)}"
    print(f"| {c} | {s} | {a['target_rate']:.0f} | {a['rate']:.0f}{short} "
          f"| {l['p50']:.2f} | {l['p90']:.2f} | **{l['p99']:.2f}** | {l['p99.9']:.2f} "
          f"| {a['service_latency_ms']['p99']:.2f} | {a['client_cpu_us_per_request']:.1f} "
          f"| {a['vmhwm_kb'] / 1024:.1f} | {rss} |")
print()
print("pool / h2load = median pool rate / median h2load rate, same C and S, same "
      "sandbox, same request bytes (path, headers, JWT, body). CPU is utime + stime "
      "over the measured window (getrusage for the pool's process, /proc/PID/stat "
      "for h2load and the sandbox). Open-loop latency counts from each push's "
      "scheduled send time; 'from send' leaves out any wait for a free slot. "
      "'max reached': the machine could not sustain the RSS rate; the run then "
      "kept C × S pushes outstanding at the highest rate it could reach. h2load's "
      "latency comes from one more run with --log-file (a write per request, which "
      "slows h2load, so that run's rate is not the one compared).")
PY
cp "$work/report.md" "$out"
cat "$out"
log "wrote $out"

# The figures run.sh reads (bench_summary.py).
PYTHONPATH="$repo/tests/bench" python3 - "$work" "$repeat" "$duration" "$warmup" \
  "$load_fraction" "${rows[@]}" <<'PY'
import json, os, sys
import bench_summary as bs

work, repeat, duration, warmup, fraction = sys.argv[1:6]
rows = [tuple(int(x) for x in r.split(":")) for r in sys.argv[6:]]
load = lambda name: json.load(open(os.path.join(work, name + ".json")))
runs = []
one_s = len({s for _, s in rows}) == 1
for c, s in rows:
    tag = f"c{c}-s{s}"
    suffix = f"{c}conn" if one_s else f"{c}conn_{s}streams"
    pool = [("peak", f"pool-{tag}-{r}") for r in range(1, int(repeat) + 1)]
    for kind, name in pool + [("paced", f"latency-{tag}")]:
        j = load(name)
        sandbox_kb = int(open(os.path.join(work, name + ".sandbox-hwm")).read())
        runs.append(bs.run(
            "push_" + suffix, kind, j["rate"], target_rate=j["target_rate"] or None,
            requests=j["requests"], errors=j["errors"], latency_ms=j["latency_ms"],
            curve=j["latency_curve_ms"],
            cpu_s_per_1k=bs.per_1k({"push_load": j["client_cpu_us_per_request"],
                                    "sandbox": j["sandbox_cpu_us_per_request"]}),
            rss_mib=bs.mib({"push_load": j["vmhwm_kb"], "sandbox": sandbox_kb})))
    # h2load: the rate from the unlogged runs, the latency from the logged one.
    lat = load(f"h2load-{tag}-latency")
    for r in range(1, int(repeat) + 1):
        j = load(f"h2load-{tag}-{r}")
        runs.append(bs.run(
            "h2load_" + suffix, "peak", j["rate"], requests=j["requests"], errors=j["errors"],
            latency_ms=lat["latency_ms"], curve=lat["latency_curve_ms"],
            cpu_s_per_1k=bs.per_1k({"h2load": j["client_cpu_us_per_request"],
                                    "sandbox": j["sandbox_cpu_us_per_request"]}),
            rss_mib=bs.mib({"h2load": j["client_vmhwm_kb"], "sandbox": j["sandbox_vmhwm_kb"]})))
bs.write(work, "push", {"connections": [c for c, _ in rows], "streams": sorted({s for _, s in rows}),
                        "repeat": int(repeat), "duration_s": float(duration),
                        "warmup_s": float(warmup), "load_fraction": float(fraction)}, runs)
PY
