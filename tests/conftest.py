"""Fixtures shared by the tests in this folder (the session-wide hooks are in notebook_stats.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


# ---------------------------------------------------------------- shared fixtures
@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-format test files are not available ({SHARED_DATA} is missing)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the book once (executing every notebook) with warnings as errors."""
    log = ROOT / "_build" / "test-artifacts" / "book-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HEPML_DATA_MODE="sample")
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--all", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"jupyter-book build -W -n --keep-going failed (full log: {log}):\n{tail}")
    return ROOT / "_build" / "html"
