#!/usr/bin/env bash
# What breaks when the pins move: resolve requirements.in afresh (the newest releases its constraints
# allow, from the registries this machine reaches) into a throw-away environment under _build/, run the
# test suite there, and print which packages moved and which tests broke (also _build/latest-deps/report.md).
# The pinned .venv and requirements.txt are not touched. Exit status 1 when a test broke.
# Usage: bash scripts/latest-deps.sh [pytest arguments]       (e.g. -k "not browser")
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
exec "$PYTHON" scripts/latest_deps.py "$@"
