"""Write the student and instructor editions of every lesson.

    python scripts/editions.py [SOURCE_DIR] [OUT_DIR]      (defaults: notebooks, _build/editions)

- ``OUT_DIR/student/``: every cell tagged ``solution`` becomes a stub that asks for the student's
  code (its outputs dropped); the rest of the lesson, skeletons and checks included, is unchanged,
  so everything before the exercises runs exactly as the tested notebook does.
- ``OUT_DIR/instructor/``: the lesson with its solutions, opened by a cell of instructor notes —
  the measured time and memory, the slot and day it takes in the book's school programmes, and
  where students get stuck (``bookkit.school.INSTRUCTOR_NOTES``).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bookkit import school  # noqa: E402
from bookkit.stats import duration, load_stats, memory  # noqa: E402

STUB = ("# Your solution here: write the code the exercise above asks for.\n"
        "# (The worked solution is in the instructor edition and on the book's website, behind the toggle.)\n")
HIDING_TAGS = ("solution", "hide-input", "hide-cell", "hide-output")


def student_edition(nb):
    nb = copy.deepcopy(nb)
    replaced = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            cell.source, replaced = STUB, replaced + 1
            cell.metadata["tags"] = [t for t in tags if t not in HIDING_TAGS]
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    return nb, replaced


def instructor_notes(key: str, lessons: list | None = None, stats: dict | None = None) -> str:
    stats = load_stats() if stats is None else stats
    lessons = school.lessons(stats) if lessons is None else lessons
    lesson = next(les for les in lessons if les.key == key)
    measured = stats.get("notebooks", {}).get(key)
    run = (f"{duration(measured['wall_s'])}, peak memory {memory(measured['peak_rss_mb'])} (one CPU, samples ready)"
           if measured else "not measured yet (bash scripts/measure-notebooks.sh)")
    days = {}
    for n in (1, 3, 5):
        for d, day in enumerate(school.programme(lessons, n), start=1):
            if lesson in day:
                days[n] = d
    where = "; ".join(f"{n}-day school: day {d}" for n, d in days.items()) or "not in the book's programmes"
    stuck = "\n".join(f"- {note}" for note in school.INSTRUCTOR_NOTES.get(key, ["(no notes yet)"]))
    return (f"**Instructor notes** (this cell is only in the instructor edition)\n\n"
            f"- Lesson {lesson.number}: a slot of about **{lesson.minutes} min** (reading, {lesson.exercises} exercises, "
            f"execution); execution {run}. Prerequisites: {', '.join(lesson.prerequisites) or 'none'}. {where}.\n"
            f"- The solutions below are visible here; the student edition replaces them with a stub.\n\n"
            f"**Where students get stuck**\n\n{stuck}\n")


def instructor_edition(nb, key: str, lessons=None, stats=None):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t not in ("hide-input", "hide-cell")]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(instructor_notes(key, lessons, stats)))
    return nb


def write_editions(source: Path, out: Path) -> dict[str, int]:
    stats = load_stats()
    lessons = school.lessons(stats)
    solutions = {}
    for path in sorted(Path(source).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        relative = path.relative_to(source)
        key = f"notebooks/{relative.as_posix()}"
        student, solutions[key] = student_edition(nb)
        for edition, content in (("student", student), ("instructor", instructor_edition(nb, key, lessons, stats))):
            target = Path(out) / edition / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(content, target)
    return solutions


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else ROOT / "notebooks"
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "editions"
    for key, n in write_editions(source, out).items():
        print(f"{key}: student edition with {n} solution(s) replaced; instructor edition with notes")
    print(f"editions written to {out}/student and {out}/instructor")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
