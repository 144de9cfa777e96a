#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install everything the
# book and the tests need, from requirements.txt (exact pins) and the project itself.
# Re-running is cheap: nothing is reinstalled unless requirements.txt or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HEPML_VENV:-.venv}
PYTHON=${PYTHON:-python3.11}

if ! command -v "$PYTHON" >/dev/null; then
  echo "setup: $PYTHON was not found; install Python 3.11 (or set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11, 4))'; then
  echo "setup: $("$PYTHON" --version 2>&1) is too old: the book needs Python 3.11.4 or later 3.11 (safe archive unpacking); install it or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

stamp="$VENV/.hepml-installed"
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $VENV is up to date."
  exit 0
fi

# torch first, as the CPU build when there is no NVIDIA GPU: otherwise pip would pull
# several GB of CUDA wheels. A CPU wheel on the local find-links (as on CI) is used as is;
# elsewhere the PyTorch CPU index is used.
torch_pin=$(grep -E '^torch==' requirements.txt)
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if "${PIP[@]}" install -q --no-index --no-deps "$torch_pin" 2>/dev/null; then
    echo "setup: installed $torch_pin from the local wheel directory."
  elif command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    "${PIP[@]}" install -q "$torch_pin"          # a GPU machine: the CUDA build is wanted
  else
    "${PIP[@]}" install -q --no-deps "$torch_pin" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
"${PIP[@]}" install -q -r requirements.txt
"${PIP[@]}" install -q --no-deps -e .

if ! (command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1); then
  if "${PIP[@]}" list 2>/dev/null | grep -q -E '^nvidia-'; then
    echo "setup: CUDA wheels (nvidia-*) were installed on a machine without a GPU; remove $VENV and report this." >&2
    exit 1
  fi
fi
echo "$want" > "$stamp"
echo "setup: $VENV is ready ($("$VENV/bin/python" --version))."
