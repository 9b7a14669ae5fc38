#!/usr/bin/env bash
# The one build of callpush: installs the Debian packages it needs
# (deploy/install-deps.sh), configures with CMake + Ninja, warnings as errors,
# and builds. CI (tests/run.sh) and the container image (deploy/Dockerfile)
# both run it, so the image's binaries come out of the build CI tests.
#
#   deploy/build.sh [target...]      default: every target (tests included)
#
# Environment:
#   BUILD_DIR      build directory (default ./build)
#   BUILD_TYPE     CMAKE_BUILD_TYPE (default RelWithDebInfo; the image: Release)
#   BUILD_TESTING  ON or OFF (default ON; OFF builds no test, needs no gtest)
#   JOBS           parallel build jobs (default nproc)
#   DEBUG_INFO     full (default) or lines (-g1: stacks keep file and line,
#                  compiling takes 30% less; tests/run.sh's choice)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
testing=${BUILD_TESTING:-ON}
jobs=${JOBS:-$(nproc)}
debug_info=${DEBUG_INFO:-full}

"$repo/deploy/install-deps.sh"

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DBUILD_TESTING="$testing" -DCALLPUSH_WERROR=ON \
  -DCALLPUSH_DEBUG_INFO="$debug_info" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
