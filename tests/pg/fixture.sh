#!/usr/bin/env bash
# CTest fixture: starts the Postgres that integration tests share (setup) or
# removes it (cleanup). The URL goes to ENV_FILE for the tests to read.
#   fixture.sh setup ENV_FILE | fixture.sh cleanup ENV_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
env_file=${2:?usage: fixture.sh setup|cleanup ENV_FILE}
case "$1" in
  setup)
    if [[ -f "$env_file" ]]; then "$here/pg_instance.sh" destroy "$(sed -n 's/^PGDIR=//p' "$env_file")" || true; fi
    dir=$(mktemp -d /tmp/callpush-test-pg.XXXXXX)
    url=$("$here/pg_instance.sh" start "$dir")
    printf 'PGDIR=%s\nURL=%s\n' "$dir" "$url" >"$env_file"
    echo "test Postgres at $url ($dir)"
    ;;
  cleanup)
    [[ -f "$env_file" ]] || exit 0
    "$here/pg_instance.sh" destroy "$(sed -n 's/^PGDIR=//p' "$env_file")"
    rm -f "$env_file"
    ;;
esac
