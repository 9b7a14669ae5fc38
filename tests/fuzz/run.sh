#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzzer.cc) with clang, ASan and
# UBSan, and runs each for SECONDS (default 30) from a copy of its seed
# corpus (tests/fuzz/corpus/<name>/, with <name>.dict and the libFuzzer
# flags of <name>.options when present). Prints one line per
# target and a total; exits non-zero on any crash, leak, timeout or
# out-of-memory, naming the reproducer (kept in BUILD_DIR/fuzz-artifacts).
#
#   tests/fuzz/run.sh [SECONDS]
# Environment: BUILD_DIR (default ./build-fuzz), JOBS (default nproc),
# FUZZERS (names to run, default all, e.g. "transcoder gateway_http").
#
# Reproduce a finding:  BUILD_DIR/tests/fuzz/<name>_fuzzer <reproducer>
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$repo/build-fuzz}
jobs=${JOBS:-$(nproc)}
seconds=${1:-30}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi

"$repo/deploy/install-deps.sh"

cmake_args=(-G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
  -DCALLPUSH_FUZZ=ON -DBUILD_TESTING=OFF -DCALLPUSH_WERROR=ON
  --no-warn-unused-cli)
if command -v ccache >/dev/null; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
build_start=$SECONDS
cmake -S "$repo" -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j "$jobs" --target fuzzers
echo "fuzz: built in $((SECONDS - build_start)) s"

names=()
if [[ -n "${FUZZERS:-}" ]]; then
  read -r -a names <<<"$FUZZERS"
else
  for f in "$repo"/tests/fuzz/*_fuzzer.cc; do
    n=$(basename "$f" _fuzzer.cc)
    names+=("$n")
  done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/callpush-fuzz.XXXXXX")
# Reproducers outlive the run: one directory per run.
artifacts="$build/fuzz-artifacts/$(date +%Y%m%d-%H%M%S)-$$"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  rmdir "$artifacts"/* "$artifacts" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

total_runs=0
total_crashes=0
failed=()
for name in "${names[@]}"; do
  bin="$build/tests/fuzz/${name}_fuzzer"
  corpus="$work/$name/corpus"
  mkdir -p "$corpus" "$work/$name/tmp" "$artifacts/$name"
  if [[ -d "$repo/tests/fuzz/corpus/$name" ]]; then
    cp -r "$repo/tests/fuzz/corpus/$name/." "$corpus"
  fi
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10
    -print_final_stats=1 -artifact_prefix="$artifacts/$name/")
  if [[ -f "$repo/tests/fuzz/$name.dict" ]]; then
    args+=(-dict="$repo/tests/fuzz/$name.dict")
  fi
  # <name>.options: more libFuzzer flags, one per line, # for comments.
  if [[ -f "$repo/tests/fuzz/$name.options" ]]; then
    while IFS= read -r line; do
      [[ -z "$line" || "$line" == \#* ]] || args+=("$line")
    done <"$repo/tests/fuzz/$name.options"
  fi
  log="$work/$name/log"
  rc=0
  # In the background so that an interrupt can stop it (cleanup); the
  # configuration fuzzers' fixture files go to TMPDIR, inside the work dir.
  TMPDIR="$work/$name/tmp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" "${args[@]}" "$corpus" </dev/null >"$log" 2>&1 &
  pid=$!
  wait "$pid" || rc=$?
  pid=""
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  runs=${runs:-0}
  files=$(find "$corpus" -type f | wc -l)
  found=()
  while IFS= read -r f; do found+=("$f"); done < <(
    find "$artifacts/$name" -type f -regex '.*/\(crash\|leak\|timeout\|oom\)-.*' | sort)
  crashes=${#found[@]}
  if ((rc != 0 && crashes == 0)); then crashes=1; fi
  echo "fuzz $name: $runs runs, $crashes crashes, corpus $files files"
  if ((crashes > 0)); then
    failed+=("$name")
    # The report (sanitizer, FUZZ_CHECK, libFuzzer), then the input.
    grep -E -A30 -m1 'ERROR: (Address|Leak|UndefinedBehavior|libFuzzer)Sanitizer|ERROR: libFuzzer|runtime error:|FUZZ_CHECK failed|ALARM: working on|gateway_http_fuzzer: ' "$log" ||
      tail -30 "$log"
    for f in "${found[@]}"; do
      echo "fuzz $name: reproducer $f (rerun: $bin $f)"
    done
    if ((${#found[@]} == 0)); then
      echo "fuzz $name: exited with status $rc, no reproducer written"
    fi
  fi
  total_runs=$((total_runs + runs))
  total_crashes=$((total_crashes + crashes))
done

echo "fuzz: ${#names[@]} targets, $total_runs runs, $total_crashes crashes"
if ((total_crashes > 0)); then
  echo "fuzz: failing targets: ${failed[*]}" >&2
  exit 1
fi
