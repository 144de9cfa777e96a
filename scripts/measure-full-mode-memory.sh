#!/usr/bin/env bash
# Refresh book/_data/full-mode-memory.json: every lesson in FULL mode, on synthetic real-size inputs, under Binder's 2 GiB cap (~12 min).
set -euo pipefail; cd "$(dirname "$0")/.."; bash scripts/setup-env.sh
exec .venv/bin/python scripts/measure_full_mode_memory.py "$@"
