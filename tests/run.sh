#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the build and the tests
# need, builds everything with warnings as errors, and runs every test with
# ctest. Integration tests get a real Postgres 15 that ctest's `pg` fixture
# starts (tests/pg/fixture.sh) and removes; nothing is skipped.
#
#   tests/run.sh                      everything, as CI runs it
#   tests/run.sh [ctest args...]      the main build's ctest only, e.g.
#                                     tests/run.sh -L unit
#
# Without ctest arguments two stages run before the main ctest (which comes
# last, so that its summary line ends the output):
#   sanitizers  tests/sanitize/run.sh: the unit and integration tests built
#               with ASan+UBSan, and the push pool's and the server's with
#               TSan, each in a build directory of its own
#   fuzzing     tests/fuzz/run.sh FUZZ_SECONDS: each libFuzzer target from
#               its seed corpus for that long
# Environment: BUILD_DIR (default ./build), JOBS (default: nproc),
# DEBUG_INFO (default lines: -g1; full: -g);
# SANITIZE=0|1 and FUZZ_SECONDS=N (0: no fuzzing) turn the stages off or on
# whatever the arguments (defaults: 1 and 20 without ctest arguments, 0 and
# 0 with them).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-$(nproc)}
if [[ $# -eq 0 ]]; then
  sanitize=${SANITIZE:-1}
  fuzz_seconds=${FUZZ_SECONDS:-20}
else
  sanitize=${SANITIZE:-0}
  fuzz_seconds=${FUZZ_SECONDS:-0}
fi

stage_lines=()
failed_stages=()
# stage NAME COMMAND...: runs it, keeps going if it fails (the main ctest
# still runs), and remembers its verdict and time.
stage() {
  local name=$1 t0=$SECONDS rc=0
  shift
  echo "=== stage $name: $*"
  "$@" || rc=$?
  local verdict=passed
  if ((rc != 0)); then verdict="FAILED (exit $rc)"; failed_stages+=("$name"); fi
  stage_lines+=("$name: $verdict in $((SECONDS - t0)) s")
}

# The build the container image makes too (deploy/Dockerfile), with line
# tables only for debug information (DEBUG_INFO=full for all of it).
stage build env BUILD_DIR="$build" JOBS="$jobs" \
  DEBUG_INFO="${DEBUG_INFO:-lines}" "$repo/deploy/build.sh"
if [[ ${#failed_stages[@]} -gt 0 ]]; then exit 1; fi

if [[ "$sanitize" == 1 ]]; then
  stage sanitizers env JOBS="$jobs" "$repo/tests/sanitize/run.sh" all
fi
if [[ "$fuzz_seconds" != 0 ]]; then
  stage fuzzing env JOBS="$jobs" "$repo/tests/fuzz/run.sh" "$fuzz_seconds"
fi

echo "=== stages before the main ctest:"
printf '  %s\n' "${stage_lines[@]}"

# If ctest is interrupted, its cleanup fixture may not run: remove the test
# Postgres here too (only the one this run started, by its env file).
cleanup() { "$repo/tests/pg/fixture.sh" cleanup "$build/tests/test-pg.env" || true; }
trap cleanup EXIT

rc=0
(cd "$build" &&
  ctest --output-on-failure --no-label-summary --timeout 300 -j "$jobs" "$@") ||
  rc=$?
if [[ ${#failed_stages[@]} -gt 0 ]]; then
  echo "tests/run.sh: stage(s) failed: ${failed_stages[*]} (see '=== stage' above)" >&2
  rc=1
fi
exit "$rc"
