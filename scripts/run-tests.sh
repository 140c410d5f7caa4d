#!/usr/bin/env bash
# Runs the whole test suite with the given interpreter; fails when no test ran.
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

set +e
"$python" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "run-tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
