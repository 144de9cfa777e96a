"""pytest plugin that executes the lessons (loaded for the whole session with -p notebook_runner).

* **Once.** nbval executes every notebook, cell by cell, in one kernel; a failing cell fails the
  run. The outputs nbval receives are kept and written to ``_build/executed/<notebook>``, and the
  book built later in the same run renders those copies instead of executing the notebooks a
  second time (``conftest.built_book``).
* **Two at a time.** The test command runs pytest-xdist with one worker per CPU (``-n``), and this
  plugin's scheduler hands out groups: a notebook's cells (and its breakages, below) form one
  group that one worker runs in one kernel; tests sharing a module-scoped fixture of a test module form one group
  (the fixture is computed once); the tests of the built book form one group, whose build waits
  until every notebook of the run has finished, on whichever worker. Notebooks are handed out
  first, the longest (by its committed time) first, then the book, then the slow tests, then the
  rest. Each worker's BLAS and OpenMP pools get one thread per worker's share of the CPUs, and each
  kernel is pinned to a CPU of its own: a notebook sees what Binder gives it, one CPU. Without
  xdist (``-p no:xdist``, as ``scripts/measure-notebooks.sh`` runs it) everything runs in one
  process, in the same order.
* **Samples first.** Before the first notebook, the samples the collected notebooks ask for are
  generated, two at a time, with a line as each is ready (as ``binder/postBuild`` does for
  Binder), so that a notebook's time is its own and not its first-use generation.
* **Breakages in the lesson's kernel.** After a notebook's last cell, the breakages of
  ``lesson_breakages.py`` run as tests in the same kernel, reusing what the lesson computed and
  trained; the notebook's time and memory are measured before them.
* **Binder's limits.** Each kernel runs under a hard 2 GiB memory cap (``memory_cap.py``; where
  it cannot be applied, the run says why in one line). A kernel killed by the cap fails with a
  sentence naming the notebook and its peak. Each notebook has a deadline of
  ``max(300 s, 3 x its committed measured time)``; a cell that would overrun it is interrupted,
  and the failure compares the time each cell took with its committed time, so that a slow
  machine (every cell slower alike) and a slow lesson (one cell slower) can be told apart.
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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from queue import Empty

# BLAS and OpenMP size their thread pools when first imported: share the CPUs out among the
# workers before this worker imports numpy or torch (and before it starts any kernel, which
# inherits the setting)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")


def _share_the_cpus() -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if os.environ.get("PYTEST_XDIST_WORKER") and workers > 1:
        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, str(threads))


_share_the_cpus()

import nbformat  # noqa: E402
import psutil  # noqa: E402
import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402

import lesson_breakages  # noqa: E402
from bookkit.stats import STATS_FILE, load_stats  # noqa: E402
from memory_cap import MemoryCap  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_STATS = STATS_FILE  # the one statistics file the book renders (bookkit.stats)
EXECUTED_DIR = ROOT / "_build" / "executed"
RUNS_DIR = ROOT / "_build" / "test-runs"  # one folder per test run: what each notebook's worker reports
STATS_ENV = "HEPML_STATS_FILE"
BUDGET = {"wall_s": 180, "peak_rss_mb": 1536}  # DESIGN.md, sample mode
MIN_TIMEOUT_S = 300
TIMEOUT_FACTOR = 3  # >= 2x margin over the committed measurement, as the pipeline requires
UNMEASURED_TIMEOUT_S = 600  # a notebook with no committed figure yet (a new lesson)
ONE_CPU_LIMIT_S = 120  # what a lesson may take in the Binder-like measurement (the test run's length depends on it)
BREAKAGE_TIMEOUT_S = 300  # one in-kernel breakage (the slowest reruns an exercise's training: about 20 s)
BOOK_GROUP = "the built book"
GROUPS_FILE = "groups.json"  # test node id -> its group, for the xdist scheduler


def stats_file() -> Path:
    return Path(os.environ.get(STATS_ENV, ROOT / "_build" / "test-artifacts" / "execution-stats.json"))


def committed_stats() -> dict:
    return load_stats(COMMITTED_STATS)


def committed_seconds(key: str) -> float | None:
    return committed_stats().get("notebooks", {}).get(key, {}).get("wall_s")


def notebook_timeout(key: str) -> float:
    measured = committed_seconds(key)
    return UNMEASURED_TIMEOUT_S if measured is None else max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * measured)


def datasets_used(notebook: Path) -> list[str]:
    """The datasets a notebook asks ``data_fetchers.get`` for, in order."""
    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return list(dict.fromkeys(re.findall(r"data_fetchers\.get\(\s*[\"']([\w-]+)[\"']", code)))


# ---------------------------------------------------------------- what this process knows of the run
_run_dir: Path | None = None  # shared by the workers of one run (xdist passes it on)
_owns_run_dir = False
_generation_line = ""
_generated = False
_runs: dict[str, _NotebookRun] = {}
_finished: list[_NotebookRun] = []
_failed_here: set[str] = set()  # notebooks that failed in this process


def _is_cell(item) -> bool:
    return item.path.suffix == ".ipynb" and not isinstance(item, LessonBreakage)


def _is_notebook_item(item) -> bool:
    """A notebook's cell, or one of the breakages run in its kernel."""
    return item.path.suffix == ".ipynb"


