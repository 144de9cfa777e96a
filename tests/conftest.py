"""Fixtures shared by the tests in this folder (the session-wide hooks are in notebook_runner.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


# ---------------------------------------------------------------- shared fixtures
@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-format test files are not available ({SHARED_DATA} is missing)")
    return SHARED_DATA


# Everything the book is built from; the rest (environment, caches, tests) stays out of the copy.
NOT_BOOK_SOURCES = (".git", ".venv", "_build", "__pycache__", ".ipynb_checkpoints", "*.egg-info",
                    "student", "tests", ".pytest_cache", "sbi-logs")


def stage_book_sources(executed: dict[str, Path], staging: Path) -> Path:
    """A copy of the book's sources in which the notebooks executed by this test session replace
    their stripped originals and are excluded from execution, so the book renders the outputs of
    the one execution that nbval checked. Notebooks this session did not run (e.g. with ``-k
    book``) are executed by the build itself, once."""
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(ROOT, staging, ignore=shutil.ignore_patterns(*NOT_BOOK_SOURCES))
    for key, path in executed.items():
        shutil.copyfile(path, staging / key)
    config = yaml.safe_load((staging / "_config.yml").read_text())
    config["execute"]["exclude_patterns"] = sorted(executed)
    (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return staging


@pytest.fixture(scope="session")
def built_book(request) -> Path:
    """Build the book once, with warnings as errors, from this run's executed notebooks (waiting for
    those another worker is still running)."""
    import notebook_runner

    executed = notebook_runner.executed_notebooks(request.session)
    staging = stage_book_sources(executed, ROOT / "_build" / "book-sources")
    log = ROOT / "_build" / "test-artifacts" / "book-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HEPML_DATA_MODE="sample")
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(staging), "--all", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=staging, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"jupyter-book build -W -n --keep-going failed (full log: {log}):\n{tail}")
    return staging / "_build" / "html"
