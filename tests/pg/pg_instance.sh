#!/usr/bin/env bash
# Runs a throw-away Postgres 15 for tests and benchmarks, as a non-root user,
# listening on 127.0.0.1 at a free port. Everything lives under DIR.
#
#   pg_instance.sh start DIR   initdb (first time) and start; prints the URL
#   pg_instance.sh stop DIR    fast shutdown (DIR is kept: start again reuses
#                              the data and the port)
#   pg_instance.sh destroy DIR stop and remove DIR
#   pg_instance.sh url DIR     prints the URL
# PG_PORT fixes the port at initdb time (default: a free one, kept in DIR).
set -euo pipefail

cmd=${1:?usage: pg_instance.sh start|stop|destroy|url DIR}
dir=${2:?usage: pg_instance.sh start|stop|destroy|url DIR}
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[[ -x "$bindir/pg_ctl" ]] || { echo "pg_instance: no Postgres server found (deploy/install-deps.sh installs it)" >&2; exit 1; }

# initdb refuses to run as root: use the postgres account then.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"; }

case "$cmd" in
  start)
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      mkdir -p "$dir"
      chmod 755 "$dir"
      [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
      if [[ -n "${PG_PORT:-}" ]]; then echo "$PG_PORT" >"$dir/port"; else free_port >"$dir/port"; fi
      cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $(cat "$dir/port")
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
# Test data is disposable: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    url
    ;;
  stop)
    [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    exit 0
    ;;
  destroy)
    [[ -f "$dir/data/postmaster.pid" ]] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  url) url ;;
  *) echo "pg_instance: unknown command $cmd" >&2; exit 2 ;;
esac
