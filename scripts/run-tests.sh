#!/usr/bin/env bash
# Run the full test suite: data-layer unit and fault tests, every notebook with nbval
# (timing and peak memory recorded), the lesson lint, the book build with warnings as
# errors, and a headless-Chromium smoke test of the built site.
# Usage: bash scripts/run-tests.sh        (extra arguments go to pytest, e.g. -k fetch)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh

# What is already changed before the tests (a developer's uncommitted work) is not the tests' doing.
before_changes=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t before_changes < <(git status --porcelain --untracked-files=all)
fi

# The browser test needs Debian's chromium and chromium-driver. Install them where this
# machine lets us install system packages (root with apt, as on CI), beside the tests: the browser
# test, which runs last, waits for the installation; otherwise it is skipped with a one-line reason.
installing=""
if ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tests: installing chromium and chromium-driver with apt-get beside the tests (log: /tmp/hepml-apt.log) ..."
    export HEPML_BROWSER_INSTALL_DONE=/tmp/hepml-apt.done
    rm -f "$HEPML_BROWSER_INSTALL_DONE"
    ( (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
        >/tmp/hepml-apt.log 2>&1 || echo "apt-get could not install chromium and chromium-driver" >>/tmp/hepml-apt.log
      touch "$HEPML_BROWSER_INSTALL_DONE" ) &
    installing=$!
  else
    echo "tests: chromium-driver is not installed and this user cannot install system packages; the browser test will be skipped."
  fi
fi

export HEPML_DATA_MODE=sample
# One pytest-xdist worker per CPU (at most one per 4 GiB of memory: each kernel may use Binder's 2 GiB
# beside its worker): notebooks, and the tests that share a costly fixture, run as whole groups on one
# worker (tests/notebook_runner.py); HEPML_TEST_WORKERS overrides the number (1: one at a time).
workers=${HEPML_TEST_WORKERS:-$(.venv/bin/python -c 'import os, psutil; print(max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(), psutil.virtual_memory().total // 2**32)))')}
echo "tests: $workers pytest-xdist workers (HEPML_TEST_WORKERS to change)"
status=0
.venv/bin/python -m pytest -n "$workers" --durations=20 "$@" || status=$?
[ -z "$installing" ] || wait "$installing"

# A test run leaves the working tree as it found it: everything it writes goes to _build/
# (and the data cache), never to a tracked or an unignored file.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  changed=$(git status --porcelain --untracked-files=all | grep -v -F -x -f <(printf '%s\n' "${before_changes[@]}") || true)
  if [ -n "$changed" ]; then
    echo "tests: the test run changed the working tree (it must write only under _build/):" >&2
    echo "$changed" >&2
    [ "$status" -ne 0 ] || status=1
  fi
fi
exit "$status"
