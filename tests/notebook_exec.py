"""Run one whole notebook in a fresh kernel, outside nbval: with changed parameters, a prelude
cell, and Binder's memory cap. Used by tests that run a lesson in another configuration than
the default one (full mode on real files, a cheaper parameter setting)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from memory_cap import MemoryCap


@dataclass
class NotebookRun:
    notebook: nbformat.NotebookNode
    wall_s: float
    cap_note: str  # what memory cap the kernel ran under, or why none

    def output_text(self) -> str:
        """Everything the notebook printed, as one string."""
        parts = []
        for cell in self.notebook.cells:
            for out in cell.get("outputs", []):
                parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
        return "\n".join(parts)


def run_notebook(path: Path, *, parameters: str = "", prelude: str = "", timeout: float = 600) -> NotebookRun:
    """Execute ``path`` top to bottom. ``parameters`` is appended to the cell tagged
    ``parameters`` (so it overrides it, as papermill does); ``prelude`` becomes a first cell.
    The kernel inherits this process's environment. Raises AssertionError with one sentence
    when the notebook fails or the memory cap kills it."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\n# --- set by the test ---\n" + parameters
    if prelude:
        nb.cells.insert(0, nbformat.v4.new_code_cell(prelude))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cap, why = MemoryCap.create(path.stem)
    start = time.perf_counter()
    try:
        with client.setup_kernel():
            if cap is not None:
                cap.add(client.km.provisioner.process.pid)
            for index, cell in enumerate(client.nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
    except (CellExecutionError, DeadKernelError) as exc:
        if cap is not None and cap.oom_killed():
            raise AssertionError(f"{path.name} was killed by the {cap.describe()} memory cap; its peak was "
                                 f"{cap.peak_mb():.0f} MB") from None
        raise AssertionError(f"{path.name} failed: {str(exc)[-3000:]}") from None
    finally:
        if cap is not None:
            cap.remove()
    return NotebookRun(client.nb, time.perf_counter() - start, cap.describe() if cap else f"none: {why}")
