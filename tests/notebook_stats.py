"""pytest plugin (loaded with -p notebook_stats for the whole session, notebooks included).

* Order: notebooks (nbval) run first, so that their measured time and memory are written
  to ``book/_data/execution-stats.json`` before the book build renders them; the book build
  and the browser test run last.
* Per-notebook measurements: wall time from the first cell's setup to the last cell's
  teardown; peak memory as the kernel's ``VmHWM`` plus the largest sampled sum of its child
  processes' unique memory (USS). USS, not RSS, because a forked child shares the kernel's
  pages: adding its RSS would count the kernel's memory twice. A notebook that runs past ``NOTEBOOK_TIMEOUT_S`` fails its remaining cells.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import threading
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
STATS_FILE = ROOT / "book" / "_data" / "execution-stats.json"
NOTEBOOK_TIMEOUT_S = 300  # per notebook; the budget is 180 s, this is the hard stop
BUDGET = {"wall_s": 180, "peak_rss_mb": 1536}


def pytest_configure(config):
    # every notebook is executed, without comparing outputs (outputs are stripped in git)
    if hasattr(config.option, "nbval_lax"):
        config.option.nbval_lax = True
        config.option.nbval_cell_timeout = NOTEBOOK_TIMEOUT_S


def _is_notebook_item(item) -> bool:
    return item.path.suffix == ".ipynb"


def pytest_collection_modifyitems(session, config, items):
    last = ("test_book.py", "test_browser.py")
    items.sort(key=lambda it: 0 if _is_notebook_item(it) else (2 + last.index(it.path.name) if it.path.name in last else 1))


# ---------------------------------------------------------------- notebook measurements
def _unique_memory(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().uss
    except psutil.AccessDenied:
        return process.memory_info().rss
class _NotebookMonitor:
    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.start = time.perf_counter()
        self.children_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.2):
            try:
                rss = sum(_unique_memory(c) for c in self.process.children(recursive=True))
            except psutil.Error:
                continue
            self.children_peak = max(self.children_peak, rss)

    def finish(self) -> dict:
        self._stop.set()
        wall = time.perf_counter() - self.start
        hwm_kb = 0
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm_kb = int(line.split()[1])
        except OSError:
            hwm_kb = self.process.memory_info().rss // 1024
        return {"wall_s": round(wall, 2), "peak_rss_mb": round(hwm_kb / 1024 + self.children_peak / 2**20, 1)}


_monitors: dict[str, _NotebookMonitor] = {}
_cell_counts: dict[str, int] = {}


def _notebook_key(item) -> str:
    return item.path.relative_to(ROOT).as_posix()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield  # nbval starts the kernel in its file collector's setup
    if not _is_notebook_item(item):
        return
    key = _notebook_key(item)
    _cell_counts[key] = _cell_counts.get(key, 0) + 1
    if key not in _monitors:
        kernel = getattr(item.parent, "kernel", None)
        pid = kernel.km.provisioner.process.pid if kernel is not None else os.getpid()
        _monitors[key] = _NotebookMonitor(pid)
    elapsed = time.perf_counter() - _monitors[key].start
    if elapsed > NOTEBOOK_TIMEOUT_S:
        pytest.fail(f"{key} has run {elapsed:.0f} s, past its {NOTEBOOK_TIMEOUT_S} s timeout")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if _is_notebook_item(item) and (nextitem is None or nextitem.path != item.path):
        key = _notebook_key(item)  # last cell: measure before nbval stops the kernel
        if key in _monitors:
            result = _monitors.pop(key).finish()
            result["cells"] = _cell_counts.pop(key, 0)
            _record(key, result)
    yield


def _record(key: str, result: dict) -> None:
    stats = {"notebooks": {}}
    if STATS_FILE.exists():
        try:
            stats = json.loads(STATS_FILE.read_text())
        except ValueError:
            pass
    stats["notebooks"][key] = result
    stats["notebooks"] = {k: v for k, v in stats["notebooks"].items() if (ROOT / k).exists()}
    stats["budget"] = BUDGET
    stats["date"] = datetime.date.today().isoformat()
    stats["machine"] = {
        "cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(terse=True),
    }
    STATS_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATS_FILE.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    over = [k for k in ("wall_s", "peak_rss_mb") if result[k] > BUDGET[k]]
    line = f"{key}: {result['wall_s']:.1f} s, peak {result['peak_rss_mb']:.0f} MB"
    _summary.append(line + (f" — OVER BUDGET ({', '.join(over)})" if over else ""))


_summary: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if _summary:
        terminalreporter.section("notebook execution statistics (also in book/_data/execution-stats.json)")
        for line in _summary:
            terminalreporter.write_line(line)


