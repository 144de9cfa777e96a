"""pytest plugin that executes the lessons (loaded for the whole session with -p notebook_runner).

* **Once.** nbval executes every notebook, cell by cell, in one kernel; a failing cell fails the
  run. The outputs nbval receives are kept and written to ``_build/executed/<notebook>``, and the
  book built later in the same session renders those copies instead of executing the notebooks
  a second time (``conftest.built_book``). Notebooks run first; the book build and the browser
  test run last.
* **Samples first.** Before the first notebook, the samples the collected notebooks ask for are
  generated (two at a time), as ``binder/postBuild`` does for Binder, so that a notebook's time
  is its own and not its first-use generation.
* **Binder's limits.** Each kernel runs under a hard 2 GiB memory cap (``memory_cap.py``; where
  it cannot be applied, the run says why in one line). A kernel killed by the cap fails with a
  sentence naming the notebook and its peak. Each notebook has a deadline of
  ``max(300 s, 3 x its committed measured time)``; a cell that would overrun it is interrupted.
* **Measurements.** Wall time and peak memory (the kernel's ``VmHWM`` plus the largest sampled
  unique memory, USS, of its child processes: USS, not RSS, because a forked child shares the
  kernel's pages) are written to ``_build/test-artifacts/execution-stats.json`` (or
  ``$HEPML_STATS_FILE``) and printed as a table against the budgets. Overruns are flagged, not
  failed: timings on a shared CI machine are a benchmark report, not an assertion. The committed
  figures the book shows come from ``scripts/measure-notebooks.sh`` only.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from hepml.book import STATS_FILE, load_stats
from memory_cap import MemoryCap

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_STATS = STATS_FILE  # the one statistics file the book renders (hepml.book)
EXECUTED_DIR = ROOT / "_build" / "executed"
STATS_ENV = "HEPML_STATS_FILE"
BUDGET = {"wall_s": 180, "peak_rss_mb": 1536}  # DESIGN.md, sample mode
MIN_TIMEOUT_S = 300
TIMEOUT_FACTOR = 3  # >= 2x margin over the committed measurement, as the pipeline requires
UNMEASURED_TIMEOUT_S = 600  # a notebook with no committed figure yet (a new lesson)


def stats_file() -> Path:
    return Path(os.environ.get(STATS_ENV, ROOT / "_build" / "test-artifacts" / "execution-stats.json"))


def committed_stats() -> dict:
    return load_stats(COMMITTED_STATS)


def notebook_timeout(key: str) -> float:
    measured = committed_stats().get("notebooks", {}).get(key, {}).get("wall_s")
    return UNMEASURED_TIMEOUT_S if measured is None else max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * measured)


def datasets_used(notebook: Path) -> list[str]:
    """The datasets a notebook asks ``data_fetchers.get`` for, in order."""
    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return list(dict.fromkeys(re.findall(r"data_fetchers\.get\(\s*[\"']([\w-]+)[\"']", code)))


# ---------------------------------------------------------------- what this session did
executed_notebooks: dict[str, Path] = {}  # key -> executed copy written in this session
failed_notebooks: set[str] = set()
_results: dict[str, dict] = {}
_cap_reason = ""
_generation_line = ""


def _is_notebook_item(item) -> bool:
    return item.path.suffix == ".ipynb"


def _notebook_key(item) -> str:
    """The notebook's path from the repository root (its absolute path when outside it)."""
    return item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else item.path.as_posix()


def executed_copy(key: str) -> Path:
    return EXECUTED_DIR / key.lstrip("/")


def pytest_configure(config):
    # every notebook is executed, without comparing outputs (outputs are stripped in git)
    if hasattr(config.option, "nbval_lax"):
        config.option.nbval_lax = True
    _stop_waiting_for_dead_kernels()


def _stop_waiting_for_dead_kernels() -> None:
    """nbval 0.11 waits for a cell's reply for the whole cell timeout even when the kernel has
    died (e.g. killed by the memory cap), i.e. minutes for nothing. Wait in one-second slices
    instead and give up as soon as the kernel is gone; nbval then reports the cell as failed."""
    from queue import Empty

    from nbval.kernel import RunningKernel

    if getattr(RunningKernel.await_reply, "stops_on_death", False):
        return
    original = RunningKernel.await_reply

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 1.0 if deadline is None else min(1.0, max(deadline - time.monotonic(), 0.0))
            try:
                return original(self, msg_id, timeout=step)
            except Empty:
                if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
                    raise

    await_reply.stops_on_death = True
    RunningKernel.await_reply = await_reply