def _notebook_key(item) -> str:
    """The notebook's path from the repository root (its absolute path when outside it)."""
    return item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else item.path.as_posix()


def executed_copy(key: str) -> Path:
    return EXECUTED_DIR / key.lstrip("/")


def _status_path(key: str) -> Path:
    return _run_dir / "notebooks" / (re.sub(r"[^\w.-]", "_", key.lstrip("/")) + ".json")


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # atomic: another worker never reads half a file


def _write_status(key: str, status: dict) -> None:
    _write_json(_status_path(key), status)


def _read_statuses() -> dict[str, dict]:
    if _run_dir is None or not (_run_dir / "notebooks").is_dir():
        return {}
    statuses = [json.loads(p.read_text()) for p in sorted((_run_dir / "notebooks").glob("*.json"))]
    return {s["key"]: s for s in statuses}


def _worker_index(config) -> int | None:
    """This xdist worker's number (gw1: 1), or None without xdist or with a single worker."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or int(workerinput.get("workercount", 1)) < 2:
        return None
    return int(re.sub(r"\D", "", workerinput["workerid"]) or 0)


def pytest_configure(config):
    global _run_dir, _owns_run_dir
    # every notebook is executed, without comparing outputs (outputs are stripped in git)
    if hasattr(config.option, "nbval_lax"):
        config.option.nbval_lax = True
    _stop_waiting_for_dead_kernels()
    workerinput = getattr(config, "workerinput", None)
    if workerinput and "hepml_run_dir" in workerinput:
        _run_dir = Path(workerinput["hepml_run_dir"])
    else:
        _run_dir = RUNS_DIR / f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        _run_dir.mkdir(parents=True, exist_ok=True)
        _owns_run_dir = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist, in the controller: every worker reports into this run's folder."""
    node.workerinput["hepml_run_dir"] = str(_run_dir)


def pytest_unconfigure(config):
    if _owns_run_dir and _run_dir is not None:
        shutil.rmtree(_run_dir, ignore_errors=True)


def _stop_waiting_for_dead_kernels() -> None:
    """nbval 0.11 waits for a cell's reply for the whole cell timeout even when the kernel has
    died (e.g. killed by the memory cap), i.e. minutes for nothing. Wait in one-second slices
    instead and give up as soon as the kernel is gone; nbval then reports the cell as failed."""
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


