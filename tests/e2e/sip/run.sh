#!/usr/bin/env bash
# SIP end to end (issue 6): Postgres, callpush-server with the push sandbox,
# Kamailio with deploy/kamailio/kamailio.cfg and SIPp (caller, devices, PSTN
# gateway), all on loopback; seven call cases (sip_e2e.py). Ends with the
# line `N passed, M failed`; exit 0 only when every case passed.
#
#   tests/e2e/sip/run.sh [-k CASE] [--keep]
# Environment: BUILD_DIR (default ./build). Postgres: ctest's (the `pg`
# fixture's CALLPUSH_TEST_PG_ENV) or CALLPUSH_TEST_DATABASE_URL; without
# either it starts its own under /tmp and removes it afterwards.
# Packages: deploy/install-deps.sh (kamailio, kamailio-utils-modules,
# kamailio-extra-modules, sip-tester).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
export CALLPUSH_BINARY_DIR=${CALLPUSH_BINARY_DIR:-${BUILD_DIR:-$repo/build}}
export CALLPUSH_SOURCE_DIR=$repo
export PYTHONDONTWRITEBYTECODE=1

for tool in /usr/sbin/kamailio sipp psql; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool not found: run deploy/install-deps.sh" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done
for bin in server/callpush-server tests/sandbox/callpush-sandbox; do
  if [[ ! -x "$CALLPUSH_BINARY_DIR/$bin" ]]; then
    echo "run.sh: $CALLPUSH_BINARY_DIR/$bin not built: run deploy/build.sh" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

if [[ -z "${CALLPUSH_TEST_PG_ENV:-}" && -z "${CALLPUSH_TEST_DATABASE_URL:-}" ]]; then
  pg_dir=$(mktemp -d /tmp/callpush-sip-pg.XXXXXX)
  trap '"$repo/tests/pg/pg_instance.sh" destroy "$pg_dir" >/dev/null 2>&1 || true' EXIT
  CALLPUSH_TEST_DATABASE_URL=$("$repo/tests/pg/pg_instance.sh" start "$pg_dir")
  export CALLPUSH_TEST_DATABASE_URL
fi

python3 "$repo/tests/e2e/sip/sip_e2e.py" "$@"
