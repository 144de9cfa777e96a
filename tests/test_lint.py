"""Lesson structure, stripped outputs, table-of-contents completeness, environment consistency."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from lesson_lint import lint_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PAGES = sorted(p for p in (ROOT / "book").rglob("*.md") if not any(part.startswith("_") for part in p.parts))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(toc.get("parts", toc.get("chapters", [])))
    return found


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_follows_the_lesson_skeleton(notebook):
    assert lint_notebook(notebook) == []


def test_notebook_paths_follow_the_layout():
    for nb in NOTEBOOKS:
        rel = nb.relative_to(ROOT / "notebooks")
        assert re.fullmatch(r"\d\d-[a-z0-9-]+/\d\d-[a-z0-9-]+\.ipynb", rel.as_posix()), rel


def test_every_notebook_and_page_is_in_the_toc_and_every_entry_exists():
    entries = toc_files()
    resolved = set()
    for entry in entries:
        matches = [p for p in (ROOT / f"{entry}.ipynb", ROOT / f"{entry}.md") if p.exists()]
        assert matches, f"_toc.yml lists {entry}, which does not exist"
        resolved.add(matches[0])
    orphans = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS + PAGES if p not in resolved]
    assert orphans == [], f"not in _toc.yml: {orphans}"


# ------------------------------------------------------------ the lint can fail
@pytest.fixture(scope="module")
def good_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS[0], as_version=4)


def _without(nb, predicate):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not predicate(c)]
    return nb


@pytest.mark.parametrize("breakage, expected", [
    (lambda nb: _without(nb, lambda c: "self-check" in c.metadata.get("tags", [])), "tagged 'self-check'"),
    (lambda nb: _without(nb, lambda c: "parameters" in c.metadata.get("tags", [])), "tagged 'parameters'"),
    (lambda nb: _without(nb, lambda c: "## Summary" in c.source), "'## Summary'"),
    (lambda nb: _without(nb, lambda c: "solution" in c.metadata.get("tags", [])), "solution cell"),
])
def test_lint_reports_a_missing_part(good_notebook, tmp_path, breakage, expected):
    path = tmp_path / "broken.ipynb"
    nbformat.write(breakage(good_notebook), path)
    assert any(expected in p for p in lint_notebook(path))


def _hand_type_timing(nb):
    nb = copy.deepcopy(nb)
    nb.cells[0].source = nb.cells[0].source.replace(
        "**Estimated time.**", "**Estimated time.** The notebook executes in about 20 s, peak memory 0.8 GB.")
    return nb


@pytest.mark.parametrize("breakage, expected", [
    (_hand_type_timing, "hand-types execution figures (20 s, 0.8 GB)"),
    (lambda nb: _without(nb, lambda c: "execution_figures(" in c.source), "must render the measured figures"),
])
def test_lint_rejects_hand_typed_figures(good_notebook, tmp_path, breakage, expected):
    path = tmp_path / "notebooks" / NOTEBOOKS[0].parent.name / NOTEBOOKS[0].name
    path.parent.mkdir(parents=True)
    nbformat.write(good_notebook, path)
    assert lint_notebook(path) == []  # the same notebook, copied, passes
    nbformat.write(breakage(good_notebook), path)
    assert any(expected in p for p in lint_notebook(path)), lint_notebook(path)


def test_lint_reports_committed_outputs(good_notebook, tmp_path):
    nb = copy.deepcopy(good_notebook)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    first_code.outputs = [nbformat.v4.new_output("stream", text="hi")]
    path = tmp_path / "outputs.ipynb"
    nbformat.write(nb, path)
    assert any("strip outputs" in p for p in lint_notebook(path))


# ------------------------------------------------------------ environment consistency
def _requirement_lines(path: Path) -> list[str]:
    return [l.split("#")[0].strip() for l in path.read_text().splitlines() if l.split("#")[0].strip()]


def test_requirements_are_exact_pins():
    lines = _requirement_lines(ROOT / "requirements.txt")
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+!\-]+", l) for l in lines), \
        [l for l in lines if "==" not in l]
    pins = dict(l.lower().split("==") for l in lines)
    assert pins["torch"] == "2.13.0"
    assert pins["jupyter-book"].startswith("1.")
    assert not [n for n in pins if n.startswith("nvidia-")], "CUDA wheels must not be pinned"
    # everything asked for in requirements.in is pinned
    wanted = [re.split(r"[<>=!~ ]", l)[0].lower() for l in _requirement_lines(ROOT / "requirements.in")]
    assert [w for w in wanted if w not in pins] == []


def test_binder_installs_requirements_txt_and_nothing_else():
    lines = _requirement_lines(ROOT / "binder" / "requirements.txt")
    packages = [l for l in lines if not l.startswith("-")]
    assert packages == [], f"binder/requirements.txt must not keep its own package list: {packages}"
    assert "-r ../requirements.txt" in lines
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert runtime == "python-3.11" and "3.11" in requires
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()


def test_pyproject_reads_its_dependencies_from_requirements_txt():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]


def test_launch_buttons_are_configured():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["execute"]["execute_notebooks"] == "force"
