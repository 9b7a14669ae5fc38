#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the build and the tests
# need, builds everything with warnings as errors, and runs every test with
# ctest. Integration tests get a real Postgres 15 that ctest's `pg` fixture
# starts (tests/pg/fixture.sh) and removes; nothing is skipped.
#
#   tests/run.sh [ctest args...]      e.g. tests/run.sh -L unit
# Environment: BUILD_DIR (default ./build), JOBS (default: nproc).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-$(nproc)}

# The build the container image makes too (deploy/Dockerfile).
BUILD_DIR="$build" JOBS="$jobs" "$repo/deploy/build.sh"

# If ctest is interrupted, its cleanup fixture may not run: remove the test
# Postgres here too (only the one this run started, by its env file).
cleanup() { "$repo/tests/pg/fixture.sh" cleanup "$build/tests/test-pg.env" || true; }
trap cleanup EXIT

cd "$build"
ctest --output-on-failure --no-label-summary --timeout 300 -j "$jobs" "$@"
