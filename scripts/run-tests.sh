#!/usr/bin/env bash
# Run the full test suite: data-layer unit and fault tests, every notebook with nbval
# (timing and peak memory recorded), the lesson lint, the book build with warnings as
# errors, and a headless-Chromium smoke test of the built site.
# Usage: bash scripts/run-tests.sh        (extra arguments go to pytest, e.g. -k fetch)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh

# The browser test needs Debian's chromium and chromium-driver. Install them where this
# machine lets us install system packages (root with apt, as on CI); otherwise the test
# is skipped with a one-line reason.
if ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tests: installing chromium and chromium-driver with apt-get ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
      >/tmp/hepml-apt.log 2>&1 || echo "tests: apt-get could not install chromium (see /tmp/hepml-apt.log); the browser test will be skipped."
  else
    echo "tests: chromium-driver is not installed and this user cannot install system packages; the browser test will be skipped."
  fi
fi

export HEPML_DATA_MODE=sample
exec .venv/bin/python -m pytest "$@"
