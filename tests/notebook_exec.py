"""Run one whole notebook in a fresh kernel, outside nbval: with changed parameters, a prelude
cell, and Binder's memory cap. Used by tests that run a lesson in another configuration than
the default one (full mode on real files, a cheaper parameter setting), and by
scripts/measure_full_mode_memory.py, which reads the memory figures recorded here."""

from __future__ import annotations

import ast
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from memory_cap import MemoryCap

SAMPLE_EVERY_S = 0.1  # how often the capped group's anonymous memory is read


def parameter_values(path: Path) -> dict:
    """The values the cell tagged ``parameters`` assigns (``NAME = literal`` lines), by name."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@dataclass
class CellMemory:
    """One code cell's run under the cap (index in the notebook as stored, without the prelude)."""

    index: int | None  # None: the prelude cell
    cell_id: str | None  # the notebook's cell id: stays when cells are inserted before it
    first_line: str
    wall_s: float
    peak_mb: float | None  # the group's peak during this cell (page cache included)
    peak_anon_mb: float | None  # the largest sampled anonymous memory during this cell


@dataclass
class NotebookRun:
    notebook: nbformat.NotebookNode
    wall_s: float
    cap_note: str  # what memory cap the kernel ran under, or why none
    # the capped group's peak usage over the whole run, in MB (its page cache included); None without a cap
    peak_mb: float | None = None
    peak_anon_mb: float | None = None  # the largest sampled anonymous memory (no page cache), MB
    # the kernel's private memory when it joined the group: stays charged where it was (recent kernels
    # no longer move charges), so it is in neither peak above
    start_private_mb: float | None = None
    hit_limit: bool = False  # the group's usage reached the cap at least once (reclaim or kill)
    killed_by_cap: bool = False
    error: str | None = None  # why the run stopped (only with check=False)
    failed_cell: int | None = None  # the notebook's index of the cell that failed or was killed
    cells: list[CellMemory] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # cells not run (skip_tags)
    tolerated: list[dict] = field(default_factory=list)  # errors of cells run with tolerate_tags: cell, error
    per_cell_peaks: bool = False  # True when the group's peak could be restarted for every cell

    def output_text(self) -> str:
        """Everything the notebook printed, as one string."""
        parts = []
        for cell in self.notebook.cells:
            for out in cell.get("outputs", []):
                parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
        return "\n".join(parts)


def _first_code_line(source: str) -> str:
    """A cell's first line that is not a comment (its first line if all are), to name it in a report."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")]
    return (code or lines or [""])[0][:100]


class _AnonSampler:
    """Samples the group's anonymous memory in a thread: the peak of the run and of the current cell."""

    def __init__(self, cap: MemoryCap):
        self.cap, self.peak, self.cell_peak = cap, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def sample(self) -> None:
        value = self.cap.anon_mb()
        self.peak, self.cell_peak = max(self.peak, value), max(self.cell_peak, value)

    def next_cell(self) -> float:
        self.sample()
        peak, self.cell_peak = self.cell_peak, 0.0
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_notebook(path: Path, *, parameters: str = "", prelude: str = "", timeout: float = 600,
                 skip_tags: tuple[str, ...] = (), tolerate_tags: tuple[str, ...] = (),
                 check: bool = True) -> NotebookRun:
    """Execute ``path`` top to bottom. ``parameters`` is appended to the cell tagged
    ``parameters`` (so it overrides it, as papermill does); ``prelude`` becomes a first cell;
    cells carrying one of ``skip_tags`` are not run; an error in a cell carrying one of
    ``tolerate_tags`` is recorded in ``tolerated`` and the run goes on (as for nbval's
    ``raises-exception``). The kernel inherits this process's environment. With ``check`` (the
    default), raises AssertionError with one sentence when the notebook fails or the memory cap
    kills it; without, returns the run with ``error`` set."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\n# --- set by the test ---\n" + parameters
    offset = 0
    if prelude:
        nb.cells.insert(0, nbformat.v4.new_code_cell(prelude))
        offset = 1
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cap, why = MemoryCap.create(path.stem)
    run = NotebookRun(client.nb, 0.0, cap.describe() if cap else f"none: {why}")
    sampler = None
    setup_peak = None
    start = time.perf_counter()
    current = None
    try:
        with client.setup_kernel():
            if cap is not None:
                pid = client.km.provisioner.process.pid
                memory = psutil.Process(pid).memory_info()
                run.start_private_mb = round((memory.rss - memory.shared) / 2**20, 1)
                cap.add(pid)
                sampler = _AnonSampler(cap)
                setup_peak = cap.peak_mb()
            for index, cell in enumerate(client.nb.cells):
                original = index - offset if index >= offset else None
                if set(cell.metadata.get("tags", [])) & set(skip_tags):
                    run.skipped.append(original)
                    continue
                if cell.cell_type != "code":
                    continue
                current = original
                tolerated = bool(set(cell.metadata.get("tags", [])) & set(tolerate_tags))
                if tolerated:  # nbclient then records the error in the outputs instead of raising
                    cell.metadata["tags"] = [*cell.metadata.get("tags", []), "raises-exception"]
                if cap is not None:
                    run.per_cell_peaks = cap.reset_peak()
                    sampler.next_cell()
                t0 = time.perf_counter()
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                finally:
                    run.cells.append(CellMemory(
                        original, cell.get("id"), _first_code_line(cell.source),
                        round(time.perf_counter() - t0, 2),
                        round(cap.peak_mb(), 1) if cap is not None else None,
                        round(sampler.next_cell(), 1) if sampler is not None else None))
                errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                if tolerated and errors:
                    error = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
                    run.tolerated.append({"cell": original, "error": error[:500]})
    except (CellExecutionError, DeadKernelError) as exc:
        run.failed_cell = current
        where = "the prelude" if current is None else f"code cell {current}"
        if cap is not None and cap.oom_killed():
            run.killed_by_cap = True
            run.error = (f"{path.name} was killed by the {cap.describe()} memory cap in {where}; its peak was "
                         f"{cap.peak_mb():.0f} MB")
        else:
            run.error = f"{path.name} failed in {where}: {str(exc)[-3000:]}"
    finally:
        run.wall_s = time.perf_counter() - start
        if sampler is not None:
            sampler.stop()
        if cap is not None:
            peaks = [c.peak_mb for c in run.cells if c.peak_mb is not None] + [setup_peak or 0.0, cap.peak_mb()]
            run.peak_mb = round(max(p for p in peaks if p == p), 1)  # p == p drops a NaN (no peak file)
            run.peak_anon_mb = round(sampler.peak, 1) if sampler is not None else None
            # a cell's peak within a MiB of the limit: the usage reached it (the peak restarts per cell)
            run.hit_limit = cap.hit_limit() or run.peak_mb * 2**20 >= cap.limit_bytes - 2**20
            cap.remove()
    if run.error and check:
        raise AssertionError(run.error)
    return run
