#!/usr/bin/env bash
# Sanitizer builds (issue 7 item 4): the unit and integration tests under
# ASan+UBSan, and the tests of the HTTP/2 push pool, the server and the
# gateway under TSan, each in its own build directory with GCC's sanitizers
# (cmake/Sanitizers.cmake). A finding fails the run.
#
#   tests/sanitize/run.sh [asan|tsan|all] [ctest args...]    default: all
# Environment: BUILD_DIR_ASAN (default ./build-asan), BUILD_DIR_TSAN (default
# ./build-tsan), JOBS (default: nproc).
#
# Child processes the tests start (callpush-server, callpush-sandbox,
# callpush-gateway, callpushctl) are sanitized too and inherit the options
# below. Every ASan, LSan and TSan report goes to a file under
# <build>/sanitizer-reports (log_path), as the tests kill some children with
# SIGKILL and read only their stdout; UBSan (which ignores log_path when
# linked with ASan) aborts the process and prints to stderr, which ctest
# keeps in LastTest.log. After ctest, any report file or sanitizer summary
# in that log fails the stage and is printed, whatever ctest said.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/sanitize"
jobs=${JOBS:-$(nproc)}
stage_arg=${1:-all}
if [[ $# -gt 0 ]]; then shift; fi
case "$stage_arg" in
  asan) stages=(asan) ;;
  tsan) stages=(tsan) ;;
  all) stages=(asan tsan) ;;
  *) echo "usage: $0 [asan|tsan|all] [ctest args...]" >&2; exit 2 ;;
esac

"$repo/deploy/install-deps.sh"

launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$repo"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
            -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

# If ctest is interrupted its cleanup fixture may not run: remove the test
# Postgres of each stage here too (only the ones this run started).
pg_env_files=()
cleanup() {
  for f in "${pg_env_files[@]}"; do
    "$repo/tests/pg/fixture.sh" cleanup "$f" || true
  done
}
trap cleanup EXIT

summary=()
failed=0
build=""
reports=""

# ctest for one group of tests, with the sanitizer options (plus $2 for
# TSAN_OPTIONS); then every report file under $reports fails the group.
run_ctest() {
  local group=$1 extra_tsan=$2
  shift 2
  local rc=0
  rm -rf "$reports"
  mkdir -p "$reports"
  echo "=== sanitize $group: ctest $*"
  (
    cd "$build"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$reports/asan"
    export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$reports/ubsan"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$here/tsan.supp:log_path=$reports/tsan$extra_tsan"
    ctest --output-on-failure --no-label-summary --timeout 300 -j "$jobs" \
      --test-output-size-passed 100000000 --test-output-size-failed 100000000 \
      "$@"
  ) || rc=$?
  local files
  files=$(find "$reports" -type f | sort)
  if [[ -n "$files" ]]; then
    echo "=== sanitize $group: $(echo "$files" | wc -l) sanitizer report file(s):"
    while IFS= read -r f; do
      echo "--- $f"
      cat "$f"
    done <<<"$files"
    rc=1
  fi
  # UBSan linked with ASan ignores log_path and writes to stderr; a child's
  # stderr is the test's, which ctest keeps in LastTest.log, passed or not.
  local log="$build/Testing/Temporary/LastTest.log"
  if [[ -f "$log" ]] &&
     grep -qE 'SUMMARY: [A-Za-z]+Sanitizer|: runtime error: ' "$log"; then
    echo "=== sanitize $group: sanitizer output in the tests' output:"
    grep -nE -B2 -A12 'SUMMARY: [A-Za-z]+Sanitizer|: runtime error: ' "$log"
    rc=1
  fi
  return "$rc"
}

run_stage() {
  local stage=$1
  shift
  local sanitize targets
  case "$stage" in
    asan)
      build=${BUILD_DIR_ASAN:-$repo/build-asan}
      sanitize="address,undefined"
      # Every unit and integration test executable; integration_tests
      # depends on the binaries it runs (server, sandbox, gateway, ctl).
      targets=(unit_tests push_provider_tests gateway_tests http2_tests
               sandbox_tests integration_tests sanitize_canary)
      ;;
    tsan)
      build=${BUILD_DIR_TSAN:-$repo/build-tsan}
      sanitize="thread"
      targets=(http2_tests sandbox_tests gateway_tests integration_tests
               sanitize_canary)
      ;;
  esac
  reports="$build/sanitizer-reports"
  pg_env_files+=("$build/tests/test-pg.env")

  echo "=== sanitize $stage: configure + build ($build, -fsanitize=$sanitize)"
  local t0=$SECONDS
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCALLPUSH_WERROR=ON -DCALLPUSH_SANITIZE="$sanitize" "${launcher[@]}" \
    >/dev/null
  local build_targets=()
  for t in "${targets[@]}"; do build_targets+=(--target "$t"); done
  cmake --build "$build" -j "$jobs" "${build_targets[@]}"
  local build_secs=$((SECONDS - t0))

  local t1=$SECONDS rc=0
  case "$stage" in
    asan)
      # deploy.* carry the unit label but test no C++ (manifests, the
      # Dockerfile's library list, which a sanitized binary would not match).
      run_ctest asan "" -L '^(unit|integration)$' -E '^deploy\.' "$@" || rc=$?
      ;;
    tsan)
      # The HTTP/2 pool: http2.* (against nghttpd) and sandbox.* (the pool
      # against callpush-sandbox with faults, malformed peers, the sandbox
      # itself). No gRPC there: TSan checks everything it can see. With
      # them sanitize.canary: TSan must see a race made on purpose, and no
      # race in accesses abseil orders.
      run_ctest tsan-pool "" -R '^(http2|sandbox|sanitize)\.' "$@" || rc=$?
      # The server and the gateway on gRPC: integration.* (in process and
      # callpush-server as a process) and gateway.*. Debian's gRPC is not
      # instrumented: ignore_noninstrumented_modules=1 keeps TSan from
      # checking the memory libc calls (free, memcpy) made inside gRPC,
      # protobuf or libpq, as it does not check their own loads and stores;
      # tsan.supp names gRPC's remaining inline hand-offs.
      run_ctest tsan-server ":ignore_noninstrumented_modules=1" \
        -R '^(gateway|integration)\.|^pg\.' "$@" || rc=$?
      ;;
  esac
  local test_secs=$((SECONDS - t1))
  local verdict=passed
  if ((rc != 0)); then verdict=FAILED; failed=1; fi
  summary+=("$stage: $verdict (build ${build_secs}s, tests ${test_secs}s)")
}

for stage in "${stages[@]}"; do run_stage "$stage" "$@"; done

echo "=== sanitize summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