def pytest_collection_modifyitems(session, config, items):
    last = ("test_book.py", "test_browser.py")
    items.sort(key=lambda it: 0 if _is_notebook_item(it) else (2 + last.index(it.path.name) if it.path.name in last else 1))


def pytest_collection_finish(session):
    """Generate the samples the collected notebooks need, before the first notebook runs."""
    global _generation_line
    notebooks = list(dict.fromkeys(item.path for item in session.items if _is_notebook_item(item)))
    names = list(dict.fromkeys(name for nb in notebooks for name in datasets_used(nb)))
    if not names:
        return
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "data_fetchers", "fetch", *names, "--mode", "sample", "--jobs", "2"],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    _generation_line = (f"samples for {', '.join(names)} ready in {seconds:.0f} s before the notebooks"
                        + ("" if proc.returncode == 0 else
                           f" — FAILED (the notebooks will report it): {proc.stderr.strip().splitlines()[-1:]}"))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"notebooks: {_generation_line}")


# ---------------------------------------------------------------- one notebook's run
def _unique_memory(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().uss
    except psutil.AccessDenied:
        return process.memory_info().rss


class _NotebookRun:
    """Measures one kernel, holds its deadline and memory cap, and collects its outputs."""

    def __init__(self, key: str, pid: int):
        global _cap_reason
        self.key = key
        self.process = psutil.Process(pid)
        self.start = time.perf_counter()
        self.timeout = notebook_timeout(key)
        self.cells = 0
        self.cell_seconds: dict[int, float] = {}  # code cell index -> seconds: the lessons' time per section
        self.kernel_peak = 0
        self.children_peak = 0
        self.killed_by_cap = False
        self.cap, reason = MemoryCap.create(re.sub(r"\W", "-", Path(key).stem))
        if self.cap is None:
            _cap_reason = reason
        else:
            self.cap.add(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.2):
            try:
                self.kernel_peak = max(self.kernel_peak, self.process.memory_info().rss)
                uss = sum(_unique_memory(c) for c in self.process.children(recursive=True))
            except psutil.Error:
                continue
            self.children_peak = max(self.children_peak, uss)

    def peak_mb(self) -> float:
        hwm_kb = 0
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm_kb = int(line.split()[1])
        except OSError:  # the kernel is gone (killed): fall back on the sampled peak
            pass
        kernel = max(hwm_kb * 1024, self.kernel_peak)
        return round((kernel + self.children_peak) / 2**20, 1)

    def finish(self) -> dict:
        self._stop.set()
        result = {
            "wall_s": round(time.perf_counter() - self.start, 2), "peak_rss_mb": self.peak_mb(),
            "cells": self.cells, "timeout_s": round(self.timeout),
            "cell_seconds": [self.cell_seconds.get(i, 0.0) for i in range(max(self.cell_seconds, default=-1) + 1)], "datasets": datasets_used(ROOT / self.key),
            "memory_cap": self.cap.describe() if self.cap else "none",
            "status": "killed by the memory cap" if self.killed_by_cap else
                      ("failed" if self.key in failed_notebooks else "passed"),
        }
        return result


_runs: dict[str, _NotebookRun] = {}
_finished: list[_NotebookRun] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield  # nbval starts the kernel in its file collector's setup
    if not _is_notebook_item(item):
        return
    key = _notebook_key(item)
    if key not in _runs:
        kernel = getattr(item.parent, "kernel", None)
        pid = kernel.km.provisioner.process.pid if kernel is not None else os.getpid()
        _runs[key] = _NotebookRun(key, pid)
    run = _runs[key]
    run.cells += 1
    remaining = run.timeout - (time.perf_counter() - run.start)
    if remaining <= 0:
        pytest.fail(f"{key} has run {run.timeout:.0f} s, its timeout (3x its committed measured time, "
                    f"at least {MIN_TIMEOUT_S} s); it is far slower than measured: look for a slow cell or an "
                    f"overloaded machine.")
    item.config.option.nbval_cell_timeout = remaining  # nbval interrupts a cell that would overrun


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_notebook_item(item):
        return
    report = outcome.get_result()
    key = _notebook_key(item)
    run = _runs.get(key)
    if call.when == "call":
        if run:
            run.cell_seconds[item.cell_num] = round(call.duration, 2)
        # keep what the kernel printed and displayed, for the book build
        outputs = [nbformat.from_dict(dict(o)) for o in (getattr(item, "test_outputs", None) or [])]
        item.cell.outputs = outputs
        item.cell.execution_count = run.cells if run else None
        for o in outputs:
            if o.output_type == "execute_result":
                o.execution_count = item.cell.execution_count
    if report.failed:
        failed_notebooks.add(key)
        if run and run.cap and run.cap.oom_killed():
            first = not run.killed_by_cap
            run.killed_by_cap = True
            report.longrepr = (
                f"{key} was killed by the {run.cap.describe()} memory cap (Binder's limit) while running "
                f"code cell {item.cell_num}; its peak was {max(run.peak_mb(), run.cap.peak_mb()):.0f} MB. Lower the "
                f"notebook's event counts or free large arrays earlier." if first else
                f"{key}: the kernel was killed earlier by the memory cap (see its first failing cell).")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if _is_notebook_item(item) and (nextitem is None or nextitem.path != item.path):
        key = _notebook_key(item)  # last cell: measure before nbval stops the kernel
        run = _runs.pop(key, None)
        if run is not None:
            _record(key, run.finish())
            _finished.append(run)
            target = executed_copy(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(item.parent.nb, target)
            executed_notebooks[key] = target
    yield


def pytest_sessionfinish(session):
    for run in _finished:  # their kernels have stopped by now: the empty groups can go
        if run.cap is not None:
            run.cap.remove()


def _record(key: str, result: dict) -> None:
    _results[key] = result
    path = stats_file()
    stats = {"notebooks": {}}
    if path.exists():
        try:
            stats = json.loads(path.read_text())
        except ValueError:
            pass
    stats["notebooks"][key] = result
    stats["notebooks"] = {k: v for k, v in stats["notebooks"].items() if (ROOT / k).exists()}
    stats.update(budget=BUDGET, date=datetime.date.today().isoformat(), machine=machine_facts())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")


def machine_facts() -> dict:
    return {
        "cpus": len(os.sched_getaffinity(0)), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(terse=True),
    }


def budget_table(results: dict[str, dict]) -> list[str]:
    """The benchmark report: every notebook against the budgets, overruns flagged."""
    head = f"{'notebook':58} {'wall':>8} {'peak':>9} {'timeout':>8}  {'status':8} budget (≤ {BUDGET['wall_s']} s, ≤ {BUDGET['peak_rss_mb']} MB)"
    lines = [head, "-" * len(head)]
    for key, r in results.items():
        over = [f"OVER: {r['wall_s']:.0f} s > {BUDGET['wall_s']} s"] if r["wall_s"] > BUDGET["wall_s"] else []
        over += [f"OVER: {r['peak_rss_mb']:.0f} MB > {BUDGET['peak_rss_mb']} MB"] if r["peak_rss_mb"] > BUDGET["peak_rss_mb"] else []
        lines.append(f"{key.removeprefix('notebooks/'):58} {r['wall_s']:7.1f}s {r['peak_rss_mb']:6.0f} MB {r['timeout_s']:7d}s  "
                     f"{r['status'].split(' by ')[0]:8} {'; '.join(over) or 'within budget'}")
    return lines


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    terminalreporter.section(f"notebook execution (written to {stats_file().relative_to(ROOT) if stats_file().is_relative_to(ROOT) else stats_file()})")
    if _generation_line:
        terminalreporter.write_line(_generation_line)
    terminalreporter.write_line("memory cap: " + (next(iter(_results.values()))["memory_cap"] + " per kernel"
                                                  if not _cap_reason else f"NOT APPLIED — {_cap_reason}"))
    for line in budget_table(_results):
        terminalreporter.write_line(line)
