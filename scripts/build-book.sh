#!/usr/bin/env bash
# Build the whole book into _build/html, executing every notebook in sample mode.
# Usage: bash scripts/build-book.sh      (extra arguments go to jupyter-book build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
export HEPML_DATA_MODE=sample
.venv/bin/jupyter-book build . --all -W -n --keep-going "$@"
echo
echo "The book is in $(pwd)/_build/html: open file://$(pwd)/_build/html/index.html in a browser"
echo "(or serve it: .venv/bin/python -m http.server -d _build/html 8000, then http://localhost:8000)."
