"""The book builds with warnings as errors, every notebook executed, and shows what it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def test_book_builds_with_warnings_as_errors(built_book):
    assert (built_book / "index.html").exists()
    lesson = built_book / "notebooks" / "00-getting-started" / "01-root-to-histogram.html"
    html = lesson.read_text()
    assert "Self-check passed" in html, "the lesson's self-check output is missing: was it executed?"
    assert html.count("<img") >= 3, "the lesson's figures are missing"
    assert "mybinder.org" in html, "the Binder launch button is missing"


def test_data_page_is_generated_from_the_registry(built_book):
    import data_fetchers
    html = (built_book / "book" / "data.html").read_text()
    for ds in data_fetchers.DATASETS.values():
        assert ds.name in html and ds.record_url in html


def test_execution_statistics_page_shows_every_measured_notebook(built_book):
    stats_file = ROOT / "book" / "_data" / "execution-stats.json"
    html = (built_book / "book" / "execution-stats.html").read_text()
    assert stats_file.exists(), "no execution statistics recorded: the notebooks were not run by this test session"
    for name in json.loads(stats_file.read_text())["notebooks"]:
        assert name in html


def test_a_failing_cell_fails_the_notebook_run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise RuntimeError('this cell fails')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), "-c", "/dev/null", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "1 failed, 1 passed" in proc.stdout
