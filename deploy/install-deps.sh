#!/usr/bin/env bash
# Installs every Debian 12 package that callpush needs to build, test and run.
# Idempotent and non-interactive; README, .ci/run and the Dockerfile call it.
#   deploy/install-deps.sh          build + test + run packages
#   deploy/install-deps.sh --runtime   only the shared libraries the binaries need
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libpqxx-dev libpq-dev libphonenumber-dev libssl-dev
  libnghttp2-dev libboost-dev libboost-system-dev nlohmann-json3-dev openssl
  nghttp2-client nghttp2-server wrk curl gnuplot-nox
  golang-github-gogo-googleapis-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format
  postgresql-15 postgresql-contrib python3 python3-yaml python3-grpcio
  pgbouncer
  kamailio kamailio-utils-modules kamailio-extra-modules sip-tester
  clang libclang-rt-14-dev
)
RUNTIME_PACKAGES=(
  ca-certificates libgrpc++1.51 libprotobuf32 libabsl20220623 libpqxx-6.4
  libphonenumber8 libssl3 libnghttp2-14
)

packages=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--runtime" ]]; then packages=("${RUNTIME_PACKAGES[@]}"); fi
# kubectl renders deploy/k8s in the tests (tests/deploy): Debian's
# kubernetes-client, unless some kubectl is on PATH already.
if [[ "${1:-}" != "--runtime" ]] && ! command -v kubectl >/dev/null; then
  packages+=(kubernetes-client)
fi
# promtool checks and unit-tests deploy/monitoring/alerts.yaml (tests/deploy):
# Debian's prometheus, unless some promtool is on PATH already.
if [[ "${1:-}" != "--runtime" ]] && ! command -v promtool >/dev/null; then
  packages+=(prometheus)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Only the programs are wanted (promtool; Kamailio, which tests/e2e/sip
# starts on its own ports): stop the daemons the packages may have started.
for service in prometheus kamailio; do
  [[ " ${missing[*]} " == *" $service "* ]] || continue
  if [[ -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now "$service.service" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/$service ]]; then
    $SUDO "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
done
echo "install-deps: done"
