"""What went wrong in a book build, first: one line per notebook that failed to execute, naming the
notebook, its code cell and the error; then the build's first warnings. Run by
``scripts/build-book.sh`` when ``jupyter-book build`` fails.

Jupyter Book (myst-nb) saves each failed notebook's traceback in
``_build/html/reports/<notebook>.err.log`` and says so in its log, after the traceback of the
kernel client (a ZMQ or a timeout error) that a reader meets before the cell's own error. This
script reads those files and matches each failing cell against the notebook's code cells.

    .venv/bin/python scripts/book_build_report.py [BUILD_DIR] [LOG]     (default: _build, _build/book-build.log)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failed_cell(text: str) -> str | None:
    """The failing cell's source (or, for a timeout, its preview) as nbclient wrote it between dashes."""
    match = re.search(r"(?:following cell:|cell contents:)\n-{10,}\n(.*?)\n-{10,}", text, re.S)
    return match.group(1) if match else None


def cell_index(notebook: Path, shown: str) -> int | None:
    """The index among the notebook's code cells of the cell whose first line the report shows."""
    if not notebook.exists():
        return None
    lines = [line.strip() for line in re.findall(r"'((?:[^'\\]|\\.)*)'", shown)] if shown.startswith("[") else \
        [line.strip() for line in shown.splitlines()]
    first = next((line for line in lines if line and not line.startswith("#")), None)
    if first is None:
        return None
    code = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    return next((i for i, c in enumerate(code) if first[:80] in c.source), None)


def error_line(text: str) -> str:
    if "CellTimeoutError" in text:
        seconds = re.search(r"after (\d+) seconds", text)
        return (f"the cell ran past the build's limit of {seconds.group(1) if seconds else '?'} s per cell "
                "(_config.yml, execute.timeout): a slow machine, or a sample generated inside the cell?")
    if "DeadKernelError" in text:
        return "the kernel died (out of memory?)"
    errors = [line for line in text.splitlines() if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", line)]
    return errors[-1] if errors else text.strip().splitlines()[-1]


def report(build: Path, log: Path | None = None) -> list[str]:
    lines = []
    reports = build / "html" / "reports"
    for err in sorted(reports.rglob("*.err.log")) if reports.is_dir() else []:
        docname = err.relative_to(reports).as_posix().removesuffix(".err.log")
        notebook = ROOT / f"{docname}.ipynb"
        text = ANSI.sub("", err.read_text(errors="replace"))
        shown = failed_cell(text)
        index = cell_index(notebook, shown) if shown else None
        where = f"code cell {index}" if index is not None else "a cell"
        first = next((line.strip() for line in (shown or "").splitlines() if line.strip()), "")
        lines.append(f"FAILED: {notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else docname}, {where}"
                     + (f" ({first[:70]})" if first and not first.startswith("[") else "") + f": {error_line(text)}"
                     + f"\n        full traceback: {err}")
    text = ANSI.sub("", log.read_text(errors="replace")) if log is not None and log.exists() else ""
    running = re.findall(r"^(\S+\.ipynb): Executing notebook", text, re.M)
    if running and not any(running[-1].endswith(f"{line.split(',')[0].removeprefix('FAILED: ')}") for line in lines):
        # the build stopped while a notebook ran, without a report of it (a kernel that died takes the build down)
        after = text[text.rindex(f"{running[-1]}: Executing notebook"):]
        causes = re.findall(r"^\S*(?:CellTimeoutError|DeadKernelError|CellExecutionError)\b.*$", after, re.M)
        if causes or "Executed notebook" not in after:
            notebook = Path(running[-1])
            where = notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook
            lines.insert(0, f"FAILED: {where}, while it was executing: "
                            f"{causes[-1] if causes else 'the build stopped (see the log)'}"
                            + (" (the kernel died: out of memory, or killed?)" if causes and "DeadKernel" in causes[-1] else ""))
    if text:
        # Sphinx's warnings ("file:line: WARNING: ..."), not what kernels log ("[IPKernelApp] WARNING | ...")
        warnings = [line for line in text.splitlines()
                    if "WARNING:" in line and "traceback saved in" not in line and "Executing notebook failed" not in line]
        if warnings:
            lines.append(f"{len(warnings)} warning(s) (the build treats warnings as errors); the first:")
            lines += [f"  {w}" for w in warnings[:10]]
    return lines


def main(argv: list[str]) -> int:
    build = Path(argv[0]) if argv else ROOT / "_build"
    log = Path(argv[1]) if len(argv) > 1 else build / "book-build.log"
    lines = report(build, log)
    print("\n".join(lines) if lines else f"no failed notebook and no warning found in {build / 'html' / 'reports'} "
          f"or {log}: read the log's end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
