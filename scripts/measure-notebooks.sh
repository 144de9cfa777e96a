#!/usr/bin/env bash
# Refresh the committed execution statistics (book/_data/execution-stats.json), the one source of
# every time and memory figure the book shows. A Binder-like run: a cold data cache whose samples
# are generated first (timed, as Binder's postBuild does), then every notebook on ONE CPU under a
# hard 2 GiB memory cap (when run as root; otherwise it says why the cap is not applied).
# Usage: bash scripts/measure-notebooks.sh      (takes about 10 minutes; commit the result)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
exec .venv/bin/python scripts/measure_notebooks.py "$@"
