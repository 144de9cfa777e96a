"""Write student copies of the notebooks: every cell tagged ``solution`` becomes a stub.

Usage: python scripts/student_copy.py SOURCE_DIR DEST_DIR
"""

import sys
from pathlib import Path

import nbformat

STUB = "# Your solution here.\n# (The worked solution is on the book's website, behind the toggle.)\n"


def student_copy(notebook: Path, destination: Path) -> int:
    nb = nbformat.read(notebook, as_version=4)
    replaced = 0
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            cell.source, replaced = STUB, replaced + 1
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t not in ("solution", "hide-input", "hide-cell")]
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return replaced


def main(source: str, dest: str) -> None:
    for nb in sorted(Path(source).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        n = student_copy(nb, Path(dest) / nb.relative_to(source))
        print(f"{nb}: {n} solution(s) replaced")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
