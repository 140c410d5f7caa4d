#!/usr/bin/env bash
# Runs the whole test suite with the given interpreter; fails when no test ran.
# Test files run on ZENOPS_TEST_WORKERS processes at once (default 2, pytest-xdist;
# each file stays on one process, so a module's servers and fixtures are shared);
# 1 runs them in this process.
# A PostgreSQL server for the store tests: ZENOPS_TEST_POSTGRES_URL if set, else
# one started here from the installed PostgreSQL binaries (scripts/postgres.sh).
set -euo pipefail
python="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=true DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true

if [ -z "${ZENOPS_TEST_POSTGRES_URL:-}" ]; then
  if url="$(bash "$here/postgres.sh" start)"; then
    export ZENOPS_TEST_POSTGRES_URL="$url"
    trap 'bash "$here/postgres.sh" stop >/dev/null 2>&1 || true' EXIT
  else
    echo "run-tests: no PostgreSQL server available; tests marked 'postgres' will fail" >&2
  fi
fi

workers="${ZENOPS_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" != "1" ]; then
  parallel=(-n "$workers" --dist loadfile)
fi

set +e
"$python" -m pytest "${parallel[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "run-tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
