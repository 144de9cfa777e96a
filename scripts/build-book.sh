#!/usr/bin/env bash
# Build the whole book into _build/html, executing every notebook in sample mode.
# Usage: bash scripts/build-book.sh      (extra arguments go to jupyter-book build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
export HEPML_DATA_MODE=sample
# One thread per kernel, as on Binder (one CPU) and in the test run: with a second thread, OpenMP (xgboost,
# scikit-learn, PyTorch) spins while its partner waits for a core that other work holds (measured here with
# one core busy: lesson 1.2 took 450 s instead of 25, close to the build's 300 s per cell).
for variable in OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_NUM_THREADS VECLIB_MAXIMUM_THREADS; do
  export "$variable=${!variable:-1}"
done
mkdir -p _build

# The samples first, two at a time, a line as each is ready: Jupyter Book gives each cell 300 s
# (_config.yml), which must not include generating a sample (up to about two minutes on one CPU, more
# on a busy machine). Cached samples are only looked up.
.venv/bin/python -m data_fetchers fetch --all --mode sample --jobs 2

echo "build: executing every notebook and building the book (the full log: _build/book-build.log) ..."
set +e
.venv/bin/jupyter-book build . --all -W -n --keep-going "$@" 2>&1 | tee _build/book-build.log
status=${PIPESTATUS[0]}
set -e
echo
if [ "$status" -ne 0 ]; then
  echo "build: FAILED (exit status $status). What went wrong, first:"
  .venv/bin/python scripts/book_build_report.py _build _build/book-build.log || true
  echo
  echo "What was built is in $(pwd)/_build/html: open file://$(pwd)/_build/html/index.html in a browser."
  exit "$status"
fi
echo "The book is in $(pwd)/_build/html: open file://$(pwd)/_build/html/index.html in a browser"
echo "(or serve it: .venv/bin/python -m http.server -d _build/html 8000, then http://localhost:8000)."
