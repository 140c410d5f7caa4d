#!/usr/bin/env bash
# Takes the README's screenshots of the Prefect, Evidently and MLflow UIs: runs the end-to-end test of
# unattended operation, whose browser steps save them to docs/screenshots/.
# Needs the test environment (make install-dev) and Debian's chromium.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export ZENOPS_SCREENSHOTS="$here/docs/screenshots"
mkdir -p "$ZENOPS_SCREENSHOTS"
exec bash "$here/scripts/run-tests.sh" "$here/.venv/bin/python" "$here/tests/e2e/test_unattended.py" "$@"
