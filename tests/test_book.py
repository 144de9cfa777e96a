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


# ------------------------------------------------------------------ text outputs on the pages
def _stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


def test_a_progress_bar_becomes_its_final_line_and_empty_streams_vanish():
    from bookkit.sphinx_outputs import terminal_streams, terminal_text

    bar = [_stream("stderr", "\rchunks:   0%|          | 0/14"), _stream("stderr", "\rchunks:  43%|####      | 6/14"),
           _stream("stdout", "cut flow\n"), _stream("stderr", "\rchunks: 100%|##########| 14/14"),
           _stream("stderr", "\n"), {"output_type": "display_data", "data": {"text/plain": "x"}},
           _stream("stdout", "done\n")]
    out = terminal_streams(bar)
    assert [o["output_type"] for o in out] == ["stream", "stream", "display_data"]
    assert out[0]["text"] == "chunks: 100%|##########| 14/14\n"  # one line, the last state
    assert out[1]["text"] == "cut flow\ndone\n"
    assert terminal_streams([_stream("stdout", "\n"), _stream("stderr", "\r")]) == []  # no empty boxes
    assert terminal_text("ab\x08c\n") == "ac\n"
    assert terminal_text("two\nlines\n") == "two\nlines\n"  # ordinary text is left alone


def test_the_progress_bar_extension_replaces_what_myst_nb_calls():
    """bookkit.sphinx_outputs swaps myst-nb's stream merging; a myst-nb that moves it must fail here."""
    import myst_nb.core.render as render
    import yaml

    from bookkit import sphinx_outputs

    assert hasattr(render, "coalesce_streams"), "myst-nb moved coalesce_streams: adapt bookkit/sphinx_outputs.py"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert "bookkit.sphinx_outputs" in config["extra_extensions"] and config["config"]["nb_merge_streams"] is True
    saved = render.coalesce_streams
    try:
        sphinx_outputs.setup(type("App", (), {})())
        assert render.coalesce_streams is sphinx_outputs.terminal_streams
    finally:
        render.coalesce_streams = saved


def test_pages_show_no_intermediate_progress_state(built_book):
    """On every lesson page a progress bar is one line, its last state: within an output block no
    bar's description appears twice (a bar stopped early, as an early-stopped training, stays n/N)."""
    import html
    import re
    from collections import Counter

    for page in sorted((built_book / "notebooks").rglob("*.html")):
        for block in re.findall(r"<pre>(.*?)</pre>", page.read_text(), re.S):
            text = html.unescape(re.sub(r"<[^>]+>", "", block))
            bars = Counter(m.group(1) for m in re.finditer(r"^(.*?):\s+\d+%\|", text, re.M))
            repeated = [desc for desc, n in bars.items() if n > 1]
            assert not repeated, f"{page.name} shows several states of the progress bars {repeated}"


def test_every_lesson_figure_has_its_numbered_caption_and_anchor(built_book):
    """Each figure a lesson names (cell metadata mystnb.figure) appears on its page as 'Fig. N' with
    its caption, and its name is an anchor that a {numref} or a link can point to."""
    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        figures = [c.metadata["mystnb"]["figure"] for c in nbformat.read(path, as_version=4).cells
                   if "figure" in c.metadata.get("mystnb", {})]
        html = (built_book / "notebooks" / path.parent.name / f"{path.stem}.html").read_text()
        assert html.count('<span class="caption-number">Fig. ') == len(figures), (
            f"{path.name}: {html.count('caption-number')} numbered captions on the page, {len(figures)} figures named")
        for figure in figures:
            assert f'href="#{figure["name"]}"' in html, f"{path.name}: no anchor {figure['name']}"