# ---------------------------------------------------------------- order, groups, breakages
def _module_fixture_groups(items) -> dict[int, str]:
    """Tests that share a module-scoped fixture of a test module, joined (transitively) into one
    group per set: item index -> group name. Such a fixture is computed once per process, so its
    tests belong on one worker."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    uses = {}
    for i, item in enumerate(items):
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        names = []
        for name in item.fixturenames:
            definitions = info.name2fixturedefs.get(name)
            if definitions and definitions[-1].scope == "module" and definitions[-1].baseid.endswith(".py"):
                names.append(f"{definitions[-1].baseid}::{name}")
        for name in names[1:]:
            parent[find(name)] = find(names[0])
        if names:
            uses[i] = names[0]
    return {i: find(name) for i, name in uses.items()}


def _uses_the_book(item) -> bool:
    return "built_book" in getattr(item, "fixturenames", ())


def _order(item, measured: dict[str, float]) -> tuple:
    """Notebooks first, the longest first (a new, unmeasured one before all), then the book (its build
    waits for the last notebooks: short ones, by then), then the slow tests, then the rest."""
    if _is_notebook_item(item):
        key = _notebook_key(item)
        return (0, -measured.get(key, float("inf")), key)
    if _uses_the_book(item):
        return (1,)
    return (2,) if item.get_closest_marker("slow") else (3,)


@pytest.hookimpl(tryfirst=True)  # the order and the groups, before other plugins read the items
def pytest_collection_modifyitems(session, config, items):
    measured = {key: entry["wall_s"] for key, entry in committed_stats().get("notebooks", {}).items()}
    items.sort(key=lambda item: _order(item, measured))  # stable: a notebook's cells keep their order
    # the breakages of each notebook, in its kernel, right after its last cell
    last_cell = {}
    for i, item in enumerate(items):
        if _is_cell(item):
            last_cell[_notebook_key(item)] = i
    for key, i in sorted(last_cell.items(), key=lambda kv: -kv[1]):
        notebook, path = items[i].parent, items[i].path
        if not path.is_relative_to(ROOT / "notebooks"):
            continue
        try:
            found = lesson_breakages.breakages(path)
        except ValueError as exc:  # the table does not fit the lesson: one failing test says how
            found = [lesson_breakages.Breakage("the lesson's breakages", f"raise ValueError({str(exc)!r})", "",
                                               expect="(none: the table must be mended)")]
        cells = lesson_breakages.code_cells(path)
        items[i + 1:i + 1] = [LessonBreakage.from_parent(notebook, name=_test_name(f"breakage: {b.name}"), breakage=b,
                                                         cells=cells) for b in found]
    groups = _module_fixture_groups(items)
    named = {}
    for i, item in enumerate(items):
        if _is_notebook_item(item):
            group = _notebook_key(item)
        elif _uses_the_book(item):
            group = BOOK_GROUP
        else:
            group = groups.get(i)
        if group is not None:
            named[item.nodeid] = group
    if hasattr(config, "workerinput"):  # for the controller's scheduler (below); every worker writes the same
        _write_json(_run_dir / GROUPS_FILE, named)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist, in the controller, with ``--dist load`` (what ``-n`` alone means) or ``loadgroup``: xdist's
    scheduling of whole groups, one group at a time to a worker, in collection order, with the groups above (a
    notebook's cells must share one kernel). (xdist 3.8's own loadgroup marks a group in the test's node id,
    which pytest 9's node ids no longer let it change: every test became its own group.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # written by the workers' collection, which precedes any scheduling
                path = _run_dir / GROUPS_FILE
                self._groups = json.loads(path.read_text()) if path.exists() else {}
            return self._groups.get(nodeid, nodeid)

    config.option.loadscopereorder = False  # the order above (notebooks first, the longest first) is the plan
    return GroupScheduling(config, log)


def _test_name(text: str) -> str:
    """A test name on one line, which a node id keeps whole (no '::')."""
    return re.sub(r"\s+", " ", text).replace("::", ":")


def _generate_samples(notebooks: list[Path], write_line) -> None:
    """Generate the samples ``notebooks`` ask for, two at a time, a line as each is ready."""
    global _generation_line, _generated
    if _generated:
        return
    _generated = True
    names = list(dict.fromkeys(name for nb in notebooks for name in datasets_used(nb)))
    if not names:
        return
    measured = committed_stats().get("generation", {})  # the longest first: two at a time, they end together
    names.sort(key=lambda name: -measured.get(name, {}).get("seconds", float("inf")))
    write_line(f"notebooks: preparing the samples for {', '.join(names)}, two at a time, before the first notebook "
               "(generated once, then cached)")
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen([sys.executable, "-m", "data_fetchers", "fetch", *names, "--mode", "sample", "--jobs", "2"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
        for line in proc.stdout:  # the command's progress lines (not the files' paths, nor what generators print)
            if re.match(r"(preparing |Generating the |error: |[\w-]+: ready in )", line):
                write_line(f"notebooks:   {line.split(';')[0].rstrip()}{') ...' if ';' in line else ''}")
        proc.wait()
        errors.seek(0)
        last_error = errors.read().strip().splitlines()[-1:]
    seconds = time.perf_counter() - start
    _generation_line = (f"samples for {', '.join(names)} ready in {seconds:.0f} s before the notebooks"
                        + ("" if proc.returncode == 0 else f" — FAILED (the notebooks will report it): {last_error}"))
    write_line(f"notebooks: {_generation_line}")


def pytest_collection_finish(session):
    """Without xdist: generate the samples the collected notebooks need, before the first notebook runs
    (with xdist, the controller does it once for all workers: below)."""
    if hasattr(session.config, "workerinput"):
        return
    notebooks = list(dict.fromkeys(item.path for item in session.items if _is_cell(item)))
    _generate_samples(notebooks, _line_writer(session.config))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """xdist, in the controller, before it hands out the first test: the samples of the collected notebooks."""
    notebooks = list(dict.fromkeys(node.config.rootpath / nodeid.split("::")[0] for nodeid in ids
                                   if nodeid.split("::")[0].endswith(".ipynb")))
    _generate_samples(notebooks, _line_writer(node.config))


def _line_writer(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return lambda line: print(line, flush=True)

    def write_line(line: str) -> None:
        reporter.write_line(line)
        reporter.flush()  # each line as it comes, in a log too

    return write_line


# ---------------------------------------------------------------- one notebook's run
def _unique_memory(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().uss
    except psutil.AccessDenied:
        return process.memory_info().rss


class _NotebookRun:
    """Measures one kernel, holds its deadline, memory cap and CPU, and collects its outputs."""

    def __init__(self, key: str, pid: int, cpu: int | None):
        self.key = key
        self.process = psutil.Process(pid)
        self.start = time.perf_counter()
        self.timeout = notebook_timeout(key)
        self.cells = 0
        self.cell_seconds: dict[int, float] = {}  # code cell index -> seconds: the lessons' time per section
        self.kernel_peak = 0
        self.children_peak = 0
        self.killed_by_cap = False
        self.deadline_report = ""
        self.cpu = cpu
        if cpu is not None and pid != os.getpid():
            os.sched_setaffinity(pid, {cpu})  # inherited by the threads and processes the kernel starts
        self.cap, self.cap_reason = MemoryCap.create(re.sub(r"\W", "-", Path(key).stem))
        if self.cap is not None:
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

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def finish(self) -> dict:
        self._stop.set()
        return {
            "wall_s": round(self.elapsed(), 2), "peak_rss_mb": self.peak_mb(),
            "cells": self.cells, "timeout_s": round(self.timeout),
            "cell_seconds": [self.cell_seconds.get(i, 0.0) for i in range(max(self.cell_seconds, default=-1) + 1)],
            "datasets": datasets_used(ROOT / self.key),
            "memory_cap": self.cap.describe() if self.cap else "none",
            "cpu": self.cpu,
            "status": "killed by the memory cap" if self.killed_by_cap else
                      ("failed" if self.key in _failed_here else "passed"),
        }


def deadline_report(key: str, cell_seconds: dict[int, float], timeout: float) -> str:
    """Why a notebook ran past its deadline: its cells' times against the committed ones, and which
    of the two it looks like, a slower machine (every cell slower alike) or a slower lesson (a few
    cells far slower than the rest)."""
    entry = committed_stats().get("notebooks", {}).get(key, {})
    committed, measured = entry.get("cell_seconds", []), entry.get("wall_s")
    head = (f"{key} ran past its deadline of {timeout:.0f} s (" + (
        f"{TIMEOUT_FACTOR} x its committed {measured:.0f} s, at least {MIN_TIMEOUT_S} s)" if measured is not None
        else "it has no committed figures yet)"))
    compared = [(i, s, committed[i]) for i, s in sorted(cell_seconds.items()) if i < len(committed)]
    if not compared:
        return head + "; no committed time per cell to compare with."
    took, expected = sum(s for _, s, _ in compared), sum(c for _, _, c in compared)
    ratios = sorted(s / c for _, s, c in compared if c >= 0.5)
    typical = ratios[len(ratios) // 2] if ratios else took / max(expected, 1e-9)
    slowest = sorted(compared, key=lambda x: -(x[1] - typical * x[2]))[:3]
    lines = [head + f": its code cells 0–{compared[-1][0]} took {took:.0f} s against {expected:.0f} s committed "
             f"({took / max(expected, 1e-9):.1f} x), the median cell {typical:.1f} x its committed time."]
    lines += [f"  code cell {i}: {s:.1f} s (committed {c:.1f} s)" for i, s, c in slowest]
    worst_i, worst_s, worst_c = slowest[0]
    if worst_s - typical * worst_c > 0.5 * (took - expected) and worst_s > 2 * typical * max(worst_c, 0.5):
        lines.append(f"  Code cell {worst_i} is far slower than the others: the lesson got slower there "
                     "(look at what changed in it, then run bash scripts/measure-notebooks.sh).")
    else:
        lines.append("  Every cell is slower alike: this machine is slower or busier than the one that measured "
                     "(look at what else runs on it), not the lesson.")
    return "\n".join(lines)


def _kernel_cpu(config) -> int | None:
    index = _worker_index(config)
    if index is None:
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[index % len(cpus)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield  # nbval starts the kernel in its file collector's setup
    if not _is_cell(item):
        return
    key = _notebook_key(item)
    if key not in _runs:
        kernel = getattr(item.parent, "kernel", None)
        pid = kernel.km.provisioner.process.pid if kernel is not None else os.getpid()
        _runs[key] = _NotebookRun(key, pid, _kernel_cpu(item.config))
    run = _runs[key]
    run.cells += 1
    remaining = run.timeout - run.elapsed()
    if remaining <= 0:
        run.deadline_report = run.deadline_report or deadline_report(key, run.cell_seconds, run.timeout)
        pytest.fail(run.deadline_report)
    item.config.option.nbval_cell_timeout = remaining  # nbval interrupts a cell that would overrun


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_cell(item):
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
        _failed_here.add(key)
        if run and run.cap and run.cap.oom_killed():
            first = not run.killed_by_cap
            run.killed_by_cap = True
            report.longrepr = (
                f"{key} was killed by the {run.cap.describe()} memory cap (Binder's limit) while running "
                f"code cell {item.cell_num}; its peak was {max(run.peak_mb(), run.cap.peak_mb()):.0f} MB. Lower the "
                f"notebook's event counts or free large arrays earlier." if first else
                f"{key}: the kernel was killed earlier by the memory cap (see its first failing cell).")
        elif run and call.when == "call" and run.elapsed() >= run.timeout - 1 and not run.deadline_report:
            run.deadline_report = deadline_report(key, run.cell_seconds, run.timeout)
            report.longrepr = f"{run.deadline_report}\n\nnbval's report of the interrupted cell:\n{report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if _is_cell(item) and not (nextitem is not None and _is_cell(nextitem) and nextitem.path == item.path):
        key = _notebook_key(item)  # the last cell: measure before the breakages and before nbval stops the kernel
        run = _runs.pop(key, None)
        if run is not None:
            result = run.finish()
            _finished.append(run)
            target = executed_copy(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(item.parent.nb, target)
            _record(key, result)
            _write_status(key, {"key": key, "result": result, "executed": str(target), "cap_reason": run.cap_reason,
                                "deadline_report": run.deadline_report})
    yield


def pytest_sessionfinish(session):
    for run in _finished:  # their kernels have stopped by now: the empty groups can go
        if run.cap is not None:
            run.cap.remove()


def _record(key: str, result: dict) -> None:
    path = stats_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # two workers may finish a notebook at once
        stats = {"notebooks": {}}
        if path.exists():
            try:
                stats = json.loads(path.read_text())
            except ValueError:
                pass
        stats["notebooks"][key] = result
        stats["notebooks"] = {k: v for k, v in stats["notebooks"].items() if (ROOT / k).exists()}
        stats.update(budget=BUDGET, date=datetime.date.today().isoformat(), machine=machine_facts())
        path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")


def machine_facts() -> dict:
    return {
        "cpus": len(os.sched_getaffinity(0)), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(terse=True),
    }


# ---------------------------------------------------------------- the executed notebooks, for the book
def executed_notebooks(session, poll_s: float = 1.0) -> dict[str, Path]:
    """Every notebook this run collected, once it has run (here or on another worker): key -> its
    executed copy. Waits for those still running; fails, naming them, when one failed or never
    finished."""
    keys = sorted({_notebook_key(item) for item in session.items if _is_cell(item)})
    limit = time.monotonic() + sum(notebook_timeout(k) for k in keys) + 60
    while True:
        statuses = _read_statuses()
        waiting = [k for k in keys if k not in statuses]
        if not waiting:
            break
        if time.monotonic() > limit:
            pytest.fail(f"the book is not built: {', '.join(waiting)} never finished in this run (its worker stopped?)")
        time.sleep(poll_s)
    failed = sorted(k for k in keys if statuses[k]["result"]["status"] != "passed")
    if failed:
        pytest.fail(f"the book is not built: {', '.join(failed)} failed in this run")
    return {k: Path(statuses[k]["executed"]) for k in keys}


# ---------------------------------------------------------------- breakages in the lesson's kernel
class BreakageFailed(Exception):
    pass


class LessonBreakage(pytest.Item):
    """One of ``lesson_breakages.breakages(notebook)``, run in the notebook's kernel after its last cell."""

    def __init__(self, *, breakage: lesson_breakages.Breakage, cells: list[str], **kwargs):
        super().__init__(**kwargs)
        self.breakage, self.cells = breakage, cells

    def runtest(self):
        key = _notebook_key(self)
        if key in _failed_here:
            pytest.skip(f"{key} failed above: its breakages are not run")
        kernel = getattr(self.parent, "kernel", None)
        if kernel is None or not kernel.is_alive():
            raise BreakageFailed(f"the kernel of {key} is not running: the breakage cannot run")
        if not getattr(kernel, "hepml_runner", False):
            self._execute(kernel, lesson_breakages.KERNEL_RUNNER)
            kernel.hepml_runner = True
        self._execute(kernel, lesson_breakages.kernel_call(self.breakage, self.cells))

    def _execute(self, kernel, code: str) -> str:
        msg_id = kernel.execute_cell_input(code, allow_stdin=False)
        try:
            kernel.await_reply(msg_id, timeout=BREAKAGE_TIMEOUT_S)
        except Empty:
            kernel.interrupt()
            raise BreakageFailed(f"the breakage ran past {BREAKAGE_TIMEOUT_S} s in the kernel of {_notebook_key(self)}")
        printed, error = [], None
        while True:
            try:
                msg = kernel.get_message(stream="iopub", timeout=60)
            except Empty:
                raise BreakageFailed("the kernel sent no more output (is it alive?)") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                error = content
        if error is not None:
            traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))
            raise BreakageFailed(f"{error['ename']}: {error['evalue']}\n{''.join(printed)}\n{traceback}")
        return "".join(printed)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, BreakageFailed):
            return f"{_notebook_key(self)}, {self.name}:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{_notebook_key(self)}::{self.name}"


