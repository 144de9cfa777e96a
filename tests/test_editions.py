"""Student and instructor editions (scripts/editions.py): no solution survives in the student
edition, everything before the exercises is the tested lesson unchanged (and runs), and the
instructor edition keeps the solutions and opens with the notes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import editions  # noqa: E402

NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    return out, editions.write_editions(ROOT / "notebooks", out)


def _exercises_start(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.search(r"^#+\s*Exercises", c.source, re.M))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_student_edition_has_no_solution_and_the_lesson_unchanged(path, written):
    out, solutions = written
    relative = path.relative_to(ROOT / "notebooks")
    source = nbformat.read(path, as_version=4)
    student = nbformat.read(out / "student" / relative, as_version=4)
    solution_sources = [c.source for c in source.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions[f"notebooks/{relative.as_posix()}"] == len(solution_sources) > 0
    assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    text = "\n".join(c.source for c in student.cells)
    assert not any(s.strip() in text for s in solution_sources), "a solution survived in the student edition"
    assert text.count(editions.STUB) == len(solution_sources)
    start = _exercises_start(source)
    # what CI executes in the lesson is, cell for cell, what the student edition has before the exercises
    assert [c.source for c in student.cells[:start]] == [c.source for c in source.cells[:start]]
    assert len(student.cells) == len(source.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_instructor_edition_keeps_solutions_and_adds_notes(path, written):
    out, _ = written
    relative = path.relative_to(ROOT / "notebooks")
    source = nbformat.read(path, as_version=4)
    instructor = nbformat.read(out / "instructor" / relative, as_version=4)
    assert instructor.cells[1].source.startswith("**Instructor notes**")
    assert "**Where students get stuck**" in instructor.cells[1].source and "(no notes yet)" not in instructor.cells[1].source
    assert [c.source for c in instructor.cells[:1] + instructor.cells[2:]] == [c.source for c in source.cells]


def test_student_edition_of_lesson_0_runs_up_to_its_exercises(written):
    """Executed for real on the cheapest lesson; for the others, the cells before the exercises are
    the tested lesson's own (the test above), which the notebook tests execute."""
    from nbclient import NotebookClient

    out, _ = written
    nb = nbformat.read(out / "student" / "00-getting-started" / "01-root-to-histogram.ipynb", as_version=4)
    nb.cells = nb.cells[:_exercises_start(nb)]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks" / "00-getting-started")}}).execute()
    assert any(o.get("name") == "stdout" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
