#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from the Debian binaries under
# /usr/lib/postgresql/*/bin (apt-get install postgresql).
#
#   postgres.sh start   start it; print its SQLAlchemy URL (one line) on stdout
#   postgres.sh stop    stop it and remove its data folder
#
# The server listens on a free loopback port, its unix socket in its own temporary
# folder; fsync is off (the data is thrown away). As root, initdb and pg_ctl run as
# the 'postgres' system user, since PostgreSQL refuses to run as root. The folder
# and port are remembered in a state file (ZENOPS_POSTGRES_STATE, default
# /tmp/zenops-postgres.state). Exit status: 0 when running (or stopped), 1 when
# no PostgreSQL binaries exist or the server does not start.
set -euo pipefail

state="${ZENOPS_POSTGRES_STATE:-/tmp/zenops-postgres.state}"
user=zenops
password=zenops
database=zenops_test

say() { echo "postgres.sh: $*" >&2; }

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ] || [ ! -x "$dir/pg_ctl" ]; then
    return 1
  fi
  echo "$dir"
}

# Runs a command as the user who owns the server: 'postgres' when we are root.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
  fi
}

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

url_for() {
  echo "postgresql+psycopg://$user:$password@127.0.0.1:$1/$database"
}

start() {
  local bin dir port attempt
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    source "$state"
    if [ -n "${ZENOPS_PG_BIN:-}" ] && as_owner "$ZENOPS_PG_BIN/pg_ctl" -D "$ZENOPS_PG_DIR/data" status >/dev/null 2>&1; then
      url_for "$ZENOPS_PG_PORT"
      return 0
    fi
    rm -rf "${ZENOPS_PG_DIR:?}" "$state"
  fi
  if ! bin="$(bindir)"; then
    say "no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    return 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    say "running as root, but there is no 'postgres' user to run the server as"
    return 1
  fi

  dir="$(mktemp -d /tmp/zenops-postgres.XXXXXX)"
  chmod 700 "$dir"
  printf '%s\n' "$password" >"$dir/password"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
  fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/password" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
    say "initdb failed:"; tail -n 20 "$dir/initdb.log" >&2
    rm -rf "$dir"
    return 1
  fi

  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (RANDOM * 7 + attempt * 131) % 40000))
    port_is_free "$port" || continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
      >/dev/null 2>&1; then
      if "$bin/createdb" -h "$dir" -p "$port" -U "$user" "$database" >/dev/null 2>"$dir/createdb.log"; then
        printf 'ZENOPS_PG_BIN=%q\nZENOPS_PG_DIR=%q\nZENOPS_PG_PORT=%q\n' "$bin" "$dir" "$port" >"$state"
        url_for "$port"
        return 0
      fi
      say "createdb failed:"; cat "$dir/createdb.log" >&2
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
      break
    fi
  done
  say "the server did not start:"; tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
  rm -rf "$dir"
  return 1
}

stop() {
  if [ ! -f "$state" ]; then
    return 0
  fi
  # shellcheck disable=SC1090
  source "$state"
  as_owner "$ZENOPS_PG_BIN/pg_ctl" -D "$ZENOPS_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "${ZENOPS_PG_DIR:?}" "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