# ---------------------------------------------------------------- the report
_seconds_per_file: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Seconds per test file (setup, call and teardown, summed over the workers), for the report."""
    if hasattr(report, "duration"):
        path = report.nodeid.split("::")[0]
        _seconds_per_file[path] = _seconds_per_file.get(path, 0.0) + report.duration


def seconds_per_file_table(seconds: dict[str, float]) -> list[str]:
    total = sum(seconds.values())
    lines = [f"{'test file (or notebook with its breakages)':66} {'seconds':>8} {'share':>6}"]
    lines += [f"{path:66} {s:8.0f} {s / total:6.0%}" for path, s in sorted(seconds.items(), key=lambda kv: -kv[1])]
    return lines + [f"{'all, summed over the workers':66} {total:8.0f}"]


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
    if hasattr(terminalreporter.config, "workerinput"):
        return
    if _seconds_per_file:
        terminalreporter.section("time per test file")
        for line in seconds_per_file_table(_seconds_per_file):
            terminalreporter.write_line(line)
    statuses = _read_statuses()
    if not statuses:
        return
    results = {key: statuses[key]["result"] for key in sorted(statuses)}
    where = stats_file().relative_to(ROOT) if stats_file().is_relative_to(ROOT) else stats_file()
    terminalreporter.section(f"notebook execution (written to {where})")
    if _generation_line:
        terminalreporter.write_line(_generation_line)
    reasons = {s["cap_reason"] for s in statuses.values() if s["cap_reason"]}
    capped = {r["memory_cap"] for r in results.values() if r["memory_cap"] != "none"}
    terminalreporter.write_line("memory cap: " + (f"{', '.join(sorted(capped))} per kernel" if not reasons
                                                  else f"NOT APPLIED — {'; '.join(sorted(reasons))}"))
    cpus = sorted({r["cpu"] for r in results.values() if r.get("cpu") is not None})
    terminalreporter.write_line(f"kernels pinned to one CPU each (CPUs {', '.join(map(str, cpus))}): one notebook per worker at "
                                "a time" if cpus else "kernels not pinned: one notebook at a time, in one process")
    for line in budget_table(results):
        terminalreporter.write_line(line)
    for status in statuses.values():
        if status.get("deadline_report"):
            terminalreporter.write_line(status["deadline_report"])
